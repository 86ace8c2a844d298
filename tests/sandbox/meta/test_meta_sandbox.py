"""The Meta Graph API sandbox (Lead Ads + Ads Insights), exercised over real HTTP."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import graph_time, lead_timestamp, meta_dataset
from leadflow.sandbox.meta.errors import MetaRateLimits

TOKEN = "sandbox-meta-token"
GRAPH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")
DECIMAL = re.compile(r"^\d+(\.\d{1,2})?$")
AD_FIELDS = ("ad_id", "adset_id", "campaign_id")
ALL_LEAD_FIELDS = (
    "id,created_time,ad_id,adset_id,campaign_id,form_id,is_organic,platform,field_data"
)


class Graph:
    """A minimal client: Bearer token, JSON answers."""

    def __init__(self, meta: MetaSandbox) -> None:
        self.meta, self.http = meta, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.meta.url(path), params=params, timeout=10)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of an edge, following ``paging.next`` until it is absent."""
        page, rows = self.ok(path, **params), []
        while True:
            rows += page["data"]
            if "next" not in page.get("paging", {}):
                return rows
            page = self.http.get(page["paging"]["next"], timeout=10).json()


def error_of(response: requests.Response) -> dict[str, Any]:
    return response.json()["error"]


@pytest.fixture(scope="module")
def shared() -> Iterator[Graph]:
    with MetaSandbox() as meta:
        yield Graph(meta)


@pytest.fixture
def small() -> Iterator[Graph]:
    with MetaSandbox(meta_dataset(60)) as meta:
        yield Graph(meta)


# -- data ----------------------------------------------------------------------------------------
def test_dataset_is_deterministic_and_messy() -> None:
    data = meta_dataset()
    assert data == meta_dataset() and data != meta_dataset(seed=12)
    assert len(data.leads) == 603 and len(data.test_lead_ids) == 3
    assert all(GRAPH_TIME.match(lead["created_time"]) for lead in data.leads)
    assert [lead["created_time"] for lead in data.leads] == sorted(
        lead["created_time"] for lead in data.leads
    )
    organic = data.organic_leads()
    assert 0.10 < len(organic) / len(data.leads) < 0.20
    assert all(not any(f in lead for f in AD_FIELDS) for lead in organic)
    tests = [lead for lead in data.leads if lead["id"] in data.test_lead_ids]
    assert all(not lead["is_organic"] and "ad_id" not in lead for lead in tests)
    assert {"test@meta.com"} == {
        v["values"][0] for t in tests for v in t["field_data"] if v["name"] == "email"
    }
    values = defaultdict(list)
    for lead in data.leads:
        for answer in lead["field_data"]:
            values[answer["name"]].append(answer["values"][0])
    assert any(e.isupper() for e in values["email"]) and any(
        e != e.strip() for e in values["email"]
    )
    assert any(p.startswith("(") for p in values["phone_number"])  # US national format
    assert any(p.startswith("0") for p in values["phone_number"])  # GB/FR/AU national format
    assert "what_is_your_budget?" in values and "GB" in values["country"]
    phone_forms = {f.id for f in data.forms if "phone_number" in f.questions}
    assert any(lead["form_id"] in phone_forms and "phone_number" not in str(lead["field_data"])
               for lead in data.leads if lead["id"] not in data.test_lead_ids)  # fmt: skip
    assert data.forms[2].name.startswith("Newsletter")  # an organic-only form: no ad uses it
    assert not any(ad.form_id == data.forms[2].id for ad in data.ads)
    spend = data.spend_by_campaign_day()
    assert all(value > 0 for value in spend.values()) and len(spend) > 400


# -- auth, versions, routing ------------------------------------------------------------------
def test_auth_errors(small: Graph) -> None:
    url = small.meta.url(f"/{small.meta.dataset.forms[0].id}/leads")
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 400 and error_of(missing)["code"] == 104
    wrong = requests.get(url, params={"access_token": "nope"}, timeout=5)
    body = error_of(wrong)
    assert wrong.status_code == 400 and body["type"] == "OAuthException" and body["code"] == 190
    assert body["fbtrace_id"] and "error_subcode" not in body
    assert wrong.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform" "invalid_token"')
    assert requests.get(url, params={"access_token": TOKEN}, timeout=5).status_code == 200
    small.meta.token_expired = True
    expired = small.get(f"/{small.meta.dataset.forms[0].id}/leads")
    assert (error_of(expired)["code"], error_of(expired)["error_subcode"]) == (190, 463)
    assert error_of(expired)["message"].startswith(
        "Error validating access token: Session has expired on"
    )
    assert all("authorization" not in {h.lower() for h in r.headers} for r in small.meta.requests)


