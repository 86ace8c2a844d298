"""The Meta sandbox's Lead Ads over real HTTP: pages, forms and leads, fields, paging, filters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import graph_time, lead_timestamp, meta_dataset
from tests.sandbox.meta.graph_client import (
    AD_FIELDS,
    ALL_LEAD_FIELDS,
    GRAPH_TIME,
    TOKEN,
    Graph,
    error_of,
)


@pytest.fixture(scope="module")
def shared() -> Iterator[Graph]:
    with MetaSandbox() as meta:
        yield Graph(meta)


@pytest.fixture
def small() -> Iterator[Graph]:
    with MetaSandbox(meta_dataset(60)) as meta:
        yield Graph(meta)


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
