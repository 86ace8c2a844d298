"""A Google Ads lead form webhook body, read as the lead it carries.

Docs followed: https://developers.google.com/google-ads/webhook/docs/implementation
(``WebhookLead``: ``lead_id`` "use this to dedupe leads", ``user_column_data`` =
``[{column_id, string_value, column_name?}]`` where ``column_id`` is the field type such as
``FULL_NAME`` and ``column_name`` "might not always be populated", ``api_version``,
``form_id``, ``campaign_id``, ``adgroup_id``, ``creative_id`` (int64), ``gcl_id``,
``google_key`` (the key the advertiser set on the form, to check), ``is_test``; newer
payloads add ``lead_submit_time`` in ISO 8601 and ``lead_stage``; unknown fields are to be
ignored). The handler answers 200 with an empty body.

The body carries no customer id: the customer comes from leadflow's configuration, and the
lead is keyed ``customers/{cid}/leadFormSubmissionData/{lead_id}``, the resource name the
nightly poll (``lead_form_submission_data``) keys it by, so both copies are one lead. The
submission time is ``lead_submit_time`` when sent, else the time leadflow received the
notification, recorded under ``custom_fields.submission_time_source``. The body is mapped
through the poll's own mapping (``fields.to_lead``) after being rewritten as a search row.

``form_id`` is the lead form's asset id; the body has no form name. When the intake names a
google_ads source, ``form_asset`` reads the form (``asset.name``, else its
``lead_form_asset.headline``) with GAQL once per form per process, and it joins the row as the
poll's ``asset`` does, so the lead carries ``custom_fields.form_name`` at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from leadflow.connectors.base import LeadContext, strict_to_lead
from leadflow.connectors.google_ads.connector import GoogleAdsClient, lead_form
from leadflow.connectors.google_ads.fields import ROW_KEY, SOURCE, record_key, to_lead
from leadflow.models.records.contact import parse_timestamp
from leadflow.models.records.leads import InvalidRecord, Lead

KEY_FIELD = "google_key"
# A field type (FULL_NAME, WORK_EMAIL...), as opposed to a custom question's id.
_FIELD_TYPE = re.compile(r"[A-Z][A-Z0-9_]*")
RECEIVED_AT = "receive time"
SUBMITTED_AT = "lead_submit_time"
_MAP = strict_to_lead(SOURCE, to_lead, record_key)
# (API host, customer, form id) -> the form's asset (None: the customer has no such form).
_FORMS: dict[tuple[str, str, str], dict[str, Any] | None] = {}


def lead_id(body: Mapping[str, Any]) -> str | None:
    """The notification's key: ``lead_id``, or None when it has none."""
    value = body.get("lead_id")
    return str(value).strip() or None if value not in (None, "") else None


def without_key(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body as stored: ``google_key`` (a shared secret) left out."""
    return {name: value for name, value in body.items() if name != KEY_FIELD}


def without_answers(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body once its lead is loaded: the answers (personal data) left out."""
    return {name: value for name, value in body.items() if name != "user_column_data"}


def form_asset(
    client: GoogleAdsClient, customer_id: str, body: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The lead form asset the body's ``form_id`` names, read once per form per process (a
    failed read raises ``ConnectorError`` and is not remembered)."""
    form = str(body.get("form_id") or "").strip()
    if not form.isdigit():
        return None
    key = (client.config.base_url, customer_id, form)
    if key not in _FORMS:
        _FORMS[key] = lead_form(client, customer_id, form)
    return _FORMS[key]


def resource_name(customer_id: str, lead: str) -> str:
    return f"customers/{customer_id}/leadFormSubmissionData/{lead}"


def _submitted(body: Mapping[str, Any], received_at: datetime) -> tuple[datetime, str]:
    value = body.get("lead_submit_time")
    if value in (None, ""):
        return received_at, RECEIVED_AT
    try:
        return parse_timestamp(value), SUBMITTED_AT
    except ValueError:
        return received_at, RECEIVED_AT


def _fields(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``user_column_data`` as the search row's predefined and custom answers."""
    predefined, custom = [], []
    for item in body.get("user_column_data") or ():
        if not isinstance(item, Mapping):
            continue
        column, value = str(item.get("column_id") or ""), item.get("string_value")
        if _FIELD_TYPE.fullmatch(column):
            predefined.append({"fieldType": column, "fieldValue": value})
        else:
            question = item.get("column_name") or column or "unnamed question"
            custom.append({"questionText": question, "fieldValue": value})
    return predefined, custom


def search_row(body: Mapping[str, Any], customer_id: str, received_at: datetime) -> dict[str, Any]:
    """The webhook body rewritten as a ``lead_form_submission_data`` search row."""
    key = lead_id(body)
    if key is None:
        raise InvalidRecord(SOURCE, None, "lead_id", "missing")
    submitted, origin = _submitted(body, received_at)
    base = f"customers/{customer_id}"

    def name(kind: str, field: str) -> str | None:
        value = body.get(field)
        return f"{base}/{kind}/{value}" if value not in (None, "") else None

    ad_group, creative = body.get("adgroup_id"), body.get("creative_id")
    predefined, custom = _fields(body)
    row = {
        "resourceName": resource_name(customer_id, key),
        "id": key,
        "asset": name("assets", "form_id"),
        "campaign": name("campaigns", "campaign_id"),
        "adGroup": name("adGroups", "adgroup_id"),
        "adGroupAd": f"{base}/adGroupAds/{ad_group}~{creative}" if ad_group and creative else None,
        "gclid": body.get("gcl_id") or None,
        "submissionDateTime": submitted.astimezone(UTC).isoformat(" ", "seconds"),
        "leadFormSubmissionFields": predefined,
        "customLeadFormSubmissionFields": custom,
    }
    return {ROW_KEY: {k: v for k, v in row.items() if v is not None}, "webhook": {
        "submission_time_source": origin, "is_test": bool(body.get("is_test")),
        "api_version": body.get("api_version"),
    }}  # fmt: skip


def to_webhook_lead(
    body: Mapping[str, Any],
    customer_id: str,
    received_at: datetime,
    default_region: str | None,
    asset: Mapping[str, Any] | None = None,
) -> Lead:
    """The lead of a webhook body, mapped by the poll's mapping; ``is_test`` flags it.
    ``asset``: the form's asset (``form_asset``), joined as the poll's search row has it."""
    row = search_row(body, customer_id, received_at)
    context = LeadContext(SOURCE, customer_id, default_region)
    lead = _MAP({ROW_KEY: row[ROW_KEY], **({"asset": dict(asset)} if asset else {})}, context)
    origin = row["webhook"]["submission_time_source"]
    custom = {**lead.custom_fields, "submission_time_source": origin}
    return replace(lead, is_test=row["webhook"]["is_test"], custom_fields=custom)
