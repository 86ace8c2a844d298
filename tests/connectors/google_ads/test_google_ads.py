"""The Google Ads connector against the Google Ads sandbox, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from leadflow.connectors.base import LeadContext, Page
from leadflow.connectors.errors import AuthError, RateLimited, TerminalError
from leadflow.connectors.google_ads.connector import (
    CONNECTOR,
    GoogleAdsConfig,
    open_session,
    pages,
    spend,
)
from leadflow.connectors.google_ads.fields import count_note, to_lead, wall_time_literal
from leadflow.models.records.leads import InvalidRecord
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import MANAGER_ID, google_ads_dataset

TOKEN, DEV_TOKEN = "sandbox-google-token", "sandbox-dev-token"
LA, KOLKATA = "1234567890", "5550001234"
LOGIN = {LA: None, KOLKATA: MANAGER_ID}
ROW = "leadFormSubmissionData"
BOTH_SIDES = pytest.mark.parametrize("customer", [LA, KOLKATA], ids=["utc-8", "utc+5:30"])


def config(sandbox: GoogleAdsSandbox, customer: str = LA, **overrides: Any) -> GoogleAdsConfig:
    values: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "developer_token": DEV_TOKEN,
        "login_customer_id": LOGIN[customer],
        "customer_ids": [customer],
        "backoff_seconds": 0.01,
        **overrides,
    }
    return GoogleAdsConfig(**values)


def read(
    sandbox: GoogleAdsSandbox,
    customer: str = LA,
    since: datetime | None = None,
    sleep: Any = None,
    **overrides: Any,
) -> list[Page]:
    client = open_session(config(sandbox, customer, **overrides), sleep=sleep or _no_sleep)
    try:
        return list(pages(client, customer, lambda _: since))
    finally:
        client.close()


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected sleep of {seconds} s")


def ids(found: list[Page]) -> list[str]:
    return [r[ROW]["id"] for page in found for r in page.records]


def searches(sandbox: GoogleAdsSandbox, resource: str = "FROM lead_form_submission_data") -> list:
    return [r for r in sandbox.requests if resource in (r.json() or {}).get("query", "")]


@pytest.fixture
def sandbox() -> Iterator[GoogleAdsSandbox]:
    with GoogleAdsSandbox(google_ads_dataset(200), page_size=7) as ads:
        yield ads


# -- time zones and windows ---------------------------------------------------------------------
@BOTH_SIDES
def test_lead_times_are_utc_on_both_sides_of_utc(sandbox: GoogleAdsSandbox, customer: str) -> None:
    found = read(sandbox, customer)
    context = LeadContext("google_ads", customer)
    leads = {lead.source_lead_id: lead for lead in (to_lead(r, context) for r in _records(found))}
    truth = sandbox.dataset.submissions(customer)
    assert len(leads) == len(truth) > 0
    for sub in truth:
        assert leads[sub.resource_name].created_at == sub.submitted_at
        assert leads[sub.resource_name].created_at.utcoffset() == timedelta(0)


def _records(found: list[Page]) -> Iterator[dict[str, Any]]:
    return (record for page in found for record in page.records)


@BOTH_SIDES
@pytest.mark.parametrize("micro", [0, 500_000], ids=["whole-second", "fractional-second"])
def test_window_edge_loses_no_lead(sandbox: GoogleAdsSandbox, customer: str, micro: int) -> None:
    start = datetime(2026, 11, 20, 7, 45, 12, micro, tzinfo=UTC)
    edge = {
        label: sandbox.add_submission(customer, submitted_at=start + timedelta(seconds=shift))
        for label, shift in (("before", -1), ("at", 0), ("after", 1))
    }
    got = set(ids(read(sandbox, customer, since=start)))
    wanted = {s.id for s in sandbox.dataset.submissions(customer) if s.submitted_at >= start}
    assert {edge["after"].id} <= wanted <= got
    if micro == 0:  # whole seconds: exactly the window, the second before stays out
        assert got == wanted and edge["at"].id in got and edge["before"].id not in got
    else:  # the literal is truncated to the second: the lead in that second comes too
        assert edge["at"].id in got


@BOTH_SIDES
def test_filter_literal_is_the_accounts_wall_time(sandbox: GoogleAdsSandbox, customer: str) -> None:
    start = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    read(sandbox, customer, since=start)
    query = searches(sandbox)[0].json()["query"]
    local = {LA: "2026-11-20 12:00:00", KOLKATA: "2026-11-21 01:30:00"}[customer]
    assert f"submission_date_time >= '{local}'" in query
    assert query.endswith("ORDER BY lead_form_submission_data.submission_date_time ASC")


@pytest.mark.parametrize("fold", [0, 1], ids=["first-01:30-PDT", "second-01:30-PST"])
def test_dst_fold_start_loses_no_lead(sandbox: GoogleAdsSandbox, fold: int) -> None:
    zone = sandbox.dataset.customer(LA).tz
    start = datetime(2026, 11, 1, 1, 30, fold=fold, tzinfo=zone).astimezone(UTC)
    got = set(ids(read(sandbox, LA, since=start)))
    wanted = {s.id for s in sandbox.dataset.submissions(LA) if s.submitted_at >= start}
    assert wanted <= got
    edges = {s.edge: s.id for s in sandbox.dataset.edge_submissions(LA)}
    assert edges["dst-fold-second"] in got and (fold == 1 or edges["dst-fold-first"] in got)


def test_wall_time_literal_steps_back_out_of_the_repeated_hour() -> None:
    zone = google_ads_dataset(1).customer(LA).tz
    first = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)  # 01:30 PDT, before clocks fall back
    second = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # 01:30 PST, after
    assert wall_time_literal(first, zone) == "2026-11-01 00:30:00"
    assert wall_time_literal(second, zone) == "2026-11-01 01:30:00"


# -- paging ---------------------------------------------------------------------------------------
def test_several_pages_same_query_and_no_page_size(sandbox: GoogleAdsSandbox) -> None:
    found = read(sandbox, LA)
    truth = sandbox.dataset.submissions(LA)
    assert ids(found) == [s.id for s in truth]
    assert len(found) == -(-len(truth) // 7) > 3
    bodies = [r.json() for r in searches(sandbox)]
    assert len({b["query"] for b in bodies}) == 1
    assert all("pageSize" not in b and "page_size" not in b for b in bodies)
    assert ["pageToken" in b for b in bodies] == [False] + [True] * (len(bodies) - 1)
    cursors = [page.cursor for page in found]
    assert cursors == sorted(cursors) and cursors[-1] == truth[-1].submitted_at
    assert {page.partition for page in found} == {LA}
    assert [page.number for page in found] == list(range(1, len(found) + 1))
    assert all(not page.notes for page in found)  # totalResultsCount matched


def test_empty_window_yields_one_empty_page(sandbox: GoogleAdsSandbox) -> None:
    found = read(sandbox, LA, since=sandbox.dataset.anchor + timedelta(days=1))
    assert [(p.records, p.cursor) for p in found] == [([], None)]


def test_expired_page_token_restarts_the_window(sandbox: GoogleAdsSandbox) -> None:
    client = open_session(config(sandbox), sleep=_no_sleep)
    walk = pages(client, LA, lambda _: None)
    first = next(walk)
    sandbox.expire_page_tokens()
    rest = list(walk)
    truth = [s.id for s in sandbox.dataset.submissions(LA)]
    assert set(ids([first, *rest])) == set(truth)
    statuses = [r.status for r in searches(sandbox)]
    assert statuses.count(400) == 1 and statuses[-1] == 200
    restart = searches(sandbox)[2].json()
    assert "pageToken" not in restart and "submission_date_time >=" in restart["query"]


def test_second_sync_returns_the_new_leads_plus_the_overlap(sandbox: GoogleAdsSandbox) -> None:
    first = read(sandbox, LA)
    watermark = first[-1].cursor
    assert watermark is not None
    new = [
        sandbox.add_submission(LA, submitted_at=watermark + timedelta(minutes=m)) for m in (1, 2, 3)
    ]
    since = watermark - timedelta(days=1)  # what start_for gives with a one-day lookback
    second = ids(read(sandbox, LA, since=since))
    overlap = [
        s.id for s in sandbox.dataset.submissions(LA) if since <= s.submitted_at <= watermark
    ]
    assert second == overlap + [s.id for s in new]


# -- throttling and errors ----------------------------------------------------------------------
def test_quota_retry_delay_is_waited_then_the_read_succeeds(sandbox: GoogleAdsSandbox) -> None:
    waits: list[float] = []
    sandbox.push_quota_error(30)
    found = read(sandbox, LA, sleep=waits.append)
    assert waits == [30.0]
    assert ids(found) == [s.id for s in sandbox.dataset.submissions(LA)]
    assert [r.status for r in sandbox.requests][:2] == [429, 200]


def test_quota_retry_delay_is_really_slept(sandbox: GoogleAdsSandbox) -> None:
    sandbox.push_quota_error(0.6)
    client = open_session(config(sandbox))  # the real time.sleep
    list(pages(client, LA, lambda _: None))
    first, second = sandbox.requests[:2]
    assert first.status == 429 and second.status == 200
    assert 0.55 <= second.time - first.time < 5


def test_quota_error_without_retry_delay_backs_off(sandbox: GoogleAdsSandbox) -> None:
    waits: list[float] = []
    sandbox.push_quota_error(None)
    assert ids(read(sandbox, LA, sleep=waits.append))
    assert len(waits) == 1 and 0 < waits[0] < 1


def test_retry_delay_beyond_the_cap_fails_the_customer(sandbox: GoogleAdsSandbox) -> None:
    sandbox.push_quota_error(86_400, kind="RESOURCE_EXHAUSTED")
    with pytest.raises(RateLimited, match="max_retry_delay_seconds") as caught:
        read(sandbox, LA, max_retry_delay_seconds=300)
    assert "quotaError.RESOURCE_EXHAUSTED" in str(caught.value)
    assert caught.value.retry_after == 86_400
    assert len(sandbox.requests) == 1


def test_quota_errors_exhausting_attempts_fail(sandbox: GoogleAdsSandbox) -> None:
    sandbox.push_quota_error(1, times=10)
    waits: list[float] = []
    with pytest.raises(RateLimited, match="throttled"):
        read(sandbox, LA, sleep=waits.append, max_attempts=3)
    assert waits == [1.0, 1.0] and len(sandbox.requests) == 3


def test_5xx_is_retried_by_the_transport(sandbox: GoogleAdsSandbox) -> None:
    sandbox.faults.push(status=503, body={"error": {"code": 503}}, times=2)
    assert len(ids(read(sandbox, LA))) == len(sandbox.dataset.submissions(LA))


def test_wrong_token_fails_at_once_asking_to_reauthorize(sandbox: GoogleAdsSandbox) -> None:
    with pytest.raises(AuthError, match="re-authorize") as caught:
        read(sandbox, LA, access_token="not-the-token-at-all")
    assert "OAUTH_TOKEN_INVALID" in str(caught.value)
    assert "not-the-token-at-all" not in str(caught.value)
    assert len(sandbox.requests) == 1


def test_expired_token_names_the_code(sandbox: GoogleAdsSandbox) -> None:
    sandbox.token_expired = True
    with pytest.raises(AuthError, match=r"OAUTH_TOKEN_EXPIRED.*re-authorize"):
        read(sandbox, LA)
    assert len(sandbox.requests) == 1


def test_login_customer_id_is_sent_when_configured(sandbox: GoogleAdsSandbox) -> None:
    assert ids(read(sandbox, KOLKATA, login_customer_id="444-000-1111"))
    assert {r.headers.get("login-customer-id") for r in sandbox.requests} == {MANAGER_ID}
    sandbox.server.clear_requests()
    read(sandbox, LA, login_customer_id=None)
    assert all("login-customer-id" not in r.headers for r in sandbox.requests)


def test_client_account_without_login_customer_id_is_permission_denied(
    sandbox: GoogleAdsSandbox,
) -> None:
    with pytest.raises(AuthError, match=r"USER_PERMISSION_DENIED.*login_customer_id"):
        read(sandbox, KOLKATA, login_customer_id=None)
    assert len(sandbox.requests) == 1


def test_developer_token_is_optional_since_its_sunset() -> None:
    with GoogleAdsSandbox(google_ads_dataset(30), developer_token_mode="ignore") as ads:
        assert ids(read(ads, LA, developer_token=None))
        assert all("developer-token" not in r.headers for r in ads.requests)
    still_asking = GoogleAdsSandbox(google_ads_dataset(30))  # the sandbox's default mode
    with still_asking as ads, pytest.raises(AuthError, match="DEVELOPER_TOKEN_PARAMETER_MISSING"):
        read(ads, LA, developer_token=None)


def test_bad_query_is_terminal_naming_the_code(sandbox: GoogleAdsSandbox) -> None:
    client = open_session(config(sandbox), sleep=_no_sleep)
    with pytest.raises(TerminalError, match=r"queryError\.UNRECOGNIZED_FIELD"):
        client.search(LA, {"query": "SELECT lead_form_submission_data.nope FROM customer"})


# -- retention and reconciliation ---------------------------------------------------------------
@pytest.mark.parametrize("days, warned", [(10, False), (25, True)], ids=["recent", "stale"])
def test_stale_window_warns_about_retention(
    sandbox: GoogleAdsSandbox, days: int, warned: bool
) -> None:
    client = open_session(config(sandbox), sleep=_no_sleep)
    client.clock = lambda: sandbox.dataset.anchor
    found = list(pages(client, LA, lambda _: sandbox.dataset.anchor - timedelta(days=days)))
    assert all(not page.notes for page in found[1:])
    notes = found[0].notes
    assert bool(notes) is warned
    if warned:
        assert "customer 1234567890 is 25 days old" in notes[0] and "30 days" in notes[0]


def test_count_note_only_when_counts_differ() -> None:
    assert count_note(LA, "12", 12) is None and count_note(LA, None, 3) is None
    assert "reported 12" in (count_note(LA, "12", 11) or "")


# -- spend ----------------------------------------------------------------------------------------
@BOTH_SIDES
def test_spend_per_campaign_day_equals_the_dataset_exactly(
    sandbox: GoogleAdsSandbox, customer: str
) -> None:
    first, last = date(2026, 9, 1), date(2026, 11, 30)
    client = open_session(config(sandbox, customer), sleep=_no_sleep)
    rows = [row for batch in spend(client, customer, first, last) for row in batch]
    got = {(r.account_id, r.campaign_id, r.day.isoformat()): r.spend for r in rows}
    truth = {
        key: Decimal(micros) / 1_000_000
        for key, micros in sandbox.dataset.cost_micros_by_campaign_day(customer).items()
        if first.isoformat() <= key[2] <= last.isoformat()
    }
    assert got == truth and len(rows) == len(got)
    assert {r.currency for r in rows} == {"USD" if customer == LA else "INR"}
    assert all(r.campaign_name and r.impressions >= r.clicks >= 0 for r in rows)


def test_spend_accounts_are_the_customers(sandbox: GoogleAdsSandbox) -> None:
    cfg = config(sandbox, customer_ids=["123-456-7890", "555-000-1234"])
    assert CONNECTOR.spend_accounts is not None
    assert CONNECTOR.spend_accounts(cfg) == CONNECTOR.accounts(cfg) == [LA, KOLKATA]


# -- configuration --------------------------------------------------------------------------------
def test_customer_ids_accept_dashes_and_reject_junk() -> None:
    cfg = GoogleAdsConfig(access_token="t", customer_ids=["123-456-7890"], login_customer_id="")
    assert cfg.customer_ids == [LA] and cfg.login_customer_id is None
    assert cfg.base_url == "https://googleads.googleapis.com" and cfg.api_version == "v24"
    with pytest.raises(ValidationError):
        GoogleAdsConfig(access_token="t", customer_ids=["customers/123"])
    with pytest.raises(ValidationError):
        GoogleAdsConfig(access_token="t", customer_ids=[])


# -- mapping --------------------------------------------------------------------------------------
def test_to_lead_maps_every_documented_field(sandbox: GoogleAdsSandbox) -> None:
    sub = sandbox.add_submission(
        LA,
        submitted_at=datetime(2026, 11, 21, 3, 4, 5, tzinfo=UTC),
        fields={
            "FIRST_NAME": "ada", "LAST_NAME": "LOVELACE", "EMAIL": "Ada.Lovelace@Example.com",
            "WORK_EMAIL": "ada@analytical.example", "PHONE_NUMBER": "(415) 555-0100",
            "COMPANY_NAME": "Analytical Engines", "JOB_TITLE": "Head of Maths",
            "COUNTRY": "US", "CITY": "San Francisco", "POSTAL_CODE": "94105",
            "COMPANY_SIZE": "11-50",
        },
        custom={"What are you looking for?": "A demo"},
        gclid="Cj0KCQiAexample",
    )  # fmt: skip
    found = read(sandbox, LA, since=sub.submitted_at)
    record = next(r for r in _records(found) if r[ROW]["id"] == sub.id)
    lead = CONNECTOR.to_lead(record, LeadContext("google_ads", LA, "GB"))
    assert (lead.source, lead.source_lead_id, lead.account_id) == (
        "google_ads", sub.resource_name, LA
    )  # fmt: skip
    assert lead.created_at == lead.updated_at == sub.submitted_at
    assert (lead.email, lead.email_match_key) == ("ada.lovelace@example.com",) * 2
    assert lead.phone == "+14155550100"  # parsed with the lead's country, not the default
    assert (lead.first_name, lead.last_name) == ("Ada", "Lovelace")
    assert (lead.company, lead.job_title) == ("Analytical Engines", "Head of Maths")
    assert (lead.country, lead.city) == ("US", "San Francisco")
    assert (lead.campaign_id, lead.adset_id, lead.ad_id, lead.form_id) == (
        sub.campaign_id, sub.ad_group_id, sub.ad_id, sub.asset_id
    )  # fmt: skip
    assert lead.campaign_name == "Lead Gen - Search"
    assert lead.custom_fields == {
        "work_email": "ada@analytical.example", "postal_code": "94105",
        "company_size": "11-50", "What are you looking for?": "A demo",
        "gclid": "Cj0KCQiAexample",
    }  # fmt: skip
    assert lead.is_test is False and lead.is_organic is False
    assert lead.raw == record and CONNECTOR.record_key(record) == sub.resource_name


def _row(**changes: Any) -> dict[str, Any]:
    inner = {
        "resourceName": "customers/1234567890/leadFormSubmissionData/77",
        "id": "77",
        "submissionDateTime": "2019-01-01 12:32:45-08:00",
        "leadFormSubmissionFields": [
            {"fieldType": "FULL_NAME", "fieldValue": "John Ronald Doe"},
            {"fieldType": "WORK_PHONE", "fieldValue": "+11234567890"},
        ],
    }
    inner.update(changes)
    return {ROW: {k: v for k, v in inner.items() if v is not None}}


def test_full_name_splits_and_work_phone_reaches_the_lead() -> None:
    lead = to_lead(_row(), LeadContext("google_ads", LA))
    assert (lead.first_name, lead.last_name) == ("John", "Ronald Doe")
    assert lead.phone == "+11234567890" and lead.email is None
    assert lead.created_at == datetime(2019, 1, 1, 20, 32, 45, tzinfo=UTC)
    assert lead.campaign_id is None and lead.is_organic is None


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"resourceName": None}, "resourceName"),
        ({"submissionDateTime": None}, "submissionDateTime"),
        ({"submissionDateTime": "2019-01-01 12:32:45"}, "submissionDateTime"),
        ({"submissionDateTime": "yesterday"}, "submissionDateTime"),
        ({"leadFormSubmissionFields": [{"fieldType": "EMAIL", "fieldValue": "nope"}]}, "email"),
    ],
    ids=["no-resource-name", "no-time", "time-without-offset", "garbage-time", "no-contact"],
)
def test_unusable_records_are_invalid_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        to_lead(_row(**changes), LeadContext("google_ads", LA))
    assert caught.value.field_name == field and caught.value.source == "google_ads"
