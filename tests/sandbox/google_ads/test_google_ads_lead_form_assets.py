"""The sandbox serves lead form assets as the API documents them: ``FROM asset`` and as the
attributed resource ``asset`` of ``lead_form_submission_data``, nested messages nested."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from leadflow.sandbox.google_ads.app import GoogleAdsSandbox

TOKEN, DEV_TOKEN, LA = "sandbox-google-token", "sandbox-dev-token", "1234567890"
FORMS = "SELECT asset.id, asset.name, asset.lead_form_asset.headline FROM asset"


@pytest.fixture(scope="module")
def ads() -> Iterator[GoogleAdsSandbox]:
    with GoogleAdsSandbox() as sandbox:
        yield sandbox


def search(ads: GoogleAdsSandbox, query: str) -> requests.Response:
    return requests.post(
        f"{ads.base_url}/v24/customers/{LA}/googleAds:search",
        json={"query": query},
        headers={"Authorization": f"Bearer {TOKEN}", "developer-token": DEV_TOKEN},
        timeout=10,
    )


def rows(ads: GoogleAdsSandbox, query: str) -> list[dict[str, Any]]:
    response = search(ads, query)
    assert response.status_code == 200, response.text
    return response.json().get("results", [])


def test_lead_form_assets_are_served_from_asset(ads: GoogleAdsSandbox) -> None:
    campaigns = ads.dataset.campaigns_of(LA)
    found = rows(ads, f"{FORMS} WHERE asset.type = 'LEAD_FORM'")
    by_id = {row["asset"]["id"]: row["asset"] for row in found}
    assert set(by_id) == {c.asset_id for c in campaigns}  # int64 ids travel as strings
    for campaign in campaigns:
        asset = by_id[campaign.asset_id]
        assert asset["resourceName"] == f"customers/{LA}/assets/{campaign.asset_id}"
        assert set(asset["leadFormAsset"]) == {"headline"}  # only what was selected
        if campaign.form == "b2b":
            assert asset["name"] == "Request a demo - B2B"
        else:
            assert "name" not in asset  # an unset optional string is omitted
    everything = rows(ads, "SELECT asset.id, asset.type FROM asset")
    assert len(everything) == len(found) + 1  # the text asset the filter leaves out
    assert {row["asset"]["type"] for row in everything} == {"LEAD_FORM", "TEXT"}


def test_one_form_by_id_and_its_field_mask(ads: GoogleAdsSandbox) -> None:
    demo = next(c for c in ads.dataset.campaigns_of(LA) if c.form == "b2b")
    response = search(ads, f"{FORMS} WHERE asset.type = 'LEAD_FORM' AND asset.id = {demo.asset_id}")
    assert response.status_code == 200, response.text
    [row] = response.json()["results"]
    assert row["asset"]["leadFormAsset"]["headline"] == "Book a 30-minute Leadflow walkthrough"
    assert response.json()["fieldMask"] == "asset.id,asset.name,asset.leadFormAsset.headline"


def test_submissions_select_their_forms_asset_fields(ads: GoogleAdsSandbox) -> None:
    forms = {c.asset_id: c.form for c in ads.dataset.campaigns_of(LA)}
    query = ("SELECT lead_form_submission_data.id, lead_form_submission_data.asset, asset.name, "
             "asset.lead_form_asset.headline FROM lead_form_submission_data")  # fmt: skip
    found = rows(ads, query)
    assert len(found) == len(ads.dataset.submissions(LA))
    for row in found:
        asset = row["asset"]  # the form the submission names, joined by its resource name
        form = forms[row["leadFormSubmissionData"]["asset"].rsplit("/", 1)[-1]]
        assert asset.get("name") == ("Request a demo - B2B" if form == "b2b" else None)
        assert asset["leadFormAsset"]["headline"]
    named = rows(ads, f"{query} WHERE asset.name = 'Request a demo - B2B'")
    assert 0 < len(named) < len(found)


@pytest.mark.parametrize(
    "query, code",
    [
        ("SELECT campaign.id, asset.name FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        (f"{FORMS} WHERE asset.type = 'FORM'", "BAD_ENUM_CONSTANT"),
        ("SELECT asset.lead_form_asset.title FROM asset", "UNRECOGNIZED_FIELD"),
        ("SELECT asset.id, metrics.clicks FROM asset", "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"),
    ],
    ids=["not-attributed", "bad-enum", "unknown-field", "metric"],
)  # fmt: skip
def test_asset_query_errors(ads: GoogleAdsSandbox, query: str, code: str) -> None:
    response = search(ads, query)
    assert response.status_code == 400
    [error] = response.json()["error"]["details"][0]["errors"]
    assert error["errorCode"] == {"queryError": code}


def test_string_and_enum_equality_filters(ads: GoogleAdsSandbox) -> None:
    paused = rows(ads, "SELECT campaign.name FROM campaign WHERE campaign.status = 'PAUSED'")
    assert [r["campaign"]["name"] for r in paused] == ["Brand - Summer (paused)"]
    named = rows(ads, "SELECT campaign.id FROM campaign WHERE campaign.name > 'C'")
    assert len(named) == 1  # "Lead Gen - Search": strings compare, no date arithmetic
