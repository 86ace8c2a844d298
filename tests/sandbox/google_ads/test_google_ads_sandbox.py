"""The Google Ads sandbox, exercised over real HTTP with ``requests``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import MANAGER_ID, google_ads_dataset
from leadflow.sandbox.people import person

TOKEN, DEV_TOKEN = "sandbox-google-token", "sandbox-dev-token"
LA, KOLKATA, LONDON, AUCKLAND = "1234567890", "5550001234", "7770004321", "8880005678"
LEAD, ROW = "lead_form_submission_data", "leadFormSubmissionData"
LEAD_QUERY = (
    f"SELECT {LEAD}.id, {LEAD}.submission_date_time, {LEAD}.lead_form_submission_fields, "
    f"{LEAD}.custom_lead_form_submission_fields, {LEAD}.campaign, {LEAD}.gclid FROM {LEAD}"
)
SPEND_QUERY = (
    "SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros, metrics.clicks, "
    "metrics.impressions FROM campaign WHERE segments.date BETWEEN '{0}' AND '{1}'"
)


class Client:
    def __init__(self, sandbox: GoogleAdsSandbox, version: str = "v24") -> None:
        self.base, self.version, self.http = sandbox.base_url, version, requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {TOKEN}", "developer-token": DEV_TOKEN})

    def search(self, customer: str, login: str | None = None, **body: Any) -> requests.Response:
        url = f"{self.base}/{self.version}/customers/{customer}/googleAds:search"
        headers = {"login-customer-id": login} if login else {}
        return self.http.post(url, json=body, headers=headers, timeout=10)

    def rows(self, customer: str, query: str, login: str | None = None) -> list[dict[str, Any]]:
        found, token = [], None
        while True:
            extra = {"pageToken": token} if token else {}
            response = self.search(customer, login, query=query, **extra)
            assert response.status_code == 200, response.text
            found += response.json().get("results", [])
            token = response.json().get("nextPageToken")
            if token is None:
                return found


def failure(response: requests.Response) -> dict[str, Any]:
    """The single GoogleAdsError of a google.rpc.Status body, checked for shape."""
    error = response.json()["error"]
    assert error["code"] == response.status_code and error["status"] and error["message"]
    (detail,) = error["details"]
    assert detail["@type"].endswith(".errors.GoogleAdsFailure")
    assert detail["requestId"] == response.headers["request-id"]
    (only,) = detail["errors"]
    return only


def window(query_from: str, query_to: str) -> str:
    field = f"{LEAD}.submission_date_time"
    return (f"{LEAD_QUERY} WHERE {field} >= '{query_from}' AND {field} < '{query_to}' "
            f"ORDER BY {field}")  # fmt: skip


@pytest.fixture(scope="module")
def shared() -> Iterator[GoogleAdsSandbox]:
    with GoogleAdsSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox() -> Iterator[GoogleAdsSandbox]:
    with GoogleAdsSandbox(google_ads_dataset(120), page_size=7) as ads:
        yield ads


# -- data -----------------------------------------------------------------------------------------
def test_dataset_is_deterministic_and_shaped() -> None:
    first, again = google_ads_dataset(300), google_ads_dataset(300)
    assert [s.id for s in first.submissions()] == [s.id for s in again.submissions()]
    assert first.metrics == again.metrics
    assert [s.id for s in google_ads_dataset(300, seed=14).submissions()] != [
        s.id for s in first.submissions()
    ]
    subs = first.submissions()
    # 300 drawn and 4 by people abroad (sandbox.abroad), one per client account
    assert len(subs) == 304 and len({s.id for s in subs}) == 304
    assert all(first.anchor - timedelta(days=61) < s.submitted_at < first.anchor for s in subs)
    assert all(s.id.isdigit() and int(s.id) > 2**53 for s in subs)  # keep ids as strings
    zones = {first.customer(c).time_zone for c in first.client_ids()}
    assert {"America/Los_Angeles", "Asia/Kolkata"} <= zones
    pooled = [s for s in subs if s.person_index is not None]
    email = dict(pooled[0].fields).get("EMAIL") or dict(pooled[0].fields).get("WORK_EMAIL")
    assert email == person(pooled[0].person_index).email  # shared people pool
    assert {e.edge for e in first.edge_submissions(LA)} >= {"local-midnight", "dst-fold-second"}
    assert all(m.cost_micros % 10_000 == 0 and m.clicks <= m.impressions for m in first.metrics)


# -- leads and time zones --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "customer, login", [(LA, None), (KOLKATA, MANAGER_ID), (AUCKLAND, MANAGER_ID)]
)
def test_local_day_window_on_both_sides_of_utc(
    shared: GoogleAdsSandbox, customer: str, login: str | None
) -> None:
    ds, tz = shared.dataset, shared.dataset.customer(customer).tz
    edge = next(s for s in ds.edge_submissions(customer) if s.edge == "local-midnight")
    day = edge.submitted_at.astimezone(tz).date()
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    query = window(f"{day} 00:00:00", f"{day + timedelta(days=1)} 00:00:00")
    rows = Client(shared).rows(customer, query, login)
    expected = ds.submissions_between(customer, start, start + timedelta(days=1))
    assert [r[ROW]["id"] for r in rows] == [s.id for s in expected] != []
    got = {r[ROW]["id"]: r[ROW] for r in rows}
    edges = {s.edge: s.id for s in ds.edge_submissions(customer)}
    assert edges["local-midnight"] in got and edges["before-local-midnight"] not in got
    offset = start.strftime("%z")
    for sub in expected:
        stamp = got[sub.id]["submissionDateTime"]
        assert stamp.endswith(f"{offset[:3]}:{offset[3:]}")
        assert datetime.fromisoformat(stamp) == sub.submitted_at
        assert got[sub.id]["campaign"].startswith(f"customers/{customer}/campaigns/")
        assert [f["fieldType"] for f in got[sub.id]["leadFormSubmissionFields"]] == [
            t for t, _ in sub.fields
        ]
        assert ("gclid" in got[sub.id]) == bool(sub.gclid)  # empty strings are omitted


@pytest.mark.parametrize("customer, login", [(LA, None), (KOLKATA, MANAGER_ID)])
def test_literals_with_an_offset_are_exact_instants(
    shared: GoogleAdsSandbox, customer: str, login: str | None
) -> None:
    ds = shared.dataset
    utc_edge = next(s for s in ds.edge_submissions(customer) if s.edge == "utc-midnight")
    start = utc_edge.submitted_at
    query = window(f"{start:%Y-%m-%d} 00:00:00+00:00",
                   f"{start + timedelta(days=1):%Y-%m-%d} 00:00:00+00:00")  # fmt: skip
    ids = [r[ROW]["id"] for r in Client(shared).rows(customer, query, login)]
    assert ids == [s.id for s in ds.submissions_between(customer, start, start + timedelta(days=1))]
    before = next(s for s in ds.edge_submissions(customer) if s.edge == "before-utc-midnight")
    assert utc_edge.id in ids and before.id not in ids
    naive_utc = window(f"{start:%Y-%m-%d} 00:00:00", f"{start:%Y-%m-%d} 00:00:01")
    naive_ids = [r[ROW]["id"] for r in Client(shared).rows(customer, naive_utc, login)]
    assert utc_edge.id not in naive_ids  # a naive literal is account time, not UTC


def test_dst_fold_and_descending_order(shared: GoogleAdsSandbox) -> None:
    query = window("2026-11-01 01:00:00-07:00", "2026-11-01 02:00:00-08:00")
    rows = Client(shared).rows(LA, query + " DESC")
    stamps = [r[ROW]["submissionDateTime"] for r in rows]
    assert "2026-11-01 01:30:00-08:00" in stamps and "2026-11-01 01:30:00-07:00" in stamps
    assert stamps.index("2026-11-01 01:30:00-08:00") < stamps.index("2026-11-01 01:30:00-07:00")
    later = window("2026-11-01 01:45:00", "2026-11-02 00:00:00")  # 01:45 = first (PDT) 01:45
    stamps = [r[ROW]["submissionDateTime"] for r in Client(shared).rows(LA, later)]
    assert "2026-11-01 01:30:00-08:00" in stamps and "2026-11-01 01:30:00-07:00" not in stamps


def test_results_key_is_absent_when_nothing_matches(shared: GoogleAdsSandbox) -> None:
    body = Client(shared).search(LA, query=window("2020-01-01", "2020-01-02")).json()
    assert "results" not in body and "nextPageToken" not in body
    assert body["fieldMask"].startswith("leadFormSubmissionData.id,")


# -- paging -------------------------------------------------------------------------------------
def test_paging_follows_tokens_and_snapshots(sandbox: GoogleAdsSandbox) -> None:
    client, expected = Client(sandbox), [s.id for s in sandbox.dataset.submissions(LA)]
    query = f"{LEAD_QUERY} ORDER BY {LEAD}.submission_date_time"
    first = client.search(LA, query=query, searchSettings={"returnTotalResultsCount": True}).json()
    assert len(first["results"]) == 7 and first["totalResultsCount"] == str(len(expected))
    late = sandbox.add_submission(LA, submitted_at=sandbox.dataset.anchor - timedelta(minutes=1))
    ids, token = [r[ROW]["id"] for r in first["results"]], first["nextPageToken"]
    while token:
        page = client.search(LA, query=query, pageToken=token).json()
        ids += [r[ROW]["id"] for r in page["results"]]
        token = page.get("nextPageToken")
    assert ids == expected  # pages come from the dataset as of the first request
    assert [r[ROW]["id"] for r in client.rows(LA, query)][-1] == late.id


def test_page_token_rules(sandbox: GoogleAdsSandbox) -> None:
    client, query = Client(sandbox), LEAD_QUERY
    token = client.search(LA, query=query).json()["nextPageToken"]
    changed = client.search(LA, query=query + " LIMIT 50", pageToken=token)
    assert changed.status_code == 400
    assert failure(changed)["errorCode"] == {"requestError": "INVALID_PAGE_TOKEN"}
    other_customer = client.search(LONDON, query=query, pageToken=token)
    assert failure(other_customer)["errorCode"] == {"requestError": "INVALID_PAGE_TOKEN"}
    total = client.search(LA, query=query, pageToken=token,
                          searchSettings={"returnTotalResultsCount": True})  # fmt: skip
    assert (
        failure(total)["errorCode"]["requestError"]
        == "TOTAL_RESULTS_COUNT_NOT_ORIGINALLY_REQUESTED"
    )
    assert client.search(LA, query=query, pageToken=token).status_code == 200  # reusable
    sandbox.expire_page_tokens()
    expired = client.search(LA, query=query, pageToken=token)
    assert failure(expired)["errorCode"] == {"requestError": "EXPIRED_PAGE_TOKEN"}
    for size in (10_000, 7):
        rejected = client.search(LA, query=query, pageSize=size)
        error = failure(rejected)
        assert rejected.status_code == 400
        assert error["errorCode"] == {"requestError": "PAGE_SIZE_NOT_SUPPORTED"}
        assert error["location"] == {"fieldPathElements": [{"fieldName": "page_size"}]}
    assert client.search(LA, query=query, page_token="garbage").status_code == 400


def test_limit_and_search_stream(sandbox: GoogleAdsSandbox) -> None:
    client, query = Client(sandbox), f"{LEAD_QUERY} ORDER BY {LEAD}.submission_date_time DESC"
    limited = client.search(LA, query=query + " LIMIT 3",
                            searchSettings={"returnTotalResultsCount": True}).json()  # fmt: skip
    assert len(limited["results"]) == 3 and "nextPageToken" not in limited
    assert int(limited["totalResultsCount"]) == len(sandbox.dataset.submissions(LA))
    url = f"{sandbox.base_url}/v24/customers/{LA}/googleAds:searchStream"
    stream = client.http.post(url, json={"query": query}, timeout=10)
    batches = stream.json()
    assert isinstance(batches, list) and all(len(b["results"]) <= 7 for b in batches)
    assert all(b["requestId"] == stream.headers["request-id"] for b in batches)
    assert [r for b in batches for r in b["results"]] == client.rows(LA, query)
    assert client.http.post(url, json={"query": query, "pageToken": "x"}).status_code == 400


# -- spend ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("customer, login", [(LA, None), (KOLKATA, MANAGER_ID), (LONDON, None)])
def test_campaign_spend_per_day_matches_ground_truth(
    shared: GoogleAdsSandbox, customer: str, login: str | None
) -> None:
    rows = Client(shared).rows(customer, SPEND_QUERY.format("2026-10-01", "2026-11-30"), login)
    got = {(customer, r["campaign"]["id"], r["segments"]["date"]): r["metrics"] for r in rows}
    truth = {k: v for k, v in shared.dataset.cost_micros_by_campaign_day(customer).items()
             if "2026-10-01" <= k[2] <= "2026-11-30"}  # fmt: skip
    assert {k: int(v["costMicros"]) for k, v in got.items()} == truth
    assert all(isinstance(v["clicks"], str) and isinstance(v["impressions"], str)
               for v in got.values())  # fmt: skip
    last_local_day = (shared.dataset.anchor - timedelta(days=1)).astimezone(
        shared.dataset.customer(customer).tz).date().isoformat()  # fmt: skip
    assert max(k[2] for k in got) <= last_local_day


def test_spend_totals_during_and_date_rules(shared: GoogleAdsSandbox) -> None:
    client = Client(shared)
    totals = client.rows(LA, "SELECT campaign.id, metrics.cost_micros FROM campaign "
                             "WHERE segments.date DURING LAST_30_DAYS")  # fmt: skip
    today = shared.dataset.anchor.astimezone(ZoneInfo("America/Los_Angeles")).date()
    first, last = today - timedelta(days=30), today - timedelta(days=1)
    for row in totals:
        cid = row["campaign"]["id"]
        want = sum(v for (_c, campaign, day), v in shared.dataset.cost_micros_by_campaign_day(LA)
                   .items() if campaign == cid and str(first) <= day <= str(last))  # fmt: skip
        assert row["metrics"]["costMicros"] == str(want)
    no_range = client.search(
        LA, query="SELECT campaign.id, segments.date, metrics.clicks FROM campaign"
    )
    assert failure(no_range)["errorCode"] == {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"}
    manager = client.search(MANAGER_ID, query=SPEND_QUERY.format("2026-11-01", "2026-11-02"))
    assert failure(manager)["errorCode"] == {"queryError": "REQUESTED_METRICS_FOR_MANAGER"}


def test_customer_time_zones_and_clients(shared: GoogleAdsSandbox) -> None:
    client, query = (
        Client(shared),
        "SELECT customer.id, customer.time_zone, customer.currency_code FROM customer",
    )
    zones = {}
    for customer in (LA, KOLKATA, LONDON, AUCKLAND):
        login = MANAGER_ID if customer in (KOLKATA, AUCKLAND) else None
        (row,) = client.rows(customer, query, login)
        zones[row["customer"]["id"]] = (
            row["customer"]["timeZone"],
            row["customer"]["currencyCode"],
        )
    assert zones[LA] == ("America/Los_Angeles", "USD") and zones[KOLKATA] == ("Asia/Kolkata", "INR")
    listed = client.http.get(f"{shared.base_url}/v24/customers:listAccessibleCustomers").json()
    assert listed == {"resourceNames": [f"customers/{c}" for c in (MANAGER_ID, LA, LONDON)]}
    tree = client.rows(MANAGER_ID, "SELECT customer_client.id, customer_client.level, "
                                   "customer_client.time_zone FROM customer_client")  # fmt: skip
    assert {r["customerClient"]["id"] for r in tree} == {MANAGER_ID, LA, KOLKATA, AUCKLAND}


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("auth, code", [
    (None, "OAUTH_TOKEN_HEADER_INVALID"), ("Bearer wrong", "OAUTH_TOKEN_INVALID"),
    (f"Basic {TOKEN}", "OAUTH_TOKEN_HEADER_INVALID"),
])  # fmt: skip
def test_bad_credentials_get_401(shared: GoogleAdsSandbox, auth: str | None, code: str) -> None:
    headers = {"developer-token": DEV_TOKEN, **({"Authorization": auth} if auth else {})}
    url = f"{shared.base_url}/v24/customers/{LA}/googleAds:search"
    response = requests.post(url, json={"query": LEAD_QUERY}, headers=headers, timeout=5)
    assert response.status_code == 401 and response.json()["error"]["status"] == "UNAUTHENTICATED"
    assert failure(response)["errorCode"] == {"authenticationError": code}
    assert "Authorization" not in shared.requests[-1].headers


def test_expired_token_and_developer_token_modes(sandbox: GoogleAdsSandbox) -> None:
    client = Client(sandbox)
    sandbox.token_expired = True
    expired = client.search(LA, query=LEAD_QUERY)
    assert failure(expired)["errorCode"] == {"authenticationError": "OAUTH_TOKEN_EXPIRED"}
    sandbox.token_expired = False
    del client.http.headers["developer-token"]
    missing = client.search(LA, query=LEAD_QUERY)
    assert missing.status_code == 400
    assert failure(missing)["errorCode"] == {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"}
    sandbox.developer_token_mode = "ignore"
    assert client.search(LA, query=LEAD_QUERY).status_code == 200
    sandbox.developer_token_mode = "strict"
    client.http.headers["developer-token"] = "not-the-token"
    wrong = client.search(LA, query=LEAD_QUERY)
    assert wrong.status_code == 401
    assert failure(wrong)["errorCode"] == {"authenticationError": "DEVELOPER_TOKEN_INVALID"}


@pytest.mark.parametrize("customer, login, status, code", [
    (KOLKATA, None, 403, {"authorizationError": "USER_PERMISSION_DENIED"}),
    (LONDON, MANAGER_ID, 403,
     {"authorizationError": "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION"}),
    ("9999999999", None, 403, {"authorizationError": "USER_PERMISSION_DENIED"}),
    ("123-456-7890", None, 400, {"requestError": "INVALID_CUSTOMER_ID"}),
    (KOLKATA, "444-000-1111", 400, {"headerError": "INVALID_LOGIN_CUSTOMER_ID"}),
])  # fmt: skip
def test_customer_access_errors(
    shared: GoogleAdsSandbox, customer: str, login: str | None, status: int, code: dict[str, str]
) -> None:
    response = Client(shared).search(customer, login, query=LEAD_QUERY)
    assert response.status_code == status and failure(response)["errorCode"] == code


def test_quota_errors_carry_retry_delay_not_retry_after(sandbox: GoogleAdsSandbox) -> None:
    client = Client(sandbox)
    sandbox.push_quota_error(30, times=2)
    sandbox.push_quota_error(40591.5, kind="RESOURCE_EXHAUSTED")
    for scope, code, delay in [("ACCOUNT", "RESOURCE_TEMPORARILY_EXHAUSTED", "30s")] * 2 + [
        ("DEVELOPER", "RESOURCE_EXHAUSTED", "40591.500s")
    ]:
        response = client.search(LA, query=LEAD_QUERY)
        assert response.status_code == 429 and "Retry-After" not in response.headers
        assert response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        error = failure(response)
        assert error["errorCode"] == {"quotaError": code}
        details = error["details"]["quotaErrorDetails"]
        assert details["retryDelay"] == delay and details["rateScope"] == scope
    assert client.search(LA, query=LEAD_QUERY).status_code == 200


@pytest.mark.parametrize("query, code", [
    ("SELECT campaign.id FROM campaign WHERE campaign.nope = 1", "UNRECOGNIZED_FIELD"),
    ("campaign.id FROM campaign", "EXPECTED_SELECT"),
    ("SELECT campaign.id campaign", "EXPECTED_FROM"),
    ("SELECT campaign.id FROM campaign WHERE campaign.status = ACTIVE", "BAD_ENUM_CONSTANT"),
    ("SELECT campaign.id FROM campaign WHERE campaign.name = 'open", "STRING_NOT_TERMINATED"),
    ("SELECT campaign.id FROM campaign WHERE", "UNEXPECTED_END_OF_QUERY"),
    ("SELECT campaign.id FROM campaign ORDER campaign.id", "EXPECTED_BY"),
    ("SELECT campaign.id FROM unicorns", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
    (f"SELECT metrics.clicks FROM {LEAD}", "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"),
    (f"SELECT {LEAD}.id FROM {LEAD} WHERE {LEAD}.submission_date_time > '2026-11-20T08:00:00Z'",
     "BAD_VALUE"),
    ("SELECT segments.date FROM campaign WHERE segments.date >= '11/20/2026'", "INVALID_DATE_FORMAT"),
    ("SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_9_DAYS",
     "INVALID_VALUE_WITH_DURING_OPERATOR"),
])  # fmt: skip
def test_bad_gaql_gets_query_errors(shared: GoogleAdsSandbox, query: str, code: str) -> None:
    response = Client(shared).search(LA, query=query)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Request contains an invalid argument."
    assert failure(response)["errorCode"] == {"queryError": code}


def test_versions_and_unknown_paths(shared: GoogleAdsSandbox) -> None:
    for version, status in (("v23", 200), ("v26", 200), ("v22", 400), ("v99", 404)):
        response = Client(shared, version).search(LA, query=LEAD_QUERY + " LIMIT 1")
        assert response.status_code == status, version
    sunset = Client(shared, "v21").search(LA, query=LEAD_QUERY)
    assert failure(sunset)["errorCode"] == {"requestError": "UNSUPPORTED_VERSION"}
    assert "v21.errors.GoogleAdsFailure" in sunset.text
    missing = requests.get(f"{shared.base_url}/v24/customers/{LA}/campaigns", timeout=5)
    assert missing.status_code == 404 and "text/html" in missing.headers["Content-Type"]
    bad_json = Client(shared).http.post(
        f"{shared.base_url}/v24/customers/{LA}/googleAds:search", data=b"{nope", timeout=5
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["message"].startswith("Invalid JSON payload received.")
