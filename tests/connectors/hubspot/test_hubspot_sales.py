"""HubSpot's sales streams: owners as reps, calls/emails/meetings as touches, OAuth."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadflow.connectors.base import LeadContext, Page, Stream
from leadflow.connectors.errors import TerminalError
from leadflow.connectors.hubspot.connector import CONNECTOR, HubSpotConfig, open_session
from leadflow.connectors.hubspot.sales import (
    OWNERS_STREAM,
    TOUCHES_STREAM,
    owner_rows,
    touch_key,
    touch_rows,
    touch_spec,
)
from leadflow.models.loading.activity import first_outbound_touches
from leadflow.models.records.activity import SalesTouch
from leadflow.models.records.leads import InvalidRecord
from leadflow.models.warehouse.tables import sales_reps, sync_state
from leadflow.pipeline.source_sync import RunContext, sync_stream
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hubspot"
CONTEXT = LeadContext("hubspot", "portal-1", "US")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def call(**properties) -> dict:
    record = fixture("call_search_result.json")
    record["properties"].update(properties)
    return {**record, "object_type": "calls", "contact_ids": ["512", "513"]}


def test_the_connector_registers_the_reps_and_touches_streams():
    assert [s.name for s in CONNECTOR.streams] == [
        "sales_reps",
        "sales_touches",
        "crm_status_changes",
    ]


def test_an_owner_becomes_a_rep_on_its_primary_team():
    (rep,) = owner_rows(fixture("owner.json"), CONTEXT)
    assert (rep.source, rep.rep_id, rep.email) == ("hubspot", "6166860", "jsmith@example.com")
    assert (rep.first_name, rep.last_name, rep.team) == ("John", "Smith", "West Coast Sales")
    assert rep.updated_at == datetime(2019, 12, 7, 16, 50, 6, 678000, tzinfo=UTC)
    assert rep.archived is False


def test_an_archived_owner_without_teams_is_still_a_rep():
    owner = {**fixture("owner.json"), "archived": True, "teams": [], "userId": None}
    (rep,) = owner_rows(owner, CONTEXT)
    assert rep.archived is True and rep.team is None


def test_a_call_on_two_contacts_is_two_touches():
    rows = touch_rows(call(), CONTEXT)
    assert [r.lead_id for r in rows] == ["512", "513"]
    first = rows[0]
    assert (first.touch_id, first.touch_type, first.direction) == (
        "calls:30001",
        "call",
        "outbound",
    )
    assert first.occurred_at == datetime(2026, 11, 20, 15, 2, 11, tzinfo=UTC)
    assert first.updated_at == datetime(2026, 11, 20, 15, 5, 40, 512000, tzinfo=UTC)
    assert (first.owner_id, first.outcome) == ("41629779", "CONNECTED")


@pytest.mark.parametrize(
    ("object_type", "properties", "direction", "outcome"),
    [
        pytest.param("calls", {"hs_call_direction": "INBOUND"}, "inbound", None, id="call-in"),
        pytest.param("calls", {"hs_call_disposition": "custom-guid-1"}, None, "custom-guid-1", id="call-custom-outcome"),
        pytest.param("emails", {"hs_email_direction": "EMAIL", "hs_email_status": "SENT"}, "outbound", "SENT", id="email-sent"),
        pytest.param("emails", {"hs_email_direction": "FORWARDED_EMAIL"}, None, None, id="email-forwarded"),
        pytest.param("emails", {"hs_email_direction": "INCOMING_EMAIL"}, "inbound", None, id="email-reply"),
        pytest.param("meetings", {"hs_meeting_outcome": "COMPLETED"}, None, "COMPLETED", id="meeting"),
    ],
)  # fmt: skip
def test_direction_and_outcome_are_normalized_per_object(
    object_type, properties, direction, outcome
):
    base = {k: v for k, v in call()["properties"].items() if not k.startswith("hs_call_")}
    record = {**call(), "object_type": object_type, "properties": {**base, **properties}}
    row = touch_rows(record, CONTEXT)[0]
    assert (row.direction, row.outcome) == (direction, outcome)
    assert row.touch_id == f"{object_type}:30001"


def test_a_touch_on_no_contact_is_no_rows_not_an_error():
    assert touch_rows({**call(), "contact_ids": []}, CONTEXT) == []


def test_a_touch_without_a_timestamp_names_the_field():
    with pytest.raises(InvalidRecord) as caught:
        touch_rows(call(hs_timestamp=None), CONTEXT)
    assert (caught.value.record_key, caught.value.field_name) == ("calls:30001", "hs_timestamp")


def test_touch_keys_carry_the_object_type():
    assert touch_key(call()) == "calls:30001"
    assert touch_key({"id": "1"}) is None


def test_each_touch_search_reads_its_own_direction_and_outcome():
    assert "hs_call_direction" in touch_spec("calls").properties
    assert {"hs_email_direction", "hs_email_status"} <= set(touch_spec("emails").properties)
    meeting = touch_spec("meetings")
    assert "hs_meeting_outcome" in meeting.properties
    assert meeting.cursor_property == "hs_lastmodifieddate"


# -- against the sandbox, over real HTTP ---------------------------------------------------
TOKEN = "test-hubspot-sales-token"
PORTAL = "portal-1"
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def config(sandbox: HubSpotSandbox, **overrides) -> HubSpotConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "portal_id": PORTAL,
        "backoff_seconds": 0.05,
        "search_requests_per_second": 500,
        **overrides,
    }
    return HubSpotConfig(**values)


def read(stream: Stream, settings: HubSpotConfig, since: datetime | None = None) -> list[Page]:
    client = open_session(settings)
    try:
        return list(stream.pages(client, PORTAL, lambda _: since))
    finally:
        client.close()


def rows_of(stream: Stream, pages: list[Page]) -> list:
    return [row for page in pages for record in page.records for row in stream.to_rows(record, CONTEXT)]  # fmt: skip


def first_outbound(touches: list[SalesTouch]) -> dict[str, tuple[datetime, str]]:
    """Each contact's earliest outbound touch by a rep: the warehouse's rule."""
    first: dict[str, tuple[datetime, int, str]] = {}
    for touch in touches:
        if touch.owner_id and (touch.direction == "outbound" or touch.touch_type == "meeting"):
            candidate = (touch.occurred_at, int(touch.touch_id.split(":")[1]), touch.touch_id)
            first[touch.lead_id] = min(first.get(touch.lead_id, candidate), candidate)
    return {lead: (at, touch_id) for lead, (at, _, touch_id) in first.items()}


def ground_truth(sandbox: HubSpotSandbox, contacts: list[dict]) -> dict[str, tuple[datetime, str]]:
    truth = {c["id"]: sandbox.first_outbound_touch(c["id"]) for c in contacts}
    return {cid: (t.timestamp, f"{t.object_type}:{t.id}") for cid, t in truth.items() if t}


def test_owners_become_reps_with_their_teams_departed_ones_included():
    with HubSpotSandbox.unthrottled(hubspot_contacts(20), token=TOKEN) as sandbox:
        pages = read(OWNERS_STREAM, config(sandbox, owners_page_size=2))
        owners = sandbox.owners
    reps = {rep.rep_id: rep for rep in rows_of(OWNERS_STREAM, pages)}
    assert set(reps) == {o["id"] for o in owners}
    for owner in owners:
        primary = [t["name"] for t in owner["teams"] if t["primary"]]
        assert reps[owner["id"]].team == (primary[0] if primary else None)
        assert reps[owner["id"]].archived is owner["archived"]
    assert any(rep.archived for rep in reps.values())
    assert {page.partition for page in pages} == {"owners"}
    assert [page.cursor is not None for page in pages] == [False] * (len(pages) - 1) + [True]
    assert pages[-1].cursor == max(rep.updated_at for rep in reps.values())


def test_first_outbound_touch_per_contact_matches_the_sandbox_even_after_owner_changes():
    contacts = hubspot_contacts(400)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        first_run = read(TOUCHES_STREAM, config(sandbox, page_size=100))
        # The current owner calls a re-assigned contact after the change: not a first touch.
        truth = ground_truth(sandbox, contacts)
        owner_of = {c["id"]: c["properties"]["hubspot_owner_id"] for c in contacts}
        reassigned = [
            cid for cid, (_, touch_id) in truth.items()
            if _owner(sandbox, touch_id) != owner_of[cid] and owner_of[cid]
        ]  # fmt: skip
        late = sandbox.upsert_engagement(
            "calls",
            {"hs_timestamp": "2026-11-27T23:00:00.000Z", "hs_call_direction": "OUTBOUND",
             "hubspot_owner_id": owner_of[reassigned[0]]},
            modified_at=NOW, contact_ids=(reassigned[0],),
        )  # fmt: skip
        since = max(p.cursor for p in first_run if p.partition == "calls" and p.cursor)
        second_run = read(TOUCHES_STREAM, config(sandbox, page_size=100), since=since)
        truth_after = ground_truth(sandbox, contacts)
    assert {p.partition for p in first_run} == {"calls", "emails", "meetings"}
    assert len(reassigned) >= 5  # the sandbox re-assigns some touched contacts
    merged = {(t.touch_id, t.lead_id): t for t in rows_of(TOUCHES_STREAM, first_run)}
    assert first_outbound(list(merged.values())) == truth
    merged.update({(t.touch_id, t.lead_id): t for t in rows_of(TOUCHES_STREAM, second_run)})
    assert (f"calls:{late['id']}", reassigned[0]) in merged
    assert first_outbound(list(merged.values())) == truth_after == truth


def _owner(sandbox: HubSpotSandbox, touch_id: str) -> str | None:
    object_type, object_id = touch_id.split(":")
    found = next(e for e in sandbox.engagements(object_type) if e["id"] == object_id)
    return found["properties"].get("hubspot_owner_id")


def test_associations_are_read_in_one_batch_call_per_page():
    with HubSpotSandbox.unthrottled(hubspot_contacts(300), token=TOKEN) as sandbox:
        pages = read(TOUCHES_STREAM, config(sandbox, page_size=50))
        links = sandbox.sales.associations
        batches = [r for r in sandbox.requests if "/associations/" in r.path]
    non_empty = [page for page in pages if page.records]
    assert len(batches) == len(non_empty)
    assert all(r.method == "POST" and r.path.endswith("/contacts/batch/read") for r in batches)
    sizes = [len(r.json()["inputs"]) for r in batches]
    assert sizes == [len(page.records) for page in non_empty] and max(sizes) <= 50
    found = {(p.partition, r["id"]): r["contact_ids"] for p in pages for r in p.records}
    expected: dict[tuple[str, str], list[str]] = {key: [] for key in found}
    for object_type, engagement_id, contact_id in links:
        expected[(object_type, engagement_id)].append(contact_id)
    assert {k: sorted(v) for k, v in found.items()} == {k: sorted(v) for k, v in expected.items()}
    assert any(len(ids) > 1 for ids in found.values())  # a meeting with two colleagues


def test_a_touch_with_no_contact_yields_no_rows():
    with HubSpotSandbox.unthrottled(hubspot_contacts(30), token=TOKEN) as sandbox:
        lonely = sandbox.upsert_engagement(
            "meetings", {"hs_timestamp": "2026-11-27T10:00:00.000Z"}, modified_at=NOW
        )
        pages = read(TOUCHES_STREAM, config(sandbox, touch_types=["meetings"]), since=NOW)
    (record,) = [r for page in pages for r in page.records]
    assert (record["id"], record["contact_ids"]) == (lonely["id"], [])
    assert TOUCHES_STREAM.to_rows(record, CONTEXT) == []


@pytest.mark.parametrize(
    ("stream", "path"),
    [
        pytest.param(TOUCHES_STREAM, "/crm/v3/objects/calls/search", id="touch-search"),
        pytest.param(TOUCHES_STREAM, "/crm/v4/associations/", id="associations"),
        pytest.param(OWNERS_STREAM, "/crm/v3/owners", id="owners"),
    ],
)
def test_the_daily_limit_on_any_sales_endpoint_stops_the_source(stream, path):
    with HubSpotSandbox.unthrottled(hubspot_contacts(30), token=TOKEN) as sandbox:
        sandbox.push_rate_limit("DAILY", times=50, path=path)
        started = time.monotonic()
        with pytest.raises(TerminalError, match=r"daily API limit reached.*after midnight"):
            read(stream, config(sandbox, max_attempts=4))
        hits = [r for r in sandbox.requests if path in r.path]
    assert len(hits) == 1  # no retry loop: the allowance is spent until midnight
    assert time.monotonic() - started < 10


def test_each_sales_stream_can_be_switched_off():
    settings = HubSpotConfig(base_url="http://x", portal_id=PORTAL, access_token=TOKEN)
    assert TOUCHES_STREAM.accounts(settings) == OWNERS_STREAM.accounts(settings) == [PORTAL]
    assert TOUCHES_STREAM.accounts(settings.model_copy(update={"sales_touches": False})) == []
    assert TOUCHES_STREAM.accounts(settings.model_copy(update={"touch_types": ()})) == []
    assert OWNERS_STREAM.accounts(settings.model_copy(update={"sales_reps": False})) == []


def test_sync_stream_loads_reps_and_touches_and_the_warehouse_finds_the_first_touch(
    migrated_engine,
):
    contacts = hubspot_contacts(150)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        settings = config(sandbox, page_size=100)
        run = RunContext(engine=migrated_engine, run_id="sales-1", clock=lambda: NOW)
        reps = sync_stream(CONNECTOR, OWNERS_STREAM, settings, PORTAL, run)
        touches = sync_stream(CONNECTOR, TOUCHES_STREAM, settings, PORTAL, run)
        truth = ground_truth(sandbox, contacts)
        owners = sandbox.owners
    assert (reps.status, touches.status) == ("succeeded", "succeeded")
    with migrated_engine.connect() as conn:
        stored_reps = conn.execute(sa.select(sales_reps.c.rep_id)).scalars().all()
        first = first_outbound_touches(conn, "hubspot")
        states = conn.execute(sa.select(sync_state.c.account_id)).scalars().all()
    assert sorted(stored_reps) == sorted(o["id"] for o in owners)
    assert first == {cid: at for cid, (at, _) in truth.items()}
    assert {"sales_reps:owners", "sales_touches:calls", "sales_touches:emails"} <= set(states)
