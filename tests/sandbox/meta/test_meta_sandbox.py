"""The Meta Graph API sandbox over real HTTP: its data, auth, versions and routing, and its
errors, throttling and usage headers (Lead Ads and Insights have their own modules)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import lead_timestamp, meta_dataset
from leadflow.sandbox.meta.errors import MetaRateLimits
from tests.sandbox.meta.graph_client import AD_FIELDS, GRAPH_TIME, TOKEN, Graph, error_of


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
    # 600 drawn, 3 from the Lead Ads Testing Tool, 3 by people abroad (sandbox.abroad)
    assert len(data.leads) == 606 and len(data.test_lead_ids) == 3
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