def test_versions(small: Graph) -> None:
    meta, page = small.meta, small.meta.dataset.pages[0].id
    auth = {"access_token": TOKEN}
    current = requests.get(meta.url(f"/{page}", 26), params=auth, timeout=5)
    assert current.headers["facebook-api-version"] == "v26.0" and current.json()["id"] == page
    for path in (f"/{page}", f"/v19.0/{page}"):  # unversioned or expired: the oldest available
        served = requests.get(meta.base_url + path, params=auth, timeout=5)
        assert served.status_code == 200 and served.headers["facebook-api-version"] == "v21.0"
    ads = requests.get(
        meta.url(f"/act_{meta.dataset.ad_accounts[0].id}", 19), params=auth, timeout=5
    )
    assert error_of(ads)["code"] == 2635
    future = requests.get(meta.url(f"/{page}", 99), params=auth, timeout=5)
    assert (
        error_of(future)["code"] == 2500
        and "Unknown path components" in error_of(future)["message"]
    )


def test_unknown_objects_edges_and_fields(small: Graph) -> None:
    nothing = error_of(small.get("/123456789"))
    assert (nothing["code"], nothing["error_subcode"], nothing["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
    page = small.meta.dataset.pages[0].id
    edge = error_of(small.get(f"/{page}/leads"))
    assert edge["message"] == "(#100) Tried accessing nonexisting field (leads) on node type (Page)"
    field = error_of(small.get(f"/{small.meta.dataset.forms[0].id}/leads", fields="id,ad_idd"))
    assert (
        field["message"] == "(#100) Tried accessing nonexisting field (ad_idd) on node type (Lead)"
    )
    assert error_of(small.get("/me/adaccounts"))["code"] == 2500


# -- lead ads -----------------------------------------------------------------------------------
def test_pages_forms_leads_enumeration_reaches_organic_leads(shared: Graph) -> None:
    data, seen = shared.meta.dataset, {}
    for page in data.pages:
        forms = shared.all(
            f"/{page.id}/leadgen_forms", fields="id,name,status,leads_count,created_time", limit=2
        )
        for form in forms:
            assert GRAPH_TIME.match(form["created_time"])
            leads = shared.all(f"/{form['id']}/leads", fields=ALL_LEAD_FIELDS, limit=100)
            assert len(leads) == form["leads_count"]
            seen.update({lead["id"]: lead for lead in leads})
    assert set(seen) == {lead["id"] for lead in data.leads}
    organic = [lead for lead in seen.values() if lead["is_organic"]]
    assert {lead["id"] for lead in organic} == {lead["id"] for lead in data.organic_leads()}
    assert all(not any(f in lead for f in AD_FIELDS) for lead in organic)
    by_ads = {lead["id"] for ad in data.ads for lead in shared.all(f"/{ad.id}/leads", limit=100)}
    assert by_ads < set(seen) and not by_ads & {lead["id"] for lead in organic}


def test_default_fields_lack_ad_and_campaign_ids(shared: Graph) -> None:
    form = shared.meta.dataset.forms[0]
    leads = shared.ok(f"/{form.id}/leads")["data"]
    assert len(leads) == 25  # default limit
    assert all(set(lead) == {"created_time", "id", "field_data"} for lead in leads)
    forms = shared.ok(f"/{form.page_id}/leadgen_forms")["data"]
    assert all(set(f) == {"id", "locale", "name", "status"} for f in forms)
    picked = shared.ok(f"/{form.id}/leads", fields="is_organic,campaign_id", limit=100)["data"]
    assert all(set(lead) <= {"is_organic", "campaign_id", "id"} and "id" in lead for lead in picked)
    assert any("campaign_id" not in lead for lead in picked if lead["is_organic"])


def test_paging_follows_next_as_is_newest_first(shared: Graph) -> None:
    form = shared.meta.dataset.forms[0]
    url = shared.meta.url(f"/{form.id}/leads")
    page = requests.get(
        url, params={"access_token": TOKEN, "limit": 7, "fields": "id,created_time"}, timeout=5
    ).json()
    ids, times, pages = [], [], 0
    while True:
        pages += 1
        ids += [lead["id"] for lead in page["data"]]
        times += [lead["created_time"] for lead in page["data"]]
        assert set(page["paging"]["cursors"]) == {"before", "after"}
        if "next" not in page["paging"]:
            break
        assert "access_token=" in page["paging"]["next"] and "fields=" in page["paging"]["next"]
        page = requests.get(page["paging"]["next"], timeout=5).json()  # no header: URL as is
    expected = shared.meta.dataset.leads_for_form(form.id)
    assert sorted(ids) == sorted(lead["id"] for lead in expected) and len(set(ids)) == len(ids)
    assert times == sorted(times, reverse=True) and pages == -(-len(expected) // 7)
    second = shared.ok(
        f"/{form.id}/leads",
        limit=7,
        after=shared.ok(f"/{form.id}/leads", limit=7)["paging"]["cursors"]["after"],
    )
    back = shared.http.get(second["paging"]["previous"], timeout=5).json()
    assert [lead["id"] for lead in back["data"]] == ids[:7]
    assert error_of(shared.get(f"/{form.id}/leads", after="%%%"))["code"] == 2642


def test_limit_default_cap_and_validation(shared: Graph) -> None:
    form = shared.meta.dataset.forms[0]
    capped = shared.ok(f"/{form.id}/leads", limit=500)
    assert len(capped["data"]) == 100 and "next" in capped["paging"]  # capped, not an error
    assert "limit=100" in capped["paging"]["next"]
    assert error_of(shared.get(f"/{form.id}/leads", limit="ten"))["code"] == 100


def test_filtering_on_time_created(shared: Graph) -> None:
    form = shared.meta.dataset.forms[0]
    stored = sorted(lead_timestamp(lead) for lead in shared.meta.dataset.leads_for_form(form.id))
    pivot = stored[len(stored) // 2]
    for operator, keep in (("GREATER_THAN", lambda t: t > pivot), ("LESS_THAN", lambda t: t < pivot),
                           ("GREATER_THAN_OR_EQUAL", lambda t: t >= pivot)):  # fmt: skip
        spec = json.dumps([{"field": "time_created", "operator": operator, "value": pivot}])
        leads = shared.all(f"/{form.id}/leads", filtering=spec, fields="created_time", limit=50)
        assert len(leads) == len([t for t in stored if keep(t)])
        assert all(keep(lead_timestamp(lead)) for lead in leads)
    both = [{"field": "time_created", "operator": "GREATER_THAN", "value": str(stored[0])},
            {"field": "time_created", "operator": "LESS_THAN", "value": stored[-1]}]  # fmt: skip
    assert (
        len(shared.all(f"/{form.id}/leads", filtering=json.dumps(both), limit=100))
        == len(stored) - 2
    )
    for bad in ("not json", '{"field": "time_created"}', '[{"field": "time_created", "operator": "AFTER", "value": 1}]',
                '[{"field": "ad_id", "operator": "GREATER_THAN", "value": 1}]',
                '[{"field": "time_created", "operator": "GREATER_THAN", "value": "2026-11-01"}]'):  # fmt: skip
        response = shared.get(f"/{form.id}/leads", filtering=bad)
        assert response.status_code == 400 and error_of(response)["code"] == 100, bad


def test_lead_node_disclaimers_and_added_leads(small: Graph) -> None:
    data = small.meta.dataset
    form = data.forms[0]
    lead = data.leads_for_form(form.id)[0]
    assert set(small.ok(f"/{lead['id']}")) == {"created_time", "id", "field_data"}
    consent = small.ok(f"/{lead['id']}", fields="custom_disclaimer_responses")
    assert consent["custom_disclaimer_responses"][0]["checkbox_key"] == "optional_1"
    before = small.ok(f"/{form.id}", fields="leads_count,organic_leads_count")
    since = int(data.anchor.timestamp())
    added = small.meta.add_lead(
        form.id, person_index=7, created_time=data.anchor + timedelta(hours=2)
    )
    organic = small.meta.add_lead(
        form.id, organic=True, created_time=data.anchor + timedelta(hours=1)
    )
    assert "campaign_id" in added and "ad_id" not in organic and organic["is_organic"]
    spec = json.dumps([{"field": "time_created", "operator": "GREATER_THAN", "value": since}])
    fresh = small.ok(f"/{form.id}/leads", filtering=spec, fields="id,is_organic")["data"]
    assert [row["id"] for row in fresh] == [added["id"], organic["id"]]  # newest first
    after = small.ok(f"/{form.id}", fields="leads_count,organic_leads_count")
    assert after["leads_count"] == before["leads_count"] + 2
    assert after["organic_leads_count"] == before["organic_leads_count"] + 1
    assert added["created_time"] == graph_time(data.anchor + timedelta(hours=2))


# -- insights ----------------------------------------------------------------------------------
def test_insights_daily_campaign_spend_matches_dataset(shared: Graph) -> None:
    data = shared.meta.dataset
    account = data.ad_accounts[0]
    since, until = date(2026, 10, 1), date(2026, 11, 25)
    rows = shared.all(
        f"/act_{account.id}/insights", level="campaign", time_increment=1, limit=50,
        fields="campaign_id,campaign_name,spend,impressions,clicks,date_start,date_stop",
        time_range=json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
    )  # fmt: skip
    assert all(row["date_start"] == row["date_stop"] for row in rows)
    assert all(isinstance(row[m], str) for row in rows for m in ("spend", "impressions", "clicks"))
    assert all(DECIMAL.match(row["spend"]) for row in rows)
    got = {(row["campaign_id"], row["date_start"]): Decimal(row["spend"]) for row in rows}
    campaigns = {c.id for c in data.campaigns if c.account_id == account.id}
    expected = {key: value for key, value in data.spend_by_campaign_day().items()
                if key[0] in campaigns and since.isoformat() <= key[1] <= until.isoformat()}  # fmt: skip
    assert got == expected and len(rows) == len(expected)
    total = shared.ok(
        f"/act_{account.id}/insights", time_range=f"{{'since':'{since}','until':'{until}'}}"
    )
    assert set(total["data"][0]) == {
        "account_id",
        "impressions",
        "spend",
        "date_start",
        "date_stop",
    }
    assert Decimal(total["data"][0]["spend"]) == sum(expected.values())
    weekly = shared.all(f"/act_{account.id}/insights", level="campaign", time_increment=7,
                        time_range=json.dumps({"since": "2026-11-01", "until": "2026-11-20"}))  # fmt: skip
    assert {(r["date_start"], r["date_stop"]) for r in weekly} == {
        ("2026-11-01", "2026-11-07"),
        ("2026-11-08", "2026-11-14"),
        ("2026-11-15", "2026-11-20"),
    }


def test_ad_account_and_insights_errors(shared: Graph) -> None:
    account = shared.meta.dataset.ad_accounts[1]
    node = shared.ok(f"/act_{account.id}", fields="currency,timezone_name,name")
    assert node == {
        "currency": "GBP",
        "timezone_name": "Europe/London",
        "name": account.name,
        "id": f"act_{account.id}",
    }
    path = f"/act_{account.id}/insights"
    assert error_of(shared.get(path, time_range="2026-11-01"))["code"] == 100
    assert (
        error_of(shared.get(path, time_range='{"since":"2022-01-01","until":"2022-01-02"}'))["code"]
        == 3018
    )
    assert error_of(shared.get(path, level="creative"))["code"] == 100
    assert error_of(shared.get(path, fields="spend,roas"))["message"].endswith(
        "on node type (AdsInsights)"
    )
    unknown = error_of(shared.get("/act_999/insights"))
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)


# -- errors, throttling, usage headers ---------------------------------------------------------
def test_usage_headers_on_normal_responses(shared: Graph) -> None:
    data = shared.meta.dataset
    leads = shared.get(f"/{data.forms[3].id}/leads")
    usage = json.loads(leads.headers["X-Business-Use-Case-Usage"])
    assert (
        list(usage) == [data.forms[3].page_id]
        and usage[data.forms[3].page_id][0]["type"] == "leadgen"
    )
    assert set(json.loads(leads.headers["X-App-Usage"])) == {
        "call_count",
        "total_cputime",
        "total_time",
    }
    insights = shared.get(f"/act_{data.ad_accounts[0].id}/insights")
    assert (
        json.loads(insights.headers["X-Business-Use-Case-Usage"])[data.ad_accounts[0].id][0]["type"]
        == "ads_insights"
    )
    assert {"acc_id_util_pct", "reset_time_duration"} <= set(
        json.loads(insights.headers["X-Ad-Account-Usage"])
    )
    assert "app_id_util_pct" in json.loads(insights.headers["X-FB-Ads-Insights-Throttle"])


def test_forced_errors_bodies_and_headers(small: Graph) -> None:
    meta, data = small.meta, small.meta.dataset
    form_path, insights_path = (
        f"/{data.forms[0].id}/leads",
        f"/act_{data.ad_accounts[0].id}/insights",
    )
    meta.push_error(17, times=2)
    for _ in range(2):
        limited = small.get(form_path)
        body = error_of(limited)
        assert limited.status_code == 400 and (body["code"], body["is_transient"]) == (17, True)
        assert (
            body["message"] == "(#17) User request limit reached"
            and "X-App-Usage" in limited.headers
        )
    meta.push_error(80004, regain_minutes=7, path="/insights$")
    assert small.get(form_path).status_code == 200  # path filter: leads unaffected
    throttled = small.get(insights_path)
    body = error_of(throttled)
    assert (body["code"], body["error_subcode"], body["type"]) == (80004, 2446079, "OAuthException")
    assert body["message"].startswith("(#80004) There have been too many calls to this ad-account.")
    buc = json.loads(throttled.headers["X-Business-Use-Case-Usage"])[data.ad_accounts[0].id][0]
    assert buc["type"] == "ads_management" and buc["estimated_time_to_regain_access"] == 7
    assert buc["call_count"] >= 100 and "X-Ad-Account-Usage" in throttled.headers
    meta.push_error(2)
    transient = small.get(form_path)
    assert transient.status_code == 500 and error_of(transient)["is_transient"] is True
    meta.push_error(190, 460)
    assert (error_of(small.get(form_path))["error_subcode"]) == 460
    meta.push_error(80005, message="custom", user_title="Slow down", user_msg="Try later")
    custom = error_of(small.get(form_path))
    assert (custom["message"], custom["error_user_title"], custom["error_user_msg"]) == (
        "custom",
        "Slow down",
        "Try later",
    )
    assert small.get(form_path).status_code == 200


def test_real_rate_limits() -> None:
    limits = MetaRateLimits(leadgen_calls=3, app_calls=6, window_seconds=60)
    with MetaSandbox(meta_dataset(20), rate_limits=limits) as meta:
        graph, form = Graph(meta), meta.dataset.forms[0]
        statuses = [graph.get(f"/{form.id}/leads").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 400]
        limited = graph.get(f"/{form.id}/leads")
        assert error_of(limited)["code"] == 80005
        buc = json.loads(limited.headers["X-Business-Use-Case-Usage"])[form.page_id][0]
        assert buc["type"] == "leadgen" and buc["call_count"] > 100
        assert buc["estimated_time_to_regain_access"] == 1
        other_page = meta.dataset.forms[5]
        assert graph.get(f"/{other_page.id}/leads").status_code == 200  # its own Page budget
        app = graph.get(f"/act_{meta.dataset.ad_accounts[0].id}")  # 7th call: app budget spent
        assert (
            error_of(app)["code"] == 4
            and json.loads(app.headers["X-App-Usage"])["call_count"] > 100
        )
    fast = MetaRateLimits(insights_calls=1, window_seconds=0.3)
    with MetaSandbox(meta_dataset(5), rate_limits=fast) as meta:
        graph, path = Graph(meta), f"/act_{meta.dataset.ad_accounts[0].id}/insights"
        assert graph.get(path).status_code == 200
        throttled = error_of(graph.get(path))
        assert (throttled["code"], throttled["error_subcode"]) == (80000, 2446079)
        time.sleep(0.35)
        assert graph.get(path).status_code == 200


def test_created_times_are_utc_and_anchor_bounded() -> None:
    data = meta_dataset(50)
    oldest = datetime.timestamp(data.anchor - timedelta(days=90))
    assert all(oldest <= lead_timestamp(lead) < data.anchor.timestamp() for lead in data.leads)
