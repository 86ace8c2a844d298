"""Salesforce Lead records as canonical Leads.

Docs followed: the Lead object,
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm
(``Status`` picklist, ``LeadSource``, ``IsConverted``, ``ConvertedDate``,
``ConvertedContactId``, ``OwnerId`` a User or a Queue); dateTime values as the REST API
writes them, ``2013-05-20T20:49:32.000+0000``
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm).

Mapping decisions:
- ``updated_at`` is ``SystemModstamp`` (the sync's cursor), ``created_at`` ``CreatedDate``.
- ``Status`` is the lead status, kept in ``custom_fields`` as HubSpot keeps
  ``hs_lead_status`` there; ``source_stage`` stays empty: a Lead has no lifecycle stage
  (its stages are the status path, then conversion).
- ``LeadSource`` (Web, Phone Inquiry, Partner Referral...) is the org's own picklist, not a
  UTM value, so it is kept in ``custom_fields`` rather than ``utm_source`` (whose BI views
  group by what a link was tagged with); a real UTM field of the org can be read with
  ``lead_fields`` (kept in ``custom_fields`` too).
- Conversion: ``IsConverted`` and ``ConvertedDate`` in ``custom_fields``;
  ``ConvertedContactId`` is ``contact_id`` (identity joins leads sharing it).
- ``campaign_id``/``campaign_name``: the lead's first CampaignMember (``campaign``, attached
  by ``leadflow.connectors.salesforce.campaigns``).
- Read only when named in ``lead_fields`` (an org may hide them; the sandbox org has none):
  ``MobilePhone`` is the phone when ``Phone`` is empty; ``HasOptedOutOfEmail`` and
  ``DoNotCall`` are the lead's ``consent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadflow.connectors.base import LeadContext
from leadflow.connectors.salesforce.campaigns import CAMPAIGN_KEY
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.connectors.salesforce.errors import SOURCE
from leadflow.connectors.salesforce.soql import CURSOR_FIELD, ObjectSpec
from leadflow.models.records.contact import (
    clean_name,
    clean_text,
    parse_timestamp,
    reachable_contact,
    region_for_country,
)
from leadflow.models.records.leads import NOTES_KEY, InvalidRecord, Lead

LEAD_FIELDS = (
    "Email", "Phone", "FirstName", "LastName", "Company", "Title", "Country", "City",
    "CreatedDate", "OwnerId", "Status", "LeadSource", "IsConverted", "ConvertedDate",
    "ConvertedContactId",
)  # fmt: skip
CONSENT_FIELDS = ("HasOptedOutOfEmail", "DoNotCall")
_MAPPED = frozenset(
    {"Id", "attributes", "IsDeleted", CURSOR_FIELD, "Email", "Phone", "MobilePhone", "FirstName",
     "LastName", "Company", "Title", "Country", "City", "CreatedDate", "OwnerId",
     "ConvertedContactId", CAMPAIGN_KEY, *CONSENT_FIELDS}
)  # fmt: skip


def lead_spec(config: SalesforceConfig) -> ObjectSpec:
    """The Lead fields a sync reads: the mapped ones and the configured ``lead_fields``."""
    return ObjectSpec("Lead", tuple(dict.fromkeys((*LEAD_FIELDS, *config.lead_fields))))


def record_key(record: Mapping[str, Any]) -> str | None:
    value = record.get("Id")
    return str(value) if value not in (None, "") else None


def flag(value: Any) -> bool | None:
    """A checkbox as JSON (true/false) or Bulk CSV (``true``/``false``) writes it."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return {"true": True, "false": False}.get(text)


def to_lead(record: Mapping[str, Any], context: LeadContext) -> Lead:
    """Map one Lead (REST record or parsed Bulk row) to a Lead."""
    key = record_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "Id", "missing")

    def moment(name: str) -> Any:
        try:
            return parse_timestamp(record.get(name))
        except ValueError as error:
            raise InvalidRecord(SOURCE, key, name, str(error)) from None

    country = clean_text(record.get("Country"))
    region = region_for_country(country, context.default_region)
    campaign = record.get(CAMPAIGN_KEY) or {}
    phone_text = record.get("Phone") or record.get("MobilePhone")
    email, match_key, phone, problems = reachable_contact(
        SOURCE, key, record.get("Email"), phone_text, region, field_name="Email"
    )
    return Lead(
        source=SOURCE,
        source_lead_id=key,
        account_id=context.account_id,
        created_at=moment("CreatedDate"),
        updated_at=moment(CURSOR_FIELD),
        email=email,
        email_match_key=match_key,
        phone=phone,
        first_name=clean_name(record.get("FirstName")),
        last_name=clean_name(record.get("LastName")),
        company=clean_text(record.get("Company")),
        job_title=clean_text(record.get("Title")),
        country=country,
        city=clean_text(record.get("City")),
        campaign_id=clean_text(campaign.get("Id")),
        campaign_name=clean_text(campaign.get("Name")),
        owner_id=clean_text(record.get("OwnerId")),
        contact_id=clean_text(record.get("ConvertedContactId")),
        is_test=False,
        consent=consent(record),
        custom_fields=custom_fields(record, problems),
        raw=dict(record),
    )


def consent(record: Mapping[str, Any]) -> dict[str, bool] | None:
    """The opt-outs read (``HasOptedOutOfEmail``, ``DoNotCall``), None when none was."""
    found = {name: flag(record.get(name)) for name in CONSENT_FIELDS if name in record}
    kept = {name: value for name, value in found.items() if value is not None}
    return kept or None


def custom_fields(record: Mapping[str, Any], problems: Mapping[str, str]) -> dict[str, Any]:
    """Every read field without a Lead column (Status, LeadSource, conversion, the
    configured ``lead_fields``), checkboxes as booleans, and the normalization notes."""
    custom: dict[str, Any] = {}
    for name, value in record.items():
        if name in _MAPPED or value in (None, ""):
            continue
        custom[name] = flag(value) if name == "IsConverted" else value
    if problems:
        custom[NOTES_KEY] = dict(problems)
    return custom
