"""Incremental Salesforce reads against the sandbox org: nextRecordsUrl paging, shared
``SystemModstamp`` values at a page boundary, deleted rows, the daily API allowance, touches
that follow a converted lead, and a sync into the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadflow.connectors.base import LeadContext
from leadflow.connectors.errors import MissingScope, TerminalError
from leadflow.connectors.salesforce.connector import CONNECTOR, pages
from leadflow.connectors.salesforce.errors import DailyLimitReached
from leadflow.connectors.salesforce.sales import REPS_STREAM, TOUCHES_STREAM
from leadflow.models.warehouse.lead_tables import leads as leads_table
from leadflow.pipeline.run import RunContext
from leadflow.pipeline.source_sync import sync_account
from leadflow.sandbox.server import Response
from leadflow.sandbox.weather import forecast

ORG = "00D5g0000000001EAA"
MORE = r"/services/data/v62\.0/queryAll/01g"
CONTEXT = LeadContext("salesforce", ORG, "US")


def ids(pages_read) -> list[str]:
    return [record["Id"] for page in pages_read for record in page.records]


def live(sandbox, object_name: str = "Lead") -> set[str]:
    return {row["Id"] for row in sandbox.store.rows(object_name)}


def queries(sandbox) -> list[str]:
    return [r.query["q"][0] for r in sandbox.requests if "q" in r.query]


def test_pages_follow_next_records_url_with_the_batch_size_asked(
    sandbox, configure, client_for, read
):
    got = read(client_for(configure(sandbox)), pages)
    assert len(got) >= 2 and sorted(ids(got)) == sorted(live(sandbox))
    cursors = [page.cursor for page in got]
    assert cursors == sorted(cursors) and cursors[-1] is not None
    sent = [r for r in sandbox.requests if r.path.startswith("/services/data/")]
    assert {r.headers.get("Sforce-Query-Options") for r in sent} == {"batchSize=200"}
    assert "ORDER BY SystemModstamp ASC, Id ASC" in queries(sandbox)[0]


def test_a_next_records_url_handed_back_twice_is_refused_not_paged_forever(
    sandbox, configure, client_for, read
):
    def same_again(response: Response) -> Response:
        body = dict(response.body)  # type: ignore[arg-type]
        first = next(r for r in sandbox.requests if r.path.startswith(MORE.replace("\\", "")))
        body["done"], body["nextRecordsUrl"] = False, first.path
        return Response(response.status, body, response.headers)

    sandbox.faults.push_transform(same_again, path=MORE)
    with pytest.raises(TerminalError, match="did not advance"):
        read(client_for(configure(sandbox, page_size=200)), pages)


def tie_batch(sandbox, count: int, at: datetime) -> list[str]:
    """``count`` live leads updated at the very same instant ``at`` (a mass update)."""
    chosen = sorted(live(sandbox))[:count]
    for lead_id in chosen:
        sandbox.store.update("Lead", lead_id, {"Title": "Mass updated"}, at)
    return chosen


def test_a_run_stopped_inside_a_shared_timestamp_loses_nothing_when_it_resumes(
    sandbox, configure, client_for, read
):
    at = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    tied = tie_batch(sandbox, 250, at)  # pages of 200: the boundary falls inside the tie
    client = client_for(configure(sandbox))
    first = next(pages(client, ORG, lambda partition: at))
    assert first.cursor == at and len(first.records) == 200
    # The run stops here; its watermark is ``at``: the next one starts there, inclusive.
    resumed = read(client, pages, first.cursor)
    assert set(ids([first])) | set(ids(resumed)) == set(tied)
    assert set(ids(resumed)) == set(tied)  # the 200 read again: the upsert absorbs them


def test_an_expired_query_cursor_resumes_strictly_after_the_last_row_of_a_shared_timestamp(
    sandbox, configure, client_for, read
):
    at = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    tied = tie_batch(sandbox, 250, at)
    expired = [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
    sandbox.faults.push(400, expired, path=MORE)
    got = read(client_for(configure(sandbox)), pages, at)
    assert sorted(ids(got)) == sorted(tied)  # every row once: none skipped, none twice
    last = sorted(tied)[199]  # ordered by (SystemModstamp, Id): the last row of page one
    lead_queries = [q for q in queries(sandbox) if " FROM Lead " in q]
    assert f"(SystemModstamp = 2026-12-01T12:00:00Z AND Id > '{last}')" in lead_queries[-1]


def test_a_deleted_lead_moves_the_cursor_but_is_not_loaded_and_is_counted(
    sandbox, configure, client_for, read
):
    at = datetime(2026, 12, 2, tzinfo=UTC)
    gone, kept = sorted(live(sandbox))[:2]
    sandbox.store.delete("Lead", gone, at)
    sandbox.store.update("Lead", kept, {"Title": "Head of Ops"}, at - timedelta(hours=1))
    got = read(client_for(configure(sandbox)), pages, at - timedelta(hours=2))
    assert ids(got) == [kept]
    assert got[-1].cursor == at  # the deletion moved the watermark on
    assert any("1 deleted Lead rows" in note for note in got[-1].notes)
    assert any("/queryAll" in r.path for r in sandbox.requests)


def test_the_daily_reserve_stops_the_source_cleanly_after_the_pages_read(
    sandbox, configure, client_for
):
    # The page's query leaves 1,000, its campaign query 999: under the reserve of 1,000.
    sandbox.usage.used = sandbox.usage.max - 1_001
    client = client_for(configure(sandbox, api_reserve=1_000))
    read_before_stop = []
    with pytest.raises(DailyLimitReached) as caught:
        for page in pages(client, ORG, lambda partition: None):
            read_before_stop.append(page)
    assert len(read_before_stop) == 1 and read_before_stop[0].cursor is not None
    assert "999 of the org's" in str(caught.value) and "api_reserve" in str(caught.value)
    assert sandbox.usage.used == sandbox.usage.max - 999  # no call spent past the reserve
    assert "campaign" in read_before_stop[0].records[0]


def test_request_limit_exceeded_ends_the_source_at_once_without_retrying(
    sandbox, configure, client_for, read
):
    sandbox.push_request_limit(times=5)
    client = client_for(configure(sandbox, max_attempts=4))
    with pytest.raises(DailyLimitReached, match="REQUEST_LIMIT_EXCEEDED"):
        read(client, pages)
    assert len([r for r in sandbox.requests if r.fault]) == 1


def test_a_field_the_user_cannot_see_names_the_object_access_to_grant(
    sandbox, configure, client_for, read
):
    with pytest.raises(MissingScope, match="field access") as caught:
        read(client_for(configure(sandbox, lead_fields=("Secret_Score__c",))), pages)
    assert "INVALID_FIELD" in str(caught.value)


def test_each_lead_carries_its_first_campaign(sandbox, configure, client_for, read):
    got = read(client_for(configure(sandbox)), pages)
    members = sorted(
        sandbox.store.rows("CampaignMember"), key=lambda m: (m["CreatedDate"], m["Id"])
    )
    first: dict[str, str] = {}
    for member in members:
        first.setdefault(member["LeadId"], member["CampaignId"])
    names = {row["Id"]: row["Name"] for row in sandbox.store.rows("Campaign")}
    leads = [CONNECTOR.to_lead(r, CONTEXT) for page in got for r in page.records if r["Email"]]
    assert {lead.source_lead_id: lead.campaign_id for lead in leads if lead.campaign_id} == {
        lead.source_lead_id: first[lead.source_lead_id]
        for lead in leads
        if lead.source_lead_id in first
    }
    assert all(lead.campaign_name == names[lead.campaign_id] for lead in leads if lead.campaign_id)
    assert any(lead.campaign_id is None for lead in leads)


def test_campaigns_can_be_left_unread(sandbox, configure, client_for, read):
    read(client_for(configure(sandbox, lead_campaigns=False)), pages)
    assert not [q for q in queries(sandbox) if "CampaignMember" in q]


def test_touches_follow_a_converted_lead_to_its_contact(sandbox, configure, client_for, read):
    touched = {row["WhoId"] for row in sandbox.store.rows("Task") if row["WhoId"]}
    lead_id = sorted(touched & live(sandbox))[0]
    sandbox.store.convert_lead(lead_id)
    got = read(client_for(configure(sandbox, touch_objects=("Task",))), TOUCHES_STREAM.pages)
    mine = [r for page in got for r in page.records if r["lead_ids"] == [lead_id]]
    assert mine and all(r["WhoId"].startswith("003") for r in mine)
    rows = [row for record in mine for row in TOUCHES_STREAM.to_rows(record, CONTEXT)]
    assert rows and {row.lead_id for row in rows} == {lead_id}


def test_reps_carry_the_team_their_role_names(sandbox, configure, client_for, read):
    got = read(client_for(configure(sandbox)), REPS_STREAM.pages)
    reps = [rep for page in got for r in page.records for rep in REPS_STREAM.to_rows(r, CONTEXT)]
    roles = {row["Id"]: row["Name"] for row in sandbox.store.rows("UserRole")}
    truth = {u["Id"]: roles.get(u["UserRoleId"]) for u in sandbox.store.rows("User")}
    assert {rep.rep_id: rep.team for rep in reps} == truth
    assert any(rep.archived for rep in reps)


def test_sync_account_loads_the_leads_and_the_next_run_reads_only_its_window(
    sandbox, configure, migrated_engine
):
    config = configure(sandbox, lookback_minutes=0)
    first = sync_account(CONNECTOR, config, ORG, RunContext(migrated_engine, "sf-1"))
    every = sandbox.store.rows("Lead", include_deleted=True)
    newest = max(row["SystemModstamp"] for row in every)
    at_watermark = [r for r in every if r["SystemModstamp"] == newest and not r["IsDeleted"]]
    changed = sorted(live(sandbox))[0]
    sandbox.store.update("Lead", changed, {"Title": "VP Revenue"}, newest + timedelta(hours=1))
    second = sync_account(CONNECTOR, config, ORG, RunContext(migrated_engine, "sf-2"))
    with migrated_engine.connect() as conn:
        query = sa.select(leads_table.c.source_lead_id, leads_table.c.job_title)
        stored = {key: title for key, title in conn.execute(query)}
    assert first.status == second.status == "succeeded"
    assert first.records == len(live(sandbox)) and first.quarantined == 2  # no email, no phone
    assert set(stored) == live(sandbox) - _unreachable(sandbox)
    assert stored[changed] == "VP Revenue"
    # The window starts at the watermark, inclusive: the rows there again, and the change.
    assert (second.records, second.updated) == (len(at_watermark) + 1, 1)
    assert any("deleted Lead rows" in warning for warning in first.warnings)


def _unreachable(sandbox) -> set[str]:
    return {r["Id"] for r in sandbox.store.rows("Lead") if not r["Email"] and not r["Phone"]}


def test_each_stream_switch_lists_the_org_for_its_partitions(sandbox, configure):
    config = configure(sandbox)
    assert CONNECTOR.stream_names() == (
        "leads", "sales_reps", "sales_touches", "crm_status_changes",
    )  # fmt: skip
    assert TOUCHES_STREAM.accounts(config) == REPS_STREAM.accounts(config) == [ORG]
    assert TOUCHES_STREAM.accounts(config.model_copy(update={"touch_objects": ()})) == []
    assert not config.model_copy(update={"streams": {"sales_touches": False}}).stream_on(
        "sales_touches"
    )


def test_bad_weather_on_a_later_query_page_is_read_again_and_loses_nothing(
    sandbox, configure, client_for, read
):
    forecast(sandbox, "salesforce")  # a body cut short, then a connection cut mid-body
    got = read(client_for(configure(sandbox, max_attempts=3)), pages)
    assert sorted(ids(got)) == sorted(live(sandbox))
    assert [r.fault for r in sandbox.requests if r.fault] == ["transform", "disconnect"]
