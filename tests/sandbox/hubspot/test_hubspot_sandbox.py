"""The HubSpot sandbox, exercised over real HTTP with ``requests``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from leadflow.sandbox.data import DEFAULT_ANCHOR, hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

TOKEN = "sandbox-hubspot-token"
SEARCH = "/crm/v3/objects/contacts/search"
LIST = "/crm/v3/objects/contacts"
ACCOUNT_INFO = "/account-info/v3/details"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RATE_HEADERS = (
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Secondly",
    "X-HubSpot-RateLimit-Secondly-Remaining",
)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _session() -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    return session


class Client:
    def __init__(self, sandbox: HubSpotSandbox) -> None:
        self.base, self.http = sandbox.base_url, _session()

    def search(self, **body: Any) -> requests.Response:
        return self.http.post(self.base + SEARCH, json=body, timeout=10)

    def list(self, **params: Any) -> requests.Response:
        return self.http.get(self.base + LIST, params=params, timeout=10)

    def search_all(self, **body: Any) -> list[dict[str, Any]]:
        results, after = [], None
        while True:
            response = self.search(**body, **({"after": after} if after else {}))
            assert response.status_code == 200, response.text
            page = response.json()
            results += page["results"]
            after = page.get("paging", {}).get("next", {}).get("after")
            if after is None:
                return results


@pytest.fixture(scope="module")
def shared() -> Iterator[Client]:
    with HubSpotSandbox.unthrottled(hubspot_contacts(1200)) as sandbox:
        yield Client(sandbox)


@pytest.fixture
def sandbox() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(hubspot_contacts(30)) as hs:
        yield hs


# -- data ----------------------------------------------------------------------------------
def test_data_is_deterministic_and_realistic() -> None:
    first, again = hubspot_contacts(400), hubspot_contacts(400)
    assert first == again
    assert first != hubspot_contacts(400, seed=8)
    assert [c["id"] for c in first] == [str(i) for i in range(101, 501)]
    props = [c["properties"] for c in first]
    assert all(p["hs_object_id"] == c["id"] for p, c in zip(props, first, strict=True))
    assert all(ISO_MS.match(c["createdAt"]) and c["updatedAt"] >= c["createdAt"] for c in first)
    oldest = (DEFAULT_ANCHOR - timedelta(days=90)).strftime("%Y-%m-%d")
    assert all(oldest <= p["createdate"] <= p["lastmodifieddate"] < "2026-11-27" for p in props)
    emails = [p["email"] for p in props]
    assert None in emails and any(e and e != e.strip() for e in emails)
    assert any(e and e.isupper() for e in emails) and any(e and "@" not in e for e in emails)
    modified = [p["lastmodifieddate"] for p in props]
    assert len(set(modified)) < len(modified)  # realistic ties
    assert any(p["phone"] and p["phone"].startswith("+44 20 7946 0") for p in props)
    same = datetime(2026, 11, 1, tzinfo=UTC)
    tied = hubspot_contacts(5, same_modified=same)
    assert {c["properties"]["lastmodifieddate"] for c in tied} == {"2026-11-01T00:00:00.000Z"}


# -- auth, routing, request log -----------------------------------------------------------------
@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
def test_bad_credentials_get_hubspot_401(sandbox: HubSpotSandbox, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = requests.get(sandbox.base_url + LIST, headers=headers, timeout=5)
    body = response.json()
    assert response.status_code == 401
    assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]


def test_expired_token(sandbox: HubSpotSandbox) -> None:
    sandbox.token_expired = True
    response = _session().post(sandbox.base_url + SEARCH, json={}, timeout=5)
    assert response.status_code == 401
    assert response.json()["category"] == "EXPIRED_AUTHENTICATION"


def test_unknown_path_bad_json_and_request_log(sandbox: HubSpotSandbox) -> None:
    http = _session()
    missing = http.get(sandbox.base_url + "/crm/v3/objects/unicorns", timeout=5)
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    bad = http.post(sandbox.base_url + SEARCH, data=b"{not json", timeout=5)
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    assert bad.json()["message"].startswith("Invalid input JSON on line 1, column 2")
    logged = sandbox.requests[-1]
    assert (logged.method, logged.path, logged.status) == ("POST", SEARCH, 400)
    assert all(name.lower() != "authorization" for name in logged.headers)


def test_account_info_names_the_tokens_portal() -> None:
    with HubSpotSandbox(hubspot_contacts(3), portal_id=62515) as hs:
        details = _session().get(hs.base_url + ACCOUNT_INFO, timeout=5)
        refused = requests.get(hs.base_url + ACCOUNT_INFO, timeout=5)
    assert details.status_code == 200
    body = details.json()
    assert body["portalId"] == 62515
    assert {"accountType", "timeZone", "companyCurrency", "utcOffset", "uiDomain"} <= set(body)
    assert re.fullmatch(r"[+-]\d\d:\d\d", body["utcOffset"])
    assert body["utcOffsetMilliseconds"] == (
        (-1 if body["utcOffset"][0] == "-" else 1)
        * (int(body["utcOffset"][1:3]) * 60 + int(body["utcOffset"][4:]))
        * 60_000
    )
    assert refused.status_code == 401
    assert refused.json()["category"] == "INVALID_AUTHENTICATION"


# -- list endpoint ---------------------------------------------------------------------------
def test_list_pages_through_everything(shared: Client) -> None:
    first = shared.list().json()
    assert len(first["results"]) == 10  # documented default
    assert sorted(first["results"][0]["properties"]) == [
        "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
    ]  # fmt: skip
    ids, after = [], None
    while True:
        page = shared.list(limit=100, **({"after": after} if after else {})).json()
        ids += [r["id"] for r in page["results"]]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
        assert page["paging"]["next"]["link"].endswith(f"after={after}")
    assert ids == [str(i) for i in range(101, 1301)]


def test_list_properties_and_limits(shared: Client) -> None:
    page = shared.list(limit=3, properties="email,phone,no_such_property").json()
    props = page["results"][0]["properties"]
    assert set(props) == {"email", "phone", "createdate", "hs_object_id", "lastmodifieddate"}
    assert shared.list(limit=101).status_code == 400
    assert shared.list(after="%%%").status_code == 400
    assert shared.list(archived="true").json()["results"] == []


# -- search ------------------------------------------------------------------------------------
def test_search_date_filters_accept_ms_and_iso(shared: Client) -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    bodies = [str(_ms(since)), _ms(since), "2026-11-01T00:00:00.000Z"]
    totals = set()
    for value in bodies:
        flt = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": value}
        page = shared.search(filterGroups=[{"filters": [flt]}], limit=200).json()
        assert all(r["properties"]["lastmodifieddate"] >= "2026-11-01" for r in page["results"])
        totals.add(page["total"])
    assert len(totals) == 1 and 0 < totals.pop() < 1200


def test_search_numeric_and_text_filters(shared: Client) -> None:
    gt = {"propertyName": "hs_object_id", "operator": "GT", "value": "999"}
    found = shared.search_all(filterGroups=[{"filters": [gt]}], limit=200)
    assert sorted(int(r["id"]) for r in found) == list(range(1000, 1301))  # numeric, not text
    email = next(r for r in shared.search_all(limit=200) if r["properties"]["email"])
    eq = {"propertyName": "email", "operator": "EQ", "value": email["properties"]["email"].upper()}
    hits = shared.search(filterGroups=[{"filters": [eq]}]).json()["results"]
    assert email["id"] in [r["id"] for r in hits]  # string filters are case-insensitive
    no_email = {"propertyName": "email", "operator": "NOT_HAS_PROPERTY"}
    lifecycle = {"propertyName": "lifecyclestage", "operator": "IN", "values": ["customer"]}
    both = shared.search(filterGroups=[{"filters": [no_email]}, {"filters": [lifecycle]}])
    assert both.status_code == 200
    for result in shared.search_all(
        filterGroups=[{"filters": [no_email]}, {"filters": [lifecycle]}],
        properties=["email", "lifecyclestage"],
        limit=200,
    ):
        props = result["properties"]
        assert not props["email"] or props["lifecyclestage"] == "customer"


def test_search_validation_limits(shared: Client) -> None:
    flt = {"propertyName": "hs_object_id", "operator": "GT", "value": "0"}
    too_many = [
        {"filterGroups": [{"filters": [flt]}] * 6},
        {"filterGroups": [{"filters": [flt] * 7}]},
        {"filterGroups": [{"filters": [flt] * 6}] * 3 + [{"filters": [flt]}]},
        {"limit": 201},
        {"limit": 0},
        {"sorts": ["createdate", "-lastmodifieddate"]},
        {"after": "abc"},
        {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": 1}]}]},
    ]
    for body in too_many:
        response = shared.search(**body)
        assert response.status_code == 400, body
        assert response.json()["category"] == "VALIDATION_ERROR"
    assert len(shared.search(limit=200).json()["results"]) == 200
    default = shared.search().json()
    assert len(default["results"]) == 10 and default["total"] == 1200
    assert default["paging"]["next"]["after"] == "10"


def test_search_sorting(shared: Client) -> None:
    asc = {"propertyName": "lastmodifieddate", "direction": "ASCENDING"}
    found = shared.search_all(sorts=[asc], limit=200)
    values = [r["properties"]["lastmodifieddate"] for r in found]
    assert values == sorted(values) and len(values) == 1200
    desc = shared.search(sorts=["-createdate"], limit=50).json()["results"]
    created = [r["properties"]["createdate"] for r in desc]
    assert created == sorted(created, reverse=True)
    default = [r["properties"]["createdate"] for r in shared.search(limit=50).json()["results"]]
    assert default == sorted(default)  # oldest first by default


def test_ties_are_not_ordered_by_id() -> None:
    contacts = hubspot_contacts(60, same_modified=datetime(2026, 11, 20, tzinfo=UTC))
    with HubSpotSandbox.unthrottled(contacts) as hs:
        client = Client(hs)
        sort = [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
        ids = [r["id"] for r in client.search_all(sorts=sort, limit=7)]
        again = [r["id"] for r in client.search_all(sorts=sort, limit=25)]
    assert ids == again  # stable across requests and page sizes
    assert sorted(ids, key=int) == [str(i) for i in range(101, 161)]
    assert ids != sorted(ids, key=int) and ids != sorted(ids, key=int, reverse=True)


def test_ten_thousand_result_cap() -> None:
    contacts = hubspot_contacts(12_000, same_modified=datetime(2026, 11, 20, tzinfo=UTC))
    with HubSpotSandbox.unthrottled(contacts) as hs:
        client = Client(hs)
        started, seen, after = time.monotonic(), [], "0"
        while True:
            response = client.search(limit=200, after=after, sorts=["lastmodifieddate"])
            if response.status_code != 200:
                break
            page = response.json()
            assert page["total"] == 12_000
            seen += [r["id"] for r in page["results"]]
            after = page["paging"]["next"]["after"]
        elapsed = time.monotonic() - started
    assert response.status_code == 400 and after == "10000"
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert len(seen) == len(set(seen)) == 10_000
    assert elapsed < 5


# -- rate limits ----------------------------------------------------------------------------------
def test_forced_429_bodies_and_headers(sandbox: HubSpotSandbox) -> None:
    http, url = _session(), sandbox.base_url + LIST
    sandbox.push_rate_limit(times=2)
    for _ in range(2):
        limited = http.get(url, timeout=5)
        body = limited.json()
        assert limited.status_code == 429
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
        assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    sandbox.push_rate_limit("DAILY")
    daily = http.get(url, timeout=5)
    assert daily.json()["policyName"] == "DAILY"
    assert daily.json()["message"] == "You have reached your daily limit."
    ok = http.get(url, timeout=5)
    assert ok.status_code == 200 and all(name in ok.headers for name in RATE_HEADERS)


def test_real_rate_limits() -> None:
    with HubSpotSandbox(hubspot_contacts(5), ten_second_limit=3, search_rate_per_second=2) as hs:
        client = Client(hs)
        remaining = [client.list().headers["X-HubSpot-RateLimit-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        limited = client.list()
        assert limited.status_code == 429
        assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
        searches = [client.search() for _ in range(3)]  # search has its own per-second limit
        assert [r.status_code for r in searches] == [200, 200, 429]
        assert searches[2].json()["message"] == "You have reached your secondly limit."
        assert not any(name in searches[0].headers for name in RATE_HEADERS)
        time.sleep(1.05)
        assert client.search().status_code == 200
    with HubSpotSandbox(hubspot_contacts(5), daily_limit=2) as hs:
        client = Client(hs)
        assert [client.list().status_code, client.search().status_code] == [200, 200]
        daily = client.list()
        assert daily.status_code == 429 and daily.json()["policyName"] == "DAILY"
        assert daily.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_concurrent_requests_are_consistent(shared: Client) -> None:
    body = {"sorts": ["-lastmodifieddate"], "limit": 50, "after": "100"}
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def fetch(_: int) -> dict[str, Any]:
        return requests.post(shared.base + SEARCH, json=body, headers=headers, timeout=10).json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(fetch, range(24)))
    assert all(page == pages[0] for page in pages) and len(pages[0]["results"]) == 50


# -- faults and mutations -------------------------------------------------------------------------
def test_faults_respond_delay_and_reset(sandbox: HubSpotSandbox) -> None:
    http, url = _session(), sandbox.base_url + LIST
    sandbox.faults.push(503, {"status": "error"}, {"Retry-After": "1"}, times=2, path="/search$")
    assert http.get(url, timeout=5).status_code == 200  # path filter: list unaffected
    codes = [http.post(sandbox.base_url + SEARCH, json={}, timeout=5).status_code for _ in "abc"]
    assert codes == [503, 503, 200]
    sandbox.faults.push_delay(0.4)
    started = time.monotonic()
    assert http.get(url, timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.4
    sandbox.faults.push_delay(1.0)
    with pytest.raises(requests.Timeout):
        http.get(url, timeout=0.2)
    sandbox.faults.push_reset()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert http.get(url, timeout=5).status_code == 200
    assert [r.fault for r in sandbox.requests if r.fault][-2:] == ["delay", "reset"]


def test_upsert_and_search_index_lag() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(20), search_index_lag=0.5) as hs:
        client = Client(hs)
        stamp = datetime(2026, 11, 28, 12, tzinfo=UTC)
        created = hs.upsert_contact({"email": "new.lead@example.com"}, modified_at=stamp)
        assert created["id"] == "121"
        flt = {"propertyName": "lastmodifieddate", "operator": "EQ", "value": _ms(stamp)}
        query = {"filterGroups": [{"filters": [flt]}]}
        assert client.search(**query).json()["total"] == 0  # not indexed yet
        assert client.list(after=None, limit=100).json()["results"][-1]["id"] == "121"
        time.sleep(0.55)
        assert [r["id"] for r in client.search(**query).json()["results"]] == ["121"]
        hs.archive_contact("121")
        time.sleep(0.55)
        assert client.search(**query).json()["total"] == 0
        assert client.list(archived="true").json()["results"][0]["id"] == "121"
