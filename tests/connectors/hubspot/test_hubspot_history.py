"""HubSpot's ``crm_status_changes`` stream: the history of hs_lead_status and lifecyclestage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa

from leadflow.connectors.base import LeadContext
from leadflow.connectors.errors import MissingScope
from leadflow.connectors.hubspot.connector import CONNECTOR, HubSpotConfig, open_session
from leadflow.connectors.hubspot.history import (
    BATCH_READ_PATH,
    HISTORY_STREAM,
    history_rows,
    read_histories,
)
from leadflow.flows.partitions import submit_source
from leadflow.models.records.activity import StatusChange
from leadflow.models.records.leads import InvalidRecord
from leadflow.models.warehouse.tables import crm_status_changes, sync_state
from leadflow.pipeline.source_sync import RunContext, sync_stream
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.scopes import CONTACTS

TOKEN = "test-hubspot-history-token"
PORTAL = "portal-1"
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
CONTEXT = LeadContext("hubspot", PORTAL, "US")
TRACKED = ("hs_lead_status", "lifecyclestage")


def config(sandbox: HubSpotSandbox, **overrides) -> HubSpotConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "portal_id": PORTAL,
        "backoff_seconds": 0.05,
        "search_requests_per_second": 500,
        "discover_properties": False,
        **overrides,
    }
    return HubSpotConfig(**values)


def read_rows(settings: HubSpotConfig, since: datetime | None = None) -> list[StatusChange]:
    client = open_session(settings)
    try:
        pages = list(HISTORY_STREAM.pages(client, PORTAL, lambda _partition: since))
    finally:
        client.close()
    return [
        row for page in pages for record in page.records for row in history_rows(record, CONTEXT)
    ]


def entry(value: str, at: str, **extra) -> dict:
    return {"value": value, "timestamp": at, "sourceType": "CRM_UI", **extra}


def test_the_stream_is_registered_and_switchable_by_name():
    assert HISTORY_STREAM.name == "crm_status_changes"
    assert HISTORY_STREAM in CONNECTOR.streams
    assert "crm_status_changes" in CONNECTOR.stream_names()
    settings = HubSpotConfig(base_url="http://x", portal_id=PORTAL, access_token=TOKEN)
    assert HISTORY_STREAM.accounts(settings) == [PORTAL]


def test_history_entries_become_changes_oldest_first_each_with_the_value_before():
    record = {
        "id": "512",
        "propertiesWithHistory": {
            "hs_lead_status": [  # HubSpot lists the newest first
                entry("", "2026-11-03T09:00:00.000Z"),
                entry(
                    "UNQUALIFIED",
                    "2026-11-02T10:15:30.250Z",
                    sourceId="userId:77",
                    sourceLabel="Jane Rep",
                    updatedByUserId=77,
                ),
                entry("NEW", "2026-11-01T08:00:00.000Z", sourceId="rep@example.com"),
            ],
            "lifecyclestage": [entry("lead", "2026-11-01T08:00:00.000Z")],
        },
    }
    rows = history_rows(record, CONTEXT)
    status = [r for r in rows if r.field == "hs_lead_status"]
    assert [(r.old_value, r.new_value) for r in status] == [
        (None, "NEW"),
        ("NEW", "UNQUALIFIED"),
        ("UNQUALIFIED", None),  # cleared
    ]
    second = status[1]
    assert second.change_id == "512:hs_lead_status:1793614530250"
    assert (
        second.occurred_at
        == second.updated_at
        == datetime(2026, 11, 2, 10, 15, 30, 250000, tzinfo=UTC)
    )
    assert (second.source, second.lead_id, second.changed_by, second.reason) == (
        "hubspot", "512", None, None,
    )  # fmt: skip
    assert second.raw == {
        "value": "UNQUALIFIED",
        "timestamp": "2026-11-02T10:15:30.250Z",
        "sourceType": "CRM_UI",
        "sourceId": "userId:77",
        "updatedByUserId": 77,
    }  # no sourceLabel: it can name a person
    assert "sourceId" not in status[0].raw  # an email address is not kept
    (stage,) = [r for r in rows if r.field == "lifecyclestage"]
    assert (stage.old_value, stage.new_value) == (None, "lead")


def test_entries_in_any_order_and_at_the_same_instant_keep_distinct_keys():
    same = "2026-11-01T08:00:00.000Z"
    record = {
        "id": "7",
        "propertiesWithHistory": {
            "hs_lead_status": [
                entry("OPEN", same),
                entry("NEW", "2026-10-01T00:00:00Z"),
                entry("CONNECTED", same),
            ]
        },
    }
    rows = history_rows(record, CONTEXT)
    assert [r.new_value for r in rows] == ["NEW", "CONNECTED", "OPEN"]  # ties: listed order
    tie = "7:hs_lead_status:1793520000000"
    assert [r.change_id for r in rows][1:] == [tie, f"{tie}:2"]


@pytest.mark.parametrize(
    "record",
    [
        {"propertiesWithHistory": {}},
        {"id": "9", "propertiesWithHistory": {"lifecyclestage": [{"value": "lead"}]}},
        {"id": "9", "propertiesWithHistory": {"lifecyclestage": ["lead"]}},
    ],
)
def test_a_record_without_id_or_with_an_undated_entry_is_invalid(record):
    with pytest.raises(InvalidRecord):
        history_rows(record, CONTEXT)


def test_the_stream_reads_every_history_in_batches_of_at_most_50():
    with HubSpotSandbox.unthrottled(hubspot_contacts(130), token=TOKEN) as sandbox:
        rows = read_rows(config(sandbox, page_size=120))
        contacts = sandbox.contacts
        reads = [r for r in sandbox.requests if r.path == BATCH_READ_PATH]
    sizes = [len(r.json()["inputs"]) for r in reads]
    assert max(sizes) == 50 and sum(sizes) == 130
    assert all(r.json()["propertiesWithHistory"] == list(TRACKED) for r in reads)
    by_contact = {}
    for row in rows:
        by_contact.setdefault((row.lead_id, row.field), []).append(row)
    for contact in contacts:
        for name in TRACKED:
            chain = by_contact.get((contact["id"], name), [])
            current = contact["properties"].get(name)
            assert (chain[-1].new_value if chain else None) == current
            assert all(b.old_value == a.new_value for a, b in pairwise(chain))
    assert len({r.change_id for r in rows}) == len(rows)
    assert sum(len(chain) > 1 for chain in by_contact.values()) > 20


def test_a_contact_gone_between_the_search_and_the_read_is_left_out():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as sandbox:
        kept, gone = sandbox.contact_ids()[:2]
        sandbox.archive_contact(gone)
        client = open_session(config(sandbox))
        try:
            records = read_histories(client, [kept, gone, kept])
        finally:
            client.close()
    assert [r["id"] for r in records] == [kept]
    assert set(records[0]["propertiesWithHistory"]) == set(TRACKED)


def test_a_token_without_the_contacts_scope_fails_the_stream():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as sandbox:
        sandbox.revoke_scope(CONTACTS)
        with pytest.raises(MissingScope, match=r"crm\.objects\.contacts\.read"):
            read_rows(config(sandbox))


def test_an_incremental_run_adds_exactly_the_new_change_and_keeps_the_keys(migrated_engine):
    with HubSpotSandbox.unthrottled(hubspot_contacts(80), token=TOKEN) as sandbox:
        settings = config(sandbox)
        first_run = RunContext(engine=migrated_engine, run_id="history-1", clock=lambda: NOW)
        first = sync_stream(CONNECTOR, HISTORY_STREAM, settings, PORTAL, first_run)
        stored = _stored(migrated_engine)
        contact = next(c for c in sandbox.contacts if c["properties"]["hs_lead_status"])
        old = contact["properties"]["hs_lead_status"]
        new = "BAD_TIMING" if old != "BAD_TIMING" else "CONNECTED"
        changed_at = NOW + timedelta(hours=1)
        sandbox.upsert_contact(
            {"hs_object_id": contact["id"], "hs_lead_status": new}, modified_at=changed_at
        )
        later = NOW + timedelta(hours=2)
        second_run = RunContext(engine=migrated_engine, run_id="history-2", clock=lambda: later)
        second = sync_stream(CONNECTOR, HISTORY_STREAM, settings, PORTAL, second_run)
        after = _stored(migrated_engine)
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert second.records < first.records  # only contacts modified since the watermark
    added = set(after) - set(stored)
    assert len(added) == 1 and {k: after[k] for k in stored} == stored
    (key,) = added
    assert key == f"{contact['id']}:hs_lead_status:{int(changed_at.timestamp() * 1000)}"
    assert after[key] == (contact["id"], old, new, changed_at)
    with migrated_engine.connect() as conn:
        states = conn.execute(sa.select(sync_state.c.account_id)).scalars().all()
    assert f"crm_status_changes:{PORTAL}" in states


def _stored(engine) -> dict[str, tuple]:
    table = crm_status_changes
    columns = (
        table.c.change_id,
        table.c.lead_id,
        table.c.old_value,
        table.c.new_value,
        table.c.occurred_at,
    )
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*columns).where(table.c.source == "hubspot")).all()
    return {row[0]: (row[1], row[2], row[3], _utc(row[4])) for row in rows}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Runner:
    """Records what ``submit_source`` would run, runs nothing."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, task, params):
        self.submitted.append(f"{params.get('stream', 'leads')}:{params['account']}")
        return None


@pytest.mark.parametrize(
    ("switches", "expected"), [({}, True), ({"crm_status_changes": False}, False)]
)
def test_the_stream_switched_off_is_not_even_submitted(switches, expected):
    settings = HubSpotConfig(
        base_url="http://x", portal_id=PORTAL, access_token=TOKEN, streams=switches
    )
    runner = _Runner()
    submit_source("hubspot", settings, None, "run-1", runner)  # type: ignore[arg-type]
    assert (f"crm_status_changes:{PORTAL}" in runner.submitted) is expected
    assert f"leads:{PORTAL}" in runner.submitted
