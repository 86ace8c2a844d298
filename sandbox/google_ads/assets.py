"""The sandbox's lead form assets: the forms its campaigns' leads are submitted on.

Docs used:
* https://developers.google.com/google-ads/api/reference/rpc/v24/Asset (``resource_name``
  ``customers/{customer_id}/assets/{asset_id}``, ``id``, ``name`` "optional name of the asset",
  ``type``)
* https://developers.google.com/google-ads/api/reference/rpc/v24/LeadFormAsset (required
  ``business_name``, ``headline`` "headline of the expanded form to describe what the form is
  asking for or facilitating", ``description``, ``call_to_action_description``)
* https://developers.google.com/google-ads/api/fields/v24/lead_form_submission_data (asset is an
  attributed resource: its fields are selectable with each submission)

Every campaign has its own lead form asset (``Campaign.asset_id``), named after the campaign's
form kind. The contact form has no name (the field is optional), so only its headline tells
what it is; each customer also has one text asset, which ``asset.type = 'LEAD_FORM'`` leaves
out. Rows are flat ``"resource.field" -> value`` as the rest of the sandbox's GAQL rows.
"""

from __future__ import annotations

from typing import Any

from leadflow.sandbox.google_ads.data import GoogleAdsDataset

# form kind (data.FORMS) -> (asset name or "", headline, description, call-to-action text)
LEAD_FORMS: dict[str, tuple[str, str, str, str]] = {
    "contact": ("", "Get a call back from our team",
                "Leave your details and we call you within one business day.",
                "Tell us what you need"),
    "b2b": ("Request a demo - B2B", "Book a 30-minute Leadflow walkthrough",
            "See lead routing and CRM sync on your own data.", "Get your personal walkthrough"),
}  # fmt: skip
TEXT_ASSET_ID = "90000000001"


def asset_rows(dataset: GoogleAdsDataset, customer_id: str) -> list[dict[str, Any]]:
    """The customer's assets: one lead form per campaign, and one text asset."""
    base = dataset.customer_row(customer_id)
    business = dataset.customer(customer_id).name
    rows = [{**base, **_asset(customer_id, TEXT_ASSET_ID, "Free shipping sitelink text", "TEXT")}]
    for campaign in dataset.campaigns_of(customer_id):
        name, headline, description, call = LEAD_FORMS[campaign.form]
        row = _asset(customer_id, campaign.asset_id, name, "LEAD_FORM")
        row.update({f"asset.lead_form_asset.{field}": value for field, value in (
            ("headline", headline), ("business_name", business), ("description", description),
            ("call_to_action_description", call))})  # fmt: skip
        rows.append({**base, **row})
    return rows


def with_assets(
    dataset: GoogleAdsDataset, customer_id: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Lead rows with their form's ``asset.*`` fields (the attributed resource) joined in."""
    by_name = {
        row["asset.resource_name"]: {k: v for k, v in row.items() if k.startswith("asset.")}
        for row in asset_rows(dataset, customer_id)
    }
    return [{**row, **by_name.get(row["lead_form_submission_data.asset"], {})} for row in rows]


def _asset(customer_id: str, asset_id: str, name: str, kind: str) -> dict[str, Any]:
    return {
        "asset.resource_name": f"customers/{customer_id}/assets/{asset_id}",
        "asset.id": int(asset_id),
        "asset.name": name,
        "asset.type": kind,
    }
