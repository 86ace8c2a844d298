"""The LinkedIn sandbox over real HTTP: its data, headers, auth and versions, Rest.li syntax and
throttling (Lead Sync and the ads endpoints have their own modules)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest

from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.linkedin import restli
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import LinkedInDataset, linkedin_dataset, ms
from leadflow.sandbox.people import person
from tests.sandbox.linkedin.restli_client import (
    ACCOUNT_A,
    ACCOUNT_B,
    ORG,
    RESPONSES,
    TOKEN,
    Client,
    leads_query,
    owner,
)


# -- dataset -----------------------------------------------------------------------------------
def test_dataset_is_deterministic_and_realistic(dataset: LinkedInDataset) -> None:
    assert linkedin_dataset() == dataset and linkedin_dataset(seed=18) != dataset
    leads = dataset.leads
    # 400 drawn and 3 by people abroad (sandbox.abroad)
    assert len(leads) == 403 and len({lead["id"] for lead in leads}) == 403
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
