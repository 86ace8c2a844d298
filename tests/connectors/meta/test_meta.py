"""The Meta Lead Ads connector: mapping, and extraction against the Meta sandbox over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadflow.connectors.base import LeadContext
from leadflow.connectors.errors import AuthError, RateLimited, TerminalError, TransientError
from leadflow.connectors.meta.connector import (
    CONNECTOR,
    MetaConfig,
    accounts,
    open_session,
    pages,
    spend,
    spend_accounts,
)
from leadflow.connectors.meta.fields import to_lead
from leadflow.connectors.meta.graph import throttle_wait
from leadflow.models.records.leads import InvalidRecord
from leadflow.models.warehouse.tables import leads, sync_state
from leadflow.pipeline.source_sync import RunContext, sync_account
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import lead_timestamp, meta_dataset

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "meta"
CONTEXT = LeadContext("meta", "page-1", "US")


def recorded(name: str = "form_leads_page.json") -> list[dict]:
    return json.loads((FIXTURES / name).read_text())["data"]


# -- to_lead ------------------------------------------------------------------------------------
def test_paid_lead_maps_ids_contact_names_utm_consent_and_custom_questions():
    lead = to_lead(recorded()[0], CONTEXT)
    assert (lead.source, lead.source_lead_id, lead.account_id) == (
        "meta",
        "1234567890123456",
        "page-1",
    )
    assert lead.created_at == lead.updated_at == datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC)
    assert (lead.email, lead.email_match_key) == (
        "ada.lovelace@example.com",
        "ada.lovelace@example.com",
    )
    assert lead.phone == "+14155550132"  # national format, parsed with the form's country
    assert (lead.first_name, lead.last_name) == ("Ada", "Lovelace")  # split from Full_Name
    assert (lead.company, lead.job_title, lead.country) == (
        "Analytical Engines Ltd",
        "Head of Marketing Ops",
        "US",
    )
    assert (lead.campaign_id, lead.adset_id, lead.ad_id) == (
        "120210000000000003",
        "120210000000000002",
        "120210000000000001",
    )
    assert (lead.form_id, lead.campaign_name) == ("2345678901234567", "Q4 Lead Gen - Contact Sales")
    assert (lead.utm_source, lead.utm_campaign, lead.utm_medium) == (
        "facebook",
        "q4_contact_sales",
        None,
    )
    assert lead.is_organic is False and lead.is_test is False
    assert lead.consent == {"optional_1": True, "optional_2": False}
    assert lead.custom_fields == {"what_is_your_budget?": "$5k_-_$25k"}
    assert lead.raw == recorded()[0]


def test_organic_lead_without_phone_or_ad_ids_is_kept():
    lead = to_lead(recorded()[1], CONTEXT)
    assert lead.is_organic is True
    assert (lead.campaign_id, lead.adset_id, lead.ad_id, lead.campaign_name) == (
        None,
        None,
        None,
        None,
    )
    assert (lead.email, lead.phone) == ("grace@example.org", None)
    assert (lead.first_name, lead.last_name) == ("Grace", "Hopper")
    assert lead.custom_fields == {}


def test_test_tool_lead_is_flagged_and_its_dummy_answers_ignored():
    lead = to_lead(recorded()[2], CONTEXT)
    assert lead.is_test is True
    assert (lead.email, lead.phone, lead.first_name) == ("test@fb.com", None, None)
    assert lead.custom_fields == {}


@pytest.mark.parametrize(
    ("created_time", "expected"),
    [
        pytest.param(
            "2026-11-20T14:50:56+0000",
            datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC),
            id="plus-0000",
        ),
        pytest.param(
            "2026-11-20T06:50:56-0800",
            datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC),
            id="minus-0800",
        ),
        pytest.param(
            "2026-11-21T00:20:56+0930",
            datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC),
            id="plus-0930",
        ),
    ],
)
def test_created_time_offsets_without_colon_become_utc(created_time, expected):
    lead = to_lead({**recorded()[1], "created_time": created_time}, CONTEXT)
    assert lead.created_at == expected
    assert lead.created_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "name",
    ["email", "EMAIL", "Email", " e-mail ", "Email Address"],
    ids=lambda n: n.strip() or "blank",
)
def test_standard_question_names_match_case_insensitively(name):
    record = {"id": "1", "created_time": "2026-11-20T14:50:56+0000",
              "field_data": [{"name": name, "values": ["Someone@Example.com"]}]}  # fmt: skip
    assert to_lead(record, CONTEXT).email == "someone@example.com"


def test_work_email_and_phone_are_used_when_the_personal_ones_are_missing():
    record = {"id": "1", "created_time": "2026-11-20T14:50:56+0000", "field_data": [
        {"name": "WORK_EMAIL", "values": ["x@corp.example"]},
        {"name": "work_phone_number", "values": ["+44 20 7946 0958"]},
    ]}  # fmt: skip
    lead = to_lead(record, CONTEXT)
    assert (lead.email, lead.phone) == ("x@corp.example", "+442079460958")


def test_unmapped_standard_answers_and_multi_values_go_to_custom_fields():
    record = {"id": "1", "created_time": "2026-11-20T14:50:56+0000", "field_data": [
        {"name": "email", "values": ["a@example.com"]},
        {"name": "zip_code", "values": ["94107"]},
        {"name": "State", "values": ["CA"]},
        {"name": "which_products?", "values": ["crm", "ads"]},
        {"name": "empty_answer", "values": [""]},
    ]}  # fmt: skip
    assert to_lead(record, CONTEXT).custom_fields == {
        "zip_code": "94107", "State": "CA", "which_products?": ["crm", "ads"]}  # fmt: skip


def test_bad_phone_with_good_email_is_kept_and_reported():
    record = {"id": "1", "created_time": "2026-11-20T14:50:56+0000", "field_data": [
        {"name": "email", "values": ["a@example.com"]}, {"name": "phone_number", "values": ["12"]}]}  # fmt: skip
    lead = to_lead(record, CONTEXT)
    assert lead.phone is None
    assert "phone" in lead.custom_fields["_invalid"]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        pytest.param(
            {"created_time": "2026-11-20T14:50:56+0000", "field_data": []}, "id", id="no-id"
        ),
        pytest.param({"id": "", "created_time": "2026-11-20T14:50:56+0000"}, "id", id="empty-id"),
        pytest.param(
            {"id": "7", "field_data": [{"name": "email", "values": ["a@b.co"]}]},
            "created_time",
            id="no-time",
        ),
        pytest.param(
            {"id": "7", "created_time": "2026-11-20 14:50:56"}, "created_time", id="naive-time"
        ),
        pytest.param(
            {
                "id": "7",
                "created_time": "2026-11-20T14:50:56+0000",
                "field_data": [{"name": "email", "values": ["not-an-email"]}],
            },
            "field_data",
            id="no-contact",
        ),
    ],
)
def test_unusable_records_raise_invalid_record_naming_the_field(record, field):
    with pytest.raises(InvalidRecord) as caught:
        to_lead(record, CONTEXT)
    assert caught.value.field_name == field
    assert caught.value.source == "meta"


# -- config and throttle headers ----------------------------------------------------------------
def test_ad_account_ids_are_normalized_without_the_act_prefix():
    config = MetaConfig(access_token="t" * 12, page_ids=["1"], ad_account_ids=["act_123", "456"])
    assert spend_accounts(config) == ["123", "456"]
    assert config.base_url == "https://graph.facebook.com"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        pytest.param(
            {
                "X-Business-Use-Case-Usage": '{"111":[{"type":"leadgen","call_count":101,"estimated_time_to_regain_access":3}],"222":[{"type":"pages","estimated_time_to_regain_access":7}]}'
            },
            420.0,
            id="largest-buc-minutes",
        ),
        pytest.param(
            {
                "X-Business-Use-Case-Usage": '{"111":[{"type":"leadgen","estimated_time_to_regain_access":0}]}',
                "X-Ad-Account-Usage": '{"acc_id_util_pct":100,"reset_time_duration":90}',
            },
            90.0,
            id="ad-account-reset",
        ),
        pytest.param({"X-App-Usage": '{"call_count":100}'}, None, id="no-estimate"),
        pytest.param({"X-Business-Use-Case-Usage": "not json"}, None, id="garbage"),
    ],
)
def test_throttle_wait_reads_the_usage_headers(headers, seconds):
    assert throttle_wait(headers) == seconds


# -- against the sandbox, over HTTP -------------------------------------------------------------
TOKEN = "sandbox-meta-token-0123"


def sandbox_config(sandbox: MetaSandbox, **overrides) -> MetaConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "page_ids": [page.id for page in sandbox.dataset.pages],
        "ad_account_ids": [f"act_{account.id}" for account in sandbox.dataset.ad_accounts],
        "backoff_seconds": 0.01,
        **overrides,
    }
    return MetaConfig(**values)


class Run:
    """One extraction of every Page: its pages, the waits it slept, its request count."""

    def __init__(self, sandbox: MetaSandbox, start_for=lambda _: None, **overrides) -> None:
        self.waits: list[float] = []
        self.client = open_session(sandbox_config(sandbox, **overrides))
        self.client.sleep = self.waits.append
        self.asked: list[str] = []

        def recording_start_for(partition: str):
            self.asked.append(partition)
            return start_for(partition)

        try:
            config = self.client.config
            self.pages = [p for page_id in accounts(config) for p in pages(self.client, page_id, recording_start_for)]  # fmt: skip
        finally:
            self.client.close()

    @property
    def records(self) -> list[dict]:
        return [record for page in self.pages for record in page.records]


def lead_requests(sandbox: MetaSandbox) -> list:
    return [r for r in sandbox.requests if r.path.endswith("/leads")]


@pytest.fixture(scope="module")
def dataset():
    return meta_dataset(600)


@pytest.fixture
def sandbox(dataset):
    with MetaSandbox(dataset, token=TOKEN) as meta:
        yield meta


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


def test_user_request_limit_then_success_is_retried_transparently(sandbox):
    sandbox.push_error(17, times=1)  # platform limit: X-App-Usage only, no time estimate
    run = Run(sandbox)
    assert {r["id"] for r in run.records} == {lead["id"] for lead in sandbox.dataset.leads}
    assert len(run.waits) == 1 and run.waits[0] < 1  # jittered backoff from backoff_seconds
    assert [r.status for r in sandbox.requests][:2] == [400, 200]


def test_business_use_case_throttle_waits_metas_estimate_then_continues(sandbox):
    sandbox.push_error(80005, times=1, regain_minutes=2)
    run = Run(sandbox)
    assert len(run.records) == len(sandbox.dataset.leads)
    assert run.waits == [120.0]  # estimated_time_to_regain_access: 2 minutes


def test_leadgen_throttle_longer_than_the_cap_fails_the_account_clearly(sandbox):
    sandbox.push_error(80005, times=3, regain_minutes=60)
    with pytest.raises(RateLimited, match=r"gave up waiting.*80005") as caught:
        Run(sandbox, max_throttle_wait_seconds=900)
    assert caught.value.retry_after == 3600
    assert len(sandbox.requests) == 1


@pytest.mark.parametrize("expired", [False, True], ids=["wrong-token", "expired-token"])
def test_token_error_190_fails_at_once_asking_to_reauthorize(dataset, expired):
    with MetaSandbox(dataset, token=TOKEN if expired else "another-token") as meta:
        meta.token_expired = expired
        with pytest.raises(AuthError, match="re-authorize") as caught:
            Run(meta)
        assert len(meta.requests) == 1
    assert "code 190" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_transient_codes_are_retried(sandbox):
    sandbox.push_error(2, times=2, status=400)  # code 2 with a 400: only the body says retry
    sandbox.push_error(1, times=1)  # code 1 with a 500: urllib3 retries the status
    assert len(Run(sandbox).records) == len(sandbox.dataset.leads)


def test_transient_code_that_persists_ends_as_a_transient_error(sandbox):
    sandbox.push_error(2, times=50, status=400)
    with pytest.raises(TransientError, match="temporary Graph API failure"):
        Run(sandbox, max_attempts=3)
    assert len(sandbox.requests) == 3


def test_a_rejected_request_is_terminal_and_names_it(sandbox):
    with pytest.raises(TerminalError, match=r"code 100/33 on GET /v\d+\.0/999999/leadgen_forms"):
        Run(sandbox, page_ids=["999999"])


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
    assert first.quarantined == 0 and not first.warnings
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
