"""The lead form's name reaches a Google lead: selected with each submission (asset is an
attributed resource of lead_form_submission_data), the asset's name else its headline."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.google_ads.connector import lead_form, open_session
from leadflow.connectors.google_ads.fields import form_name, lead_query, to_lead
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from tests.connectors.google_ads.support import (
    LA,
    ROW,
    config,
    no_sleep,
    read,
    records_of,
    searches,
)

CONTEXT = LeadContext("google_ads", LA, "US")


def _row(asset: dict[str, Any] | None) -> dict[str, Any]:
    """A search row as Google's REST search returns it for the connector's query."""
    row: dict[str, Any] = {
        ROW: {
            "resourceName": "customers/1234567890/leadFormSubmissionData/Cj0KCQ-lead-1",
            "id": "Cj0KCQ-lead-1",
            "asset": "customers/1234567890/assets/7844179405",
            "campaign": "customers/1234567890/campaigns/9876543210",
            "submissionDateTime": "2026-11-19 09:15:00-08:00",
            "leadFormSubmissionFields": [
                {"fieldType": "FULL_NAME", "fieldValue": "Ada Lovelace"},
                {"fieldType": "WORK_EMAIL", "fieldValue": "ada@analytical.example"},
            ],
        },
        "campaign": {"resourceName": "customers/1234567890/campaigns/9876543210",
                     "name": "B2B Demo Requests"},
    }  # fmt: skip
    if asset is not None:
        row["asset"] = {"resourceName": "customers/1234567890/assets/7844179405", **asset}
    return row


@pytest.mark.parametrize(
    "asset, expected",
    [
        ({"name": "Request a demo", "leadFormAsset": {"headline": "Book a walkthrough"}},
         "Request a demo"),
        ({"leadFormAsset": {"headline": "Book a walkthrough"}}, "Book a walkthrough"),
        ({"name": "  ", "leadFormAsset": {"headline": " Get pricing "}}, "Get pricing"),
    ],
    ids=["name", "no-name-headline", "blank-name-headline"],
)  # fmt: skip
def test_the_form_name_is_the_asset_name_else_its_headline(asset: dict, expected: str) -> None:
    lead = to_lead(_row(asset), CONTEXT)
    assert lead.custom_fields["form_name"] == expected
    assert lead.form_id == "7844179405" and lead.campaign_name == "B2B Demo Requests"


def test_a_row_without_the_asset_fields_has_no_form_name() -> None:
    assert "form_name" not in to_lead(_row(None), CONTEXT).custom_fields
    assert form_name({"leadFormAsset": {}}) is None and form_name("not an object") is None


def test_the_lead_query_selects_the_form_name_and_headline() -> None:
    query = lead_query("2026-11-01 00:00:00")
    assert ", asset.name, asset.lead_form_asset.headline FROM lead_form_submission_data" in query


def test_polled_leads_carry_their_forms_name(sandbox: GoogleAdsSandbox) -> None:
    campaigns = {c.id: c for c in sandbox.dataset.campaigns_of(LA)}
    leads = [to_lead(r, CONTEXT) for r in records_of(read(sandbox, LA))]
    assert leads
    by_form = {campaigns[lead.campaign_id].form: lead.custom_fields["form_name"] for lead in leads}
    assert by_form == {"b2b": "Request a demo - B2B", "contact": "Get a call back from our team"}


def test_lead_form_reads_one_form_by_asset_id(sandbox: GoogleAdsSandbox) -> None:
    demo = next(c for c in sandbox.dataset.campaigns_of(LA) if c.form == "b2b")
    client = open_session(config(sandbox), sleep=no_sleep)
    try:
        asset = lead_form(client, LA, demo.asset_id)
        assert lead_form(client, LA, "424242") is None  # no such form
        assert lead_form(client, LA, "90000000001") is None  # a text asset, not a lead form
        assert lead_form(client, LA, "../1") is None  # not an id: no request
    finally:
        client.close()
    assert asset is not None and form_name(asset) == "Request a demo - B2B"
    assert asset["leadFormAsset"]["headline"] and str(asset["id"]) == demo.asset_id
    assert len(searches(sandbox, "FROM asset")) == 3
