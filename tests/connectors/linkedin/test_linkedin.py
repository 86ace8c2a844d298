"""The LinkedIn connector against the LinkedIn sandbox, over real HTTP."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.errors import AuthError, RateLimited, TerminalError
from leadflow.connectors.linkedin.connector import (
    CONNECTOR,
    LinkedInConfig,
    accounts,
    open_session,
    pages,
    spend,
    to_lead,
)
from leadflow.models.records.leads import InvalidRecord
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset

TOKEN = "test-linkedin-token-123"
AMERICAS, EMEA, ORG = "510000101", "510000202", "2414183"


def config(sandbox: LinkedInSandbox, **overrides) -> LinkedInConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "sponsored_account_ids": [AMERICAS, EMEA],
        "organization_ids": [ORG],
        "backoff_seconds": 0.01,
        **overrides,
    }
    return LinkedInConfig(**values)


def extract(sandbox: LinkedInSandbox, account: str, since: datetime | None = None, **overrides):
    client = open_session(config(sandbox, **overrides))
    try:
        return list(pages(client, account, lambda _: since))
    finally:
        client.close()


def leads_of(found_pages, account: str):
    context = LeadContext("linkedin", account, "US")
    return [to_lead(record, context) for page in found_pages for record in page.records]


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_accounts_are_every_sponsored_account_and_organization():
    cfg = LinkedInConfig(
        base_url="http://x",
        access_token=TOKEN,
        sponsored_account_ids=["urn:li:sponsoredAccount:1"],
        organization_ids=["2"],
    )
    assert accounts(cfg) == ["sponsoredAccount:1", "organization:2"]
    assert CONNECTOR.spend_accounts(cfg) == ["1"]


def test_answers_are_joined_through_the_form():
    dataset = linkedin_dataset(300)
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        found = {
            lead.source_lead_id: lead
            for account in (f"sponsoredAccount:{AMERICAS}", f"sponsoredAccount:{EMEA}", f"organization:{ORG}")
            for lead in leads_of(extract(sandbox, account), account)
        }  # fmt: skip
    assert set(found) == {lead["id"] for lead in dataset.leads}
    for raw in dataset.leads:
        truth, lead = dataset.answers_by_field(raw), found[raw["id"]]
        assert lead.first_name == truth["FIRST_NAME"]
        assert lead.last_name == truth["LAST_NAME"]
        assert lead.email == (truth.get("EMAIL") or truth["WORK_EMAIL"]).lower()
        assert lead.company == truth.get("COMPANY_NAME")
        assert lead.job_title == truth.get("JOB_TITLE")
        assert lead.city == truth.get("CITY")
        assert lead.created_at == datetime.fromtimestamp(raw["submittedAt"] / 1000, UTC)
        assert lead.form_id == str(dataset.form_of(raw)["id"])
        assert lead.is_organic == (raw["leadType"] != "SPONSORED")


def test_sponsored_lead_carries_campaign_creative_utm_consent_and_custom_answers():
    dataset = linkedin_dataset(0)
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        raw = sandbox.add_response(
            7100101, submitted_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC), seed=3
        )
        (lead,) = leads_of(
            extract(sandbox, f"sponsoredAccount:{AMERICAS}"), f"sponsoredAccount:{AMERICAS}"
        )
    campaign = next(c for c in dataset.campaigns if c["form"] == 7100101)
    assert lead.campaign_id == str(campaign["id"])
    assert lead.ad_id == campaign["creative"].rsplit(":", 1)[-1]
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == (
        "linkedin",
        "paid_social",
        "demo-q4",
    )
    assert lead.consent == {"0": raw["formResponse"]["consentResponses"][0]["accepted"]}
    assert lead.custom_fields["How big is your team?"] in {"1-10", "11-50", "51-200", "201+"}
    assert lead.account_id == f"sponsoredAccount:{AMERICAS}"
    assert lead.is_organic is False


def test_each_form_is_fetched_once_per_run():
    dataset = linkedin_dataset(300)
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        client = open_session(config(sandbox, count=20))
        for account in accounts(client.config):
            for _page in pages(client, account, lambda _: None):
                pass
        form_fetches = Counter(
            r.path for r in sandbox.requests if r.path.startswith("/rest/leadForms/")
        )
    assert form_fetches == {f"/rest/leadForms/{form['id']}": 1 for form in dataset.forms}


def test_test_leads_are_loaded_and_flagged():
    dataset = linkedin_dataset(400)
    expected = {lead["id"] for lead in dataset.leads if lead["testLead"]}
    assert expected, "the dataset should contain test leads"
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        found = [
            lead
            for account in (f"sponsoredAccount:{AMERICAS}", f"sponsoredAccount:{EMEA}", f"organization:{ORG}")
            for lead in leads_of(extract(sandbox, account), account)
        ]  # fmt: skip
        test_only = [
            r.query.get("limitedToTestLeads")
            for r in sandbox.requests
            if r.path.endswith("leadFormResponses")
        ]
    assert {lead.source_lead_id for lead in found if lead.is_test} == expected
    assert len(found) == len({lead.source_lead_id for lead in found}) == len(dataset.leads)
    assert ["true"] in test_only and ["false"] in test_only


def test_excluding_test_leads_drops_only_them():
    dataset = linkedin_dataset(300)
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        found = leads_of(
            extract(sandbox, f"organization:{ORG}", include_test_leads=False), f"organization:{ORG}"
        )
    expected = {
        lead["id"]
        for lead in dataset.leads
        if "organization" in lead["owner"] and not lead["testLead"]
    }
    assert {lead.source_lead_id for lead in found} == expected


def test_paging_walks_every_page_and_commits_the_cursor_on_the_last_one():
    dataset = linkedin_dataset(300)
    owner = f"urn:li:sponsoredAccount:{AMERICAS}"
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        found = extract(sandbox, f"sponsoredAccount:{AMERICAS}", count=7)
        starts = [
            r.query["start"][0] for r in sandbox.requests if r.path.endswith("leadFormResponses")
        ]
    real = [p for p in found if p.partition == f"sponsoredAccount:{AMERICAS}/SPONSORED"]
    expected = dataset.responses(owner, "SPONSORED")
    assert len(real) == -(-len(expected) // 7) > 3
    assert starts[: len(real)] == [str(7 * i) for i in range(len(real))]
    assert [r["id"] for p in real for r in p.records] == [lead["id"] for lead in expected]
    assert all(p.cursor is None for p in real[:-1])
    assert real[-1].cursor == datetime.fromtimestamp(
        max(lead["submittedAt"] for lead in expected) / 1000, UTC
    )
    assert all(p.notes == () for p in found)


def test_short_pages_do_not_stop_paging_while_total_says_more():
    # LinkedIn caps ``count``; a page shorter than asked is not the last one.
    dataset = linkedin_dataset(200)
    with LinkedInSandbox(dataset, token=TOKEN, max_count=5) as sandbox:
        found = extract(sandbox, f"organization:{ORG}", count=50)
    company = [
        r["id"] for p in found if p.partition == f"organization:{ORG}/COMPANY" for r in p.records
    ]
    assert company == [
        lead["id"] for lead in dataset.responses(f"urn:li:organization:{ORG}", "COMPANY")
    ]
    assert len(company) > 5


def test_sent_query_keeps_restli_grammar_unescaped_and_urns_encoded():
    dataset = linkedin_dataset(50)
    with LinkedInSandbox(dataset, token=TOKEN, strict_restli=True) as sandbox:
        client = open_session(config(sandbox))
        sent: list[str] = []
        client.session.hooks["response"].append(
            lambda response, **_: sent.append(response.request.url)
        )
        found = list(pages(client, f"sponsoredAccount:{AMERICAS}", lambda _: None))
        headers = [r.headers for r in sandbox.requests]
    assert {r.status for r in sandbox.requests} == {200}
    assert found[0].records
    query = sent[0].split("?", 1)[1]
    assert "owner=(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A510000101)" in query
    assert "leadType=(leadType:SPONSORED)" in query
    assert "submittedAtTimeRange=(start:" in query and ",end:" in query
    assert "%28" not in query and "%29" not in query and "%2C" not in query
    assert all(
        h.get("LinkedIn-Version") == "202606" and h.get("X-Restli-Protocol-Version") == "2.0.0"
        for h in headers
    )


def test_incremental_start_reads_only_leads_submitted_since():
    dataset = linkedin_dataset(300)
    owner = f"urn:li:sponsoredAccount:{EMEA}"
    every = dataset.responses(owner, "SPONSORED")
    cut = datetime.fromtimestamp(
        sorted(lead["submittedAt"] for lead in every)[len(every) // 2] / 1000, UTC
    )
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        found = extract(sandbox, f"sponsoredAccount:{EMEA}", since=cut)
    assert {r["id"] for p in found for r in p.records} == {
        lead["id"] for lead in every if lead["submittedAt"] >= millis(cut)
    }


def test_a_bare_429_then_success_is_retried_transparently():
    dataset = linkedin_dataset(100)
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        sandbox.push_throttle(times=2, path="leadFormResponses")
        found = extract(sandbox, f"organization:{ORG}")
        statuses = [r.status for r in sandbox.requests]
    assert statuses[:3] == [429, 429, 200]
    expected = {lead["id"] for lead in dataset.leads if "organization" in lead["owner"]}
    assert {r["id"] for p in found for r in p.records} == expected


def test_persistent_429_fails_the_account_cleanly_naming_linkedin_and_the_owner():
    with LinkedInSandbox(linkedin_dataset(50), token=TOKEN) as sandbox:
        sandbox.push_throttle(times=50)
        with pytest.raises(RateLimited) as caught:
            extract(sandbox, f"sponsoredAccount:{AMERICAS}", max_attempts=3)
        assert len(sandbox.requests) == 3
    message = str(caught.value)
    assert message.startswith("linkedin:") and "LinkedIn" in message
    assert f"sponsoredAccount:{AMERICAS}" in message


def test_a_daily_limit_is_a_rate_limit_not_a_crash():
    sandbox = LinkedInSandbox(linkedin_dataset(50), token=TOKEN, daily_limit=1)
    with sandbox, pytest.raises(RateLimited, match="midnight UTC"):
        extract(sandbox, f"organization:{ORG}", max_attempts=2)


@pytest.mark.parametrize(
    ("state", "words"),
    [
        pytest.param(None, "Invalid access token", id="wrong-token"),
        pytest.param("token_expired", "expired", id="expired"),
        pytest.param("token_revoked", "revoked", id="revoked"),
    ],
)
def test_refused_token_fails_at_once_asking_to_reauthorize(state, words):
    with LinkedInSandbox(
        linkedin_dataset(20), token=TOKEN if state else "the-right-one"
    ) as sandbox:
        if state:
            setattr(sandbox, state, True)
        with pytest.raises(AuthError, match="re-authorize") as caught:
            extract(sandbox, f"sponsoredAccount:{AMERICAS}")
        assert len(sandbox.requests) == 1
    assert words in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_an_unsupported_version_says_to_update_api_version():
    with LinkedInSandbox(linkedin_dataset(20), token=TOKEN) as sandbox:
        with pytest.raises(TerminalError, match="update api_version") as caught:
            extract(sandbox, f"sponsoredAccount:{AMERICAS}", api_version="202301")
        assert len(sandbox.requests) == 1
    assert not isinstance(caught.value, AuthError)


def test_a_reported_total_larger_than_what_came_back_is_noted():
    with LinkedInSandbox(linkedin_dataset(50), token=TOKEN) as sandbox:
        sandbox.faults.push(
            200,
            {"paging": {"start": 0, "count": 10, "links": [], "total": 3}, "elements": []},
            path="leadFormResponses",
        )
        found = extract(sandbox, f"sponsoredAccount:{AMERICAS}")
    assert any("reported 3" in note for note in found[0].notes)


def test_spend_per_campaign_day_equals_the_dataset_exactly():
    dataset = linkedin_dataset(100)
    first, last = (dataset.anchor - timedelta(days=95)).date(), dataset.anchor.date()
    with LinkedInSandbox(dataset, token=TOKEN) as sandbox:
        client = open_session(config(sandbox))
        rows = {
            account: [row for batch in spend(client, account, first, last) for row in batch]
            for account in (AMERICAS, EMEA)
        }
        analytics = [r for r in sandbox.requests if r.path == "/rest/adAnalytics"]
    for account, currency in ((AMERICAS, "USD"), (EMEA, "EUR")):
        urn = f"urn:li:sponsoredAccount:{account}"
        expected = {
            (stat.campaign.rsplit(":", 1)[-1], stat.day): stat.cost
            for stat in dataset.daily
            if stat.account == urn
        }
        got = {(row.campaign_id, row.day): row.spend for row in rows[account]}
        assert got == expected
        assert all(isinstance(v, Decimal) for v in got.values())
        assert {row.currency for row in rows[account]} == {currency}
        names = {str(c["id"]): c["name"] for c in dataset.campaigns if c["account"] == urn}
        assert {row.campaign_name for row in rows[account]} <= set(names.values())
    assert len(analytics) == 2 * 4  # 96 days in 30-day requests, per account
    assert all(
        r.query["fields"] == ["costInLocalCurrency,impressions,clicks,dateRange,pivotValues"]
        for r in analytics
    )


def _record(**overrides):
    record = {
        "id": "a9a29e52-c0a3-42e3-8af1-2fc83b697003-4",
        "leadType": "SPONSORED",
        "submittedAt": 1764000000000,
        "testLead": False,
        "versionedLeadGenFormUrn": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:3162,1)",
        "formResponse": {
            "answers": [
                {
                    "questionId": 1,
                    "answerDetails": {"textQuestionAnswer": {"answer": "ann@example.com"}},
                }
            ],
            "consentResponses": [],
        },
        "form": {
            "id": 3162,
            "content": {"questions": [{"questionId": 1, "predefinedField": "EMAIL"}]},
        },
    }
    record.update(overrides)
    return record


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"id": None}, "id", id="missing-id"),
        pytest.param({"id": ""}, "id", id="empty-id"),
        pytest.param({"submittedAt": None}, "submittedAt", id="missing-submittedAt"),
        pytest.param({"submittedAt": "yesterday"}, "submittedAt", id="bad-submittedAt"),
        pytest.param({"formResponse": {"answers": []}}, "email", id="no-contact"),
    ],
)
def test_to_lead_rejects_records_it_cannot_key_date_or_reach(overrides, field):
    with pytest.raises(InvalidRecord) as caught:
        to_lead(_record(**overrides), LeadContext("linkedin", "sponsoredAccount:1"))
    assert caught.value.field_name == field
    assert caught.value.source == "linkedin"


def test_to_lead_keeps_a_test_lead_flagged():
    lead = to_lead(_record(testLead=True), LeadContext("linkedin", "sponsoredAccount:1"))
    assert lead.is_test is True
    assert lead.email == "ann@example.com"
    assert lead.form_id == "3162"
