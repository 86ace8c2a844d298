"""The LinkedIn sandbox, exercised over real HTTP with ``requests``.

Query strings are built by hand: Rest.li 2.0 needs ``( ) , :`` unencoded, which ``requests``
would percent-encode if the values went through ``params=``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests

from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.linkedin import restli
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import LinkedInDataset, linkedin_dataset, ms, versioned_form_urn
from leadflow.sandbox.people import person

TOKEN = "sandbox-linkedin-token"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "LinkedIn-Version": "202611",
    "X-Restli-Protocol-Version": "2.0.0",
}
ACCOUNT_A, ACCOUNT_B = "urn:li:sponsoredAccount:510000101", "urn:li:sponsoredAccount:510000202"
ORG = "urn:li:organization:2414183"
RESPONSES = "/rest/leadFormResponses"


def enc(urn: str) -> str:
    return quote(urn, safe="")


def owner(urn: str) -> str:
    kind = "organization" if ":organization:" in urn else "sponsoredAccount"
    return f"({kind}:{enc(urn)})"


def leads_query(urn: str, lead_type: str, **extra: Any) -> str:
    params = {"q": "owner", "owner": owner(urn), "leadType": f"(leadType:{lead_type})", **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


class Client:
    def __init__(self, sandbox: LinkedInSandbox) -> None:
        self.base, self.http = sandbox.base_url, requests.Session()
        self.http.headers.update(HEADERS)

    def get(self, path: str, query: str = "", **headers: str) -> requests.Response:
        url = self.base + path + (f"?{query}" if query else "")
        return self.http.get(url, headers=headers, timeout=10)

    def all_leads(self, urn: str, lead_type: str, count: int = 25, **extra: Any) -> list[dict]:
        elements, start = [], 0
        while True:
            page = self.get(
                RESPONSES, leads_query(urn, lead_type, start=start, count=count, **extra)
            )
            assert page.status_code == 200, page.text
            body = page.json()
            elements += body["elements"]
            if not any(link["rel"] == "next" for link in body["paging"]["links"]):
                assert len(elements) == body["paging"]["total"]
                return elements
            start += count


@pytest.fixture(scope="module")
def dataset() -> LinkedInDataset:
    return linkedin_dataset()


@pytest.fixture(scope="module")
def shared(dataset: LinkedInDataset) -> Iterator[Client]:
    with LinkedInSandbox(dataset) as sandbox:
        yield Client(sandbox)


@pytest.fixture
def sandbox() -> Iterator[LinkedInSandbox]:
    with LinkedInSandbox(linkedin_dataset(60, seed=3)) as li:
        yield li


# -- dataset -----------------------------------------------------------------------------------
def test_dataset_is_deterministic_and_realistic(dataset: LinkedInDataset) -> None:
    assert linkedin_dataset() == dataset and linkedin_dataset(seed=18) != dataset
    leads = dataset.leads
    assert len(leads) == 400 and len({lead["id"] for lead in leads}) == 400
    assert 0.02 < sum(lead["testLead"] for lead in leads) / len(leads) < 0.09
    types = {(next(iter(lead["owner"].values())), lead["leadType"]) for lead in leads}
    assert types == {
        (ACCOUNT_A, "SPONSORED"),
        (ACCOUNT_B, "SPONSORED"),
        (ORG, "COMPANY"),
        (ORG, "EVENT"),
    }
    oldest = ms(DEFAULT_ANCHOR - timedelta(days=90))
    assert all(oldest <= lead["submittedAt"] < ms(DEFAULT_ANCHOR) for lead in leads)
    orders = {
        tuple(q.get("predefinedField") for q in f["content"]["questions"]) for f in dataset.forms
    }
    assert len(orders) == len(dataset.forms)  # every form asks in its own order
    answered = [len(lead["formResponse"]["answers"]) for lead in leads]
    asked = [len(dataset.form_of(lead)["content"]["questions"]) for lead in leads]
    assert any(a < q for a, q in zip(answered, asked, strict=True))  # optional questions skipped
    for lead in leads[:50]:
        who, fields = dataset.people[lead["id"]], dataset.answers_by_field(lead)
        assert fields["FIRST_NAME"] == who.first_name and who == person(who.index)
    sponsored = [lead for lead in leads if lead["leadType"] == "SPONSORED"]
    assert all(lead["leadMetadata"]["sponsoredLeadMetadata"]["campaign"] for lead in sponsored)
    assert all("leadMetadata" not in lead for lead in leads if lead["leadType"] != "SPONSORED")
    real = sum(not lead["testLead"] for lead in sponsored)
    assert sum(stat.leads for stat in dataset.daily) == real


# -- headers, auth, versions -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("auth", "status", "service", "code"),
    [
        (None, 401, 401, None),
        (f"Basic {TOKEN}", 401, 401, None),
        ("Bearer wrong", 401, 65600, "INVALID_ACCESS_TOKEN"),
    ],
)
def test_bad_credentials(
    shared: Client, auth: str | None, status: int, service: int, code: str | None
) -> None:
    response = shared.get("/rest/leadForms/7100101", Authorization=auth or "")
    body = response.json()
    assert (response.status_code, body["serviceErrorCode"]) == (status, service)
    assert body.get("code") == code
    if code:
        assert body["message"] == "Invalid access token"


def test_expired_and_revoked_tokens(sandbox: LinkedInSandbox) -> None:
    client = Client(sandbox)
    sandbox.token_expired = True
    body = client.get("/rest/leadForms/7100101").json()
    assert (body["serviceErrorCode"], body["code"]) == (65602, "EXPIRED_ACCESS_TOKEN")
    sandbox.token_revoked = True
    body = client.get("/rest/leadForms/7100101").json()
    assert (body["serviceErrorCode"], body["code"]) == (65601, "REVOKED_ACCESS_TOKEN")
    assert all(name.lower() != "authorization" for name in sandbox.requests[-1].headers)


def test_linkedin_version_is_required_and_must_be_active(shared: Client) -> None:
    missing = shared.get("/rest/leadForms/7100101", **{"LinkedIn-Version": ""})
    assert missing.status_code == 400 and missing.json()["code"] == "VERSION_MISSING"
    assert missing.headers["X-Restli-Gateway-Error"] == "true"
    for old in ("202401", "202511", "202701", "2026-11"):
        sunset = shared.get("/rest/leadForms/7100101", **{"LinkedIn-Version": old})
        assert sunset.status_code == 426 and sunset.json()["code"] == "NONEXISTENT_VERSION"
    assert (
        "Requested version 20240101 is not active"
        in shared.get("/rest/leadForms/7100101", **{"LinkedIn-Version": "202401"}).json()["message"]
    )
    for active in ("202512", "202606", "202611", "202611.01"):
        assert shared.get("/rest/leadForms/7100101", **{"LinkedIn-Version": active}).ok


def test_unknown_resource(shared: Client) -> None:
    response = shared.get("/rest/leadGenForms")
    assert response.status_code == 404 and response.json()["message"] == "No virtual resource found"


# -- Rest.li syntax ----------------------------------------------------------------------------
def test_restli_parser() -> None:
    assert restli.parse(owner(ACCOUNT_A)) == {"sponsoredAccount": ACCOUNT_A}
    dates = "(start:(year:2026,month:11,day:1),end:(year:2026,month:11,day:27))"
    assert restli.parse(dates)["end"] == {"year": "2026", "month": "11", "day": "27"}
    assert restli.parse("List(urn%3Ali%3Ax%3A1,'')") == ["urn:li:x:1", ""]
    assert restli.parse("%28a%3Ab%29") == "(a:b)"  # over-encoded: a string, not an object
    assert restli.parse("List(urn:li:x:1)", lenient_urns=True) == ["urn:li:x:1"]
    for bad in ("List(urn:li:x:1)", "(a:b", "(a:b))", "(a:)", "%zz"):
        with pytest.raises(restli.RestliSyntaxError):
            restli.parse(bad)
    value = {"a": ["urn:li:form:(1,2)", ""], "b": {"c": "x y"}}
    assert restli.parse(restli.encode(value)) == value
    assert restli.parse_fields("id,form:(name,content)") == {
        "id": None,
        "form": {"name": None, "content": None},
    }


def test_over_encoded_restli_is_rejected(shared: Client) -> None:
    # what requests' params= sends (urlencode): ( ) , : percent-encoded, the URN twice
    over = urlencode({"q": "owner", "owner": owner(ACCOUNT_A), "leadType": "(leadType:SPONSORED)"})
    response = shared.get(RESPONSES, over)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "ILLEGAL_ARGUMENT",
        "message": "Parameter 'owner' is invalid",
    }
    no_protocol = shared.get(
        RESPONSES, leads_query(ACCOUNT_A, "SPONSORED"), **{"X-Restli-Protocol-Version": ""}
    )
    assert no_protocol.status_code == 400  # protocol 1.0 has no (k:v) objects


# -- lead sync ---------------------------------------------------------------------------------
def test_paging_through_every_owner_and_lead_type(shared: Client, dataset: LinkedInDataset) -> None:
    for urn, lead_type in (
        (ACCOUNT_A, "SPONSORED"),
        (ACCOUNT_B, "SPONSORED"),
        (ORG, "COMPANY"),
        (ORG, "EVENT"),
    ):
        fetched = shared.all_leads(urn, lead_type, count=17)
        assert fetched == dataset.responses(urn, lead_type)
        assert [lead["submittedAt"] for lead in fetched] == sorted(
            (lead["submittedAt"] for lead in fetched), reverse=True
        )
    assert shared.all_leads(ORG, "ORGANIZATION_PRODUCT") == []


def test_paging_defaults_links_and_count_cap(shared: Client) -> None:
    first = shared.get(RESPONSES, leads_query(ACCOUNT_A, "SPONSORED")).json()
    assert (first["paging"]["start"], first["paging"]["count"], len(first["elements"])) == (
        0,
        10,
        10,
    )
    (link,) = first["paging"]["links"]
    assert (
        link["rel"] == "next"
        and "start=10&count=10" in link["href"]
        and "owner=(sponsoredAccount:" in link["href"]
    )
    followed = shared.http.get(shared.base + link["href"], timeout=10).json()
    assert followed["paging"]["start"] == 10
    assert {lk["rel"] for lk in followed["paging"]["links"]} == {"prev", "next"}
    big = shared.get(RESPONSES, leads_query(ACCOUNT_A, "SPONSORED", count=500)).json()
    assert big["paging"]["count"] == 100 and len(big["elements"]) == 100


def test_strict_count_and_restli(dataset: LinkedInDataset) -> None:
    with LinkedInSandbox(dataset, clamp_count=False, strict_restli=True) as strict:
        client = Client(strict)
        assert (
            client.get(RESPONSES, leads_query(ACCOUNT_A, "SPONSORED", count=101)).status_code == 400
        )
        raw = f"q=owner&owner=(sponsoredAccount:{ACCOUNT_A})&leadType=(leadType:SPONSORED)"
        assert client.get(RESPONSES, raw).status_code == 400


def test_lead_type_must_fit_the_owner(shared: Client) -> None:
    for urn, lead_type in ((ORG, "SPONSORED"), (ACCOUNT_A, "COMPANY"), (ACCOUNT_A, "BOGUS")):
        assert shared.get(RESPONSES, leads_query(urn, lead_type)).status_code == 400
    assert shared.get(RESPONSES, f"q=owner&owner={owner(ACCOUNT_A)}").status_code == 400
    stranger = shared.get(RESPONSES, leads_query("urn:li:sponsoredAccount:1", "SPONSORED"))
    assert stranger.status_code == 403 and stranger.json()["code"] == "ACCESS_DENIED"


def test_time_range_test_leads_and_form_filters(shared: Client, dataset: LinkedInDataset) -> None:
    start, end = ms(DEFAULT_ANCHOR - timedelta(days=20)), ms(DEFAULT_ANCHOR - timedelta(days=5))
    window = shared.all_leads(
        ACCOUNT_A, "SPONSORED", submittedAtTimeRange=f"(start:{start},end:{end})"
    )
    assert window == dataset.responses(ACCOUNT_A, "SPONSORED", start_ms=start, end_ms=end)
    assert window and all(start <= lead["submittedAt"] < end for lead in window)
    edge = window[-1]["submittedAt"]
    assert window[-1] in shared.all_leads(
        ACCOUNT_A, "SPONSORED", submittedAtTimeRange=f"(start:{edge})"
    )
    assert window[-1] not in shared.all_leads(
        ACCOUNT_A, "SPONSORED", submittedAtTimeRange=f"(end:{edge})"
    )
    everything = shared.all_leads(ACCOUNT_A, "SPONSORED", limitedToTestLeads="false")
    tests = shared.all_leads(ACCOUNT_A, "SPONSORED", limitedToTestLeads="true")
    assert tests and all(lead["testLead"] for lead in tests)
    assert set(map(str, tests)) < set(map(str, everything))  # false = not limited: all leads
    urn = versioned_form_urn(7100102)
    by_form = shared.all_leads(ACCOUNT_A, "SPONSORED", versionedLeadGenFormUrn=enc(urn))
    assert by_form and all(lead["versionedLeadGenFormUrn"] == urn for lead in by_form)
    assert by_form == shared.all_leads(
        ACCOUNT_A, "SPONSORED", versionedLeadGenFormUrn=urn
    )  # lenient


def test_form_lookup_joins_question_ids(shared: Client, dataset: LinkedInDataset) -> None:
    forms: dict[str, dict] = {}
    page = shared.get(RESPONSES, leads_query(ACCOUNT_B, "SPONSORED", count=40)).json()
    for lead in page["elements"]:
        form_id = lead["versionedLeadGenFormUrn"].split("leadGenForm:")[1].split(",")[0]
        if form_id not in forms:
            forms[form_id] = shared.get(f"/rest/leadForms/{form_id}").json()
        questions = {q["questionId"]: q for q in forms[form_id]["content"]["questions"]}
        joined = {
            questions[a["questionId"]].get("predefinedField"): a["answerDetails"]
            for a in lead["formResponse"]["answers"]
        }
        who = dataset.people[lead["id"]]
        assert joined["WORK_EMAIL"]["textQuestionAnswer"]["answer"].startswith(
            who.email.split("@")[0]
        )
        assert joined["FIRST_NAME"]["textQuestionAnswer"]["answer"] == who.first_name
    assert forms["7100203"]["content"]["questions"][1]["question"]["localized"] == {
        "de_DE": "Vorname"
    }
    by_urn = shared.get("/rest/leadForms/" + enc("urn:li:leadGenForm:7100203"))
    assert by_urn.json() == forms["7100203"]
    assert shared.get("/rest/leadForms/urn:li:leadGenForm:7100203").status_code == 400
    assert shared.get("/rest/leadForms/999").status_code == 404
    listed = shared.get("/rest/leadForms", f"q=owner&owner={owner(ORG)}").json()
    assert [f["id"] for f in listed["elements"]] == [7100304, 7100305]
    assert listed["paging"]["total"] == 2


def test_projection_and_single_lead(shared: Client, dataset: LinkedInDataset) -> None:
    fields = "id,submittedAt,testLead,form:(hiddenFields,name)"
    (lead,) = shared.get(
        RESPONSES, leads_query(ACCOUNT_A, "SPONSORED", count=1, fields=fields)
    ).json()["elements"]
    assert set(lead) == {"id", "submittedAt", "testLead", "form"}
    assert set(lead["form"]) == {"hiddenFields", "name"}
    full = shared.get(f"{RESPONSES}/{enc(lead['id'])}").json()
    assert full == next(item for item in dataset.leads if item["id"] == lead["id"])
    assert shared.get(f"{RESPONSES}/nope").status_code == 404


def test_added_response_is_served(sandbox: LinkedInSandbox) -> None:
    added = sandbox.add_response(
        7100304, who=person(7), submitted_at=DEFAULT_ANCHOR - timedelta(minutes=5)
    )
    newest = Client(sandbox).get(RESPONSES, leads_query(ORG, "COMPANY", count=1)).json()["elements"]
    assert newest == [added] and sandbox.dataset.answers_by_field(added)["EMAIL"] == person(7).email


# -- throttling --------------------------------------------------------------------------------
def test_bare_429_and_daily_limit(sandbox: LinkedInSandbox, dataset: LinkedInDataset) -> None:
    client = Client(sandbox)
    sandbox.push_throttle()
    throttled = client.get("/rest/leadForms/7100101")
    assert throttled.status_code == 429 and throttled.json()["status"] == 429
    assert not [
        h for h in throttled.headers if h.lower() == "retry-after" or "ratelimit" in h.lower()
    ]
    assert client.get("/rest/leadForms/7100101").ok
    with LinkedInSandbox(dataset, daily_limit=2) as limited:
        capped = Client(limited)
        statuses = [capped.get("/rest/leadForms/7100101").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert capped.get(RESPONSES, leads_query(ORG, "EVENT")).ok  # the limit is per endpoint
        limited.reset_daily_limits()
        assert capped.get("/rest/leadForms/7100101").ok


# -- ads ---------------------------------------------------------------------------------------
def analytics_query(facet: str, first: date, last: date, **extra: str) -> str:
    def ymd(d: date) -> str:
        return f"(year:{d.year},month:{d.month},day:{d.day})"

    params = {"q": "analytics", "pivot": "CAMPAIGN", "timeGranularity": "DAILY",
              "dateRange": f"(start:{ymd(first)},end:{ymd(last)})", **extra}  # fmt: skip
    return "&".join(f"{k}={v}" for k, v in params.items()) + f"&{facet}"


def test_daily_analytics_match_the_dataset(shared: Client, dataset: LinkedInDataset) -> None:
    first, last = date(2026, 10, 1), date(2026, 11, 26)
    campaigns = [c["urn"] for c in dataset.campaigns if c["account"] == ACCOUNT_A]
    facet = "campaigns=List(" + ",".join(enc(urn) for urn in campaigns) + ")"
    fields = "costInLocalCurrency,impressions,clicks,dateRange,pivotValues"
    body = shared.get(
        "/rest/adAnalytics", analytics_query(facet, first, last, fields=fields)
    ).json()
    got = {}
    for row in body["elements"]:
        start, end = row["dateRange"]["start"], row["dateRange"]["end"]
        assert (
            start == end
            and isinstance(row["costInLocalCurrency"], str)
            and isinstance(row["impressions"], int)
        )
        got[(row["pivotValues"][0], date(start["year"], start["month"], start["day"]))] = Decimal(
            row["costInLocalCurrency"]
        )
    expected = {
        k: v
        for k, v in dataset.cost_by_campaign_day().items()
        if k[0] in campaigns and first <= k[1] <= last
    }
    assert got == expected and len(got) > 60
    default = shared.get("/rest/adAnalytics", analytics_query(facet, first, last)).json()
    assert all(set(row) == {"impressions", "clicks"} for row in default["elements"])
    total = shared.get("/rest/adAnalytics", analytics_query(
        f"accounts=List({enc(ACCOUNT_A)})", first, last, timeGranularity="ALL", pivot="ACCOUNT", fields="costInLocalCurrency,pivotValues"
    )).json()["elements"]  # fmt: skip
    assert total == [
        {"costInLocalCurrency": str(sum(expected.values())), "pivotValues": [ACCOUNT_A]}
    ]


def test_analytics_errors_and_lenient_urns(shared: Client, dataset: LinkedInDataset) -> None:
    day = date(2026, 11, 2)
    assert shared.get("/rest/adAnalytics", analytics_query("x=1", day, day)).status_code == 400
    urn = dataset.campaigns[0]["urn"]
    raw = shared.get("/rest/adAnalytics", analytics_query(f"campaigns=List({urn})", day, day))
    assert raw.ok and raw.json()["elements"]  # LinkedIn's own examples leave URN colons unencoded
    monthly = shared.get("/rest/adAnalytics", analytics_query(
        f"campaigns=List({enc(urn)})", date(2026, 10, 15), date(2026, 11, 10), timeGranularity="MONTHLY", fields="dateRange"
    )).json()["elements"]  # fmt: skip
    assert [r["dateRange"]["start"]["day"] for r in monthly] == [15, 1]
    assert monthly[1]["dateRange"]["end"]["day"] == 10


def test_campaign_search(shared: Client) -> None:
    body = shared.get(
        "/rest/adAccounts/510000101/adCampaigns", "q=search&search=(status:(values:List(ACTIVE)))"
    ).json()
    assert [c["name"] for c in body["elements"]] == [
        "Demo request - US/CA",
        "Demo request - retargeting",
    ]
    assert all(c["account"] == ACCOUNT_A and c["status"] == "ACTIVE" for c in body["elements"])
