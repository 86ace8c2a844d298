"""The Meta connector against the Meta sandbox over HTTP: forms, leads, paging, spend, and
two flow runs resuming from their watermarks."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from leadflow.connectors.base import LeadContext
from leadflow.connectors.meta.connector import CONNECTOR, open_session, spend, spend_accounts
from leadflow.connectors.meta.fields import to_lead
from leadflow.models.warehouse.tables import leads, sync_state
from leadflow.pipeline.source_sync import RunContext, sync_account
from leadflow.sandbox.meta.data import lead_timestamp
from tests.connectors.meta.support import Run, lead_requests, sandbox_config


def test_full_extract_reads_every_lead_of_every_form_including_organic(sandbox):
    run = Run(sandbox)
    ids = [record["id"] for record in run.records]
    assert len(ids) == len(set(ids))
    assert set(ids) == {lead["id"] for lead in sandbox.dataset.leads}
    organic = {lead["id"] for lead in sandbox.dataset.organic_leads()}
    assert organic and organic <= set(ids)
    forms = {f"{form.page_id}:{form.id}" for form in sandbox.dataset.forms}
    assert {page.partition for page in run.pages} == forms == set(run.asked)
    assert not [note for page in run.pages for note in page.notes]  # counts reconcile


def test_a_form_commits_its_latest_created_time_only_on_its_last_page(sandbox):
    run = Run(sandbox, page_size=25)
    for form in sandbox.dataset.forms:
        mine = [page for page in run.pages if page.partition == f"{form.page_id}:{form.id}"]
        latest = max(datetime.strptime(lead["created_time"], "%Y-%m-%dT%H:%M:%S%z")
                     for lead in sandbox.dataset.leads_for_form(form.id))  # fmt: skip
        assert [page.cursor for page in mine] == [None] * (len(mine) - 1) + [latest]
        assert [page.number for page in mine] == list(range(1, len(mine) + 1))


def test_every_leads_request_names_its_fields_and_sends_no_token_in_the_url(sandbox):
    Run(sandbox)
    asked = lead_requests(sandbox)
    assert asked
    for request in asked:
        fields = set(request.query["fields"][0].split(","))
        assert {
            "campaign_id",
            "adset_id",
            "ad_id",
            "form_id",
            "is_organic",
            "created_time",
            "field_data",
        } <= fields
    assert not [r for r in sandbox.requests if "access_token" in r.query]


def test_paging_walks_several_pages_of_forms_and_of_leads(sandbox):
    run = Run(sandbox, page_size=2)
    assert set(r["id"] for r in run.records) == {lead["id"] for lead in sandbox.dataset.leads}
    form_calls = [r for r in sandbox.requests if r.path.endswith("/leadgen_forms")]
    assert len(form_calls) > len(sandbox.dataset.pages)  # Pages with 3 forms need 2 pages
    assert any("after" in r.query for r in form_calls)
    biggest = max(sandbox.dataset.forms, key=lambda f: len(sandbox.dataset.leads_for_form(f.id)))
    calls = [r for r in lead_requests(sandbox) if biggest.id in r.path]
    assert len(calls) == -(-len(sandbox.dataset.leads_for_form(biggest.id)) // 2)


def test_incremental_start_filters_on_time_created_from_the_partition_start(sandbox):
    form = sandbox.dataset.forms[0]
    stamps = sorted(lead_timestamp(lead) for lead in sandbox.dataset.leads_for_form(form.id))
    cut = datetime.fromtimestamp(stamps[len(stamps) // 2], tz=UTC)
    partition = f"{form.page_id}:{form.id}"
    run = Run(sandbox, start_for=lambda p: cut if p == partition else None)
    got = {r["id"] for page in run.pages if page.partition == partition for r in page.records}
    expected = {lead["id"] for lead in sandbox.dataset.leads_for_form(form.id) if lead_timestamp(lead) >= cut.timestamp()}  # fmt: skip
    assert got == expected  # the lead created at exactly the start is included
    sent = [r for r in lead_requests(sandbox) if form.id in r.path]
    rule = json.loads(sent[0].query["filtering"][0])
    assert rule == [
        {"field": "time_created", "operator": "GREATER_THAN", "value": int(cut.timestamp()) - 1}
    ]
    others = [r for r in lead_requests(sandbox) if form.id not in r.path]
    assert others and not [r for r in others if "filtering" in r.query]


def test_every_sandbox_lead_maps_to_a_lead(sandbox):
    run = Run(sandbox)
    context = LeadContext("meta", "page", "US")
    leads = [to_lead(record, context) for record in run.records]
    assert sum(lead.is_test for lead in leads) == len(sandbox.dataset.test_lead_ids)
    organic = {lead.source_lead_id for lead in leads if lead.is_organic}
    assert organic == {lead["id"] for lead in sandbox.dataset.organic_leads()}
    assert all(lead.campaign_id is None for lead in leads if lead.is_organic)
    assert all(lead.email or lead.phone for lead in leads)
    tracked = [lead for lead in leads if lead.utm_source]
    assert tracked and {lead.utm_medium for lead in tracked} == {"paid_social"}


def test_spend_per_campaign_day_equals_the_sandbox_dataset(sandbox):
    client = open_session(sandbox_config(sandbox, page_size=50))
    first, last = date(2026, 9, 1), date(2026, 11, 26)
    rows = [row for account in spend_accounts(client.config) for batch in spend(client, account, first, last) for row in batch]  # fmt: skip
    client.close()
    got = {(row.campaign_id, row.day.isoformat()): row.spend for row in rows}
    expected = {key: value for key, value in sandbox.dataset.spend_by_campaign_day().items()
                if first.isoformat() <= key[1] <= last.isoformat()}  # fmt: skip
    assert got == expected and len(rows) == len(expected)
    currencies = {account.id: account.currency for account in sandbox.dataset.ad_accounts}
    assert all(row.currency == currencies[row.account_id] for row in rows)
    assert all(isinstance(row.spend, Decimal) and row.impressions > 0 for row in rows)
    currency_calls = [r for r in sandbox.requests if r.path.endswith(tuple(currencies))]
    assert len(currency_calls) == len(currencies)  # once per account
    insight_calls = [r for r in sandbox.requests if r.path.endswith("/insights")]
    assert len(insight_calls) > len(currencies)  # paged
    assert {r.query["level"][0] for r in insight_calls} == {"campaign"}


def test_two_flow_runs_resume_each_form_from_its_own_watermark(migrated_engine, sandbox):
    page = sandbox.dataset.pages[0]
    source = sandbox_config(sandbox, page_ids=[page.id])
    now = sandbox.dataset.anchor + timedelta(hours=1)
    run = RunContext(engine=migrated_engine, run_id="r1", clock=lambda: now)
    first = sync_account(CONNECTOR, source, page.id, run)
    forms = [form for form in sandbox.dataset.forms if form.page_id == page.id]
    on_page = [lead for form in forms for lead in sandbox.dataset.leads_for_form(form.id)]
    assert (first.status, first.records, first.inserted) == (
        "succeeded",
        len(on_page),
        len(on_page),
    )
    assert first.quarantined == 0
    # Local-format phones without a region are counted, once per run, not per page.
    assert all(re.fullmatch(r"\d+ leads?: phone [^0-9]+", note) for note in first.warnings)
    assert len(first.warnings) == len(set(first.warnings))
    with migrated_engine.connect() as conn:
        marks = dict(conn.execute(sa.select(sync_state.c.account_id, sync_state.c.watermark)).all())
    assert set(marks) == {f"{page.id}:{form.id}" for form in forms}

    fresh = sandbox.add_lead(forms[0].id, organic=True, created_time=now + timedelta(minutes=5))
    sandbox.clear_requests()
    later = now + timedelta(hours=1)
    second = sync_account(
        CONNECTOR, source, page.id, RunContext(migrated_engine, "r2", clock=lambda: later)
    )
    assert (second.status, second.inserted) == ("succeeded", 1)
    for request in lead_requests(sandbox):
        form_id = request.path.split("/")[-2]
        mark = marks[f"{page.id}:{form_id}"].replace(tzinfo=UTC)
        value = json.loads(request.query["filtering"][0])[0]["value"]
        assert value == int((mark - timedelta(days=1)).timestamp()) - 1
    with migrated_engine.connect() as conn:
        stored = conn.execute(
            sa.select(leads.c.is_organic).where(leads.c.source_lead_id == fresh["id"])
        ).scalar_one()
    assert stored is True
