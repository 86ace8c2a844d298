"""HubSpot CRM v3 contacts, incrementally through the CRM search API; sales streams too.

Docs followed:
- Search: https://developers.hubspot.com/docs/api/crm/search (POST /crm/v3/objects/contacts/search,
  filterGroups, one sort rule, ``limit`` <= 200, ``after``, ``total``, 10,000 results per query)
- Contacts: https://developers.hubspot.com/docs/api/crm/contacts
- Properties: https://developers.hubspot.com/docs/api/crm/properties (GET
  /crm/v3/properties/contacts; ``hubspotDefined`` is true for HubSpot's default properties)
- Limits: https://developers.hubspot.com/docs/api/usage-details (429 ``policyName``
  TEN_SECONDLY_ROLLING / DAILY, ``X-HubSpot-RateLimit-*`` headers)
- OAuth: https://developers.hubspot.com/docs/api/oauth/tokens (connectors/hubspot/auth.py)

The windowing over the 10,000-result cap lives in connectors/hubspot/search.py and serves
contacts and the sales touches alike; owners and touches are in connectors/hubspot/sales.py,
the sales status properties' history (``crm_status_changes``) in connectors/hubspot/history.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import requests

from leadflow.connectors.base import Connector, LeadContext, Page, StartFor
from leadflow.connectors.errors import ConnectorError, MissingScope, TerminalError
from leadflow.connectors.http import error_detail
from leadflow.connectors.hubspot.client import (
    SOURCE,
    HubSpotClient,
    classify_error,
    open_session,
    portal_of,
)
from leadflow.connectors.hubspot.config import HubSpotConfig
from leadflow.connectors.hubspot.history import HISTORY_STREAM
from leadflow.connectors.hubspot.sales import OWNERS_STREAM, TOUCHES_STREAM
from leadflow.connectors.hubspot.search import ID_PROPERTY, RESULT_CAP, SearchSpec, search_pages
from leadflow.models.records.contact import (
    clean_name,
    clean_text,
    parse_timestamp,
    reachable_contact,
    region_for_country,
)
from leadflow.models.records.leads import InvalidRecord, Lead

__all__ = [
    "CONNECTOR",
    "RESULT_CAP",
    "HubSpotClient",
    "HubSpotConfig",
    "classify_error",
    "open_session",
    "pages",
    "portal_of",
    "to_lead",
]

PROPERTIES_PATH = "/crm/v3/properties/contacts"
CURSOR_PROPERTY = "lastmodifieddate"
PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "mobilephone",
    "company",
    "jobtitle",
    "country",
    "city",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "hubspot_owner_assigneddate",
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "hs_analytics_source_data_2",
    "hs_legal_basis",
    "hs_merged_object_ids",
    "createdate",
    CURSOR_PROPERTY,
    ID_PROPERTY,
)
_MAPPED = frozenset(PROPERTIES)
# Read with the mapped properties, but kept as they are in custom_fields.
_KEPT = (
    "hs_lead_status",
    "hubspot_owner_assigneddate",
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "hs_analytics_source_data_2",
    "hs_merged_object_ids",
)


def accounts(config: HubSpotConfig) -> list[str]:
    """One portal per configured source: ``portal_id``, else the token's (account info)."""
    return [portal_of(config)]


class PropertiesUnavailable(TerminalError):
    """The portal's property list could not be read (a missing scope): read without it."""


def _properties_error(response: requests.Response, body: Any) -> ConnectorError | None:
    known = classify_error(response, body)
    if (known is None or isinstance(known, MissingScope)) and response.status_code in (403, 404):
        detail = f"HTTP {response.status_code}: {error_detail(body)}"
        return PropertiesUnavailable(SOURCE, detail)
    return known


def custom_properties(client: HubSpotClient) -> tuple[list[str], tuple[str, ...]]:
    """The portal's own (not HubSpot-defined) contact properties, and a note naming them.

    A property list the token may not read (403, missing scope) is a note, not a failure.
    """
    try:
        reply = client.get(PROPERTIES_PATH, classify=_properties_error)
    except PropertiesUnavailable as error:
        return [], (f"hubspot: custom contact properties not discovered ({error})",)
    names = [
        str(prop["name"])
        for prop in reply.get("results") or []
        if isinstance(prop, Mapping) and prop.get("name") and not prop.get("hubspotDefined")
    ]
    names = [name for name in names if name not in _MAPPED]
    note = f"hubspot: custom contact properties: {', '.join(names)}"
    return names, (note,) if names else ()


def contact_search(client: HubSpotClient) -> tuple[SearchSpec, tuple[str, ...]]:
    """What a contacts search reads: mapped, configured and (once per run) custom properties."""
    names = [*PROPERTIES, *client.config.extra_properties]
    notes: tuple[str, ...] = ()
    if client.config.discover_properties:
        custom, notes = custom_properties(client)
        names.extend(custom)
    spec = SearchSpec("contacts", CURSOR_PROPERTY, tuple(dict.fromkeys(names)))
    return spec, notes


def pages(client: HubSpotClient, portal_id: str, start_for: StartFor) -> Iterator[Page]:
    """Every contact of the portal modified at or after its start, cursor ascending."""
    spec, notes = contact_search(client)
    yield from search_pages(client, spec, portal_id, start_for(portal_id), notes)


def record_key(record: Mapping[str, Any]) -> str | None:
    value = record.get("id") or (record.get("properties") or {}).get(ID_PROPERTY)
    return str(value) if value not in (None, "") else None


def to_lead(record: Mapping[str, Any], context: LeadContext) -> Lead:
    """Map one contact from the search API to a Lead."""
    key = record_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing")
    props: Mapping[str, Any] = record.get("properties") or {}

    created = _timestamp(key, props, "createdate", record.get("createdAt"))
    updated = _timestamp(key, props, CURSOR_PROPERTY, record.get("updatedAt"))
    country = clean_text(props.get("country"))
    region = region_for_country(country, context.default_region)
    raw_phone = props.get("phone") or props.get("mobilephone")
    email, match_key, phone, problems = reachable_contact(
        SOURCE, key, props.get("email"), raw_phone, region
    )
    return Lead(
        source=SOURCE,
        source_lead_id=key,
        account_id=context.account_id,
        created_at=created,
        updated_at=updated,
        email=email,
        email_match_key=match_key,
        phone=phone,
        first_name=clean_name(props.get("firstname")),
        last_name=clean_name(props.get("lastname")),
        company=clean_text(props.get("company")),
        job_title=clean_text(props.get("jobtitle")),
        country=country,
        city=clean_text(props.get("city")),
        source_stage=clean_text(props.get("lifecyclestage")),
        owner_id=clean_text(props.get("hubspot_owner_id")),
        is_test=False,
        consent={"legal_basis": props["hs_legal_basis"]} if props.get("hs_legal_basis") else None,
        custom_fields=_custom_fields(props, problems),
        raw=dict(record),
    )


def _timestamp(key: str, props: Mapping[str, Any], name: str, fallback: Any) -> datetime:
    """The property ``name`` (else the object's own ``fallback``) as a UTC datetime."""
    try:
        return parse_timestamp(props.get(name) or fallback)
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, name, str(error)) from None


def _custom_fields(props: Mapping[str, Any], problems: Mapping[str, str]) -> dict[str, Any]:
    """Unmapped properties (the portal's own among them), the kept HubSpot ones, problems."""
    custom = {k: v for k, v in props.items() if v is not None and v != "" and k not in _MAPPED}
    if problems:
        custom["_invalid"] = dict(problems)
    custom.update({name: props[name] for name in _KEPT if props.get(name)})
    return custom


CONNECTOR = Connector(
    name=SOURCE,
    config_class=HubSpotConfig,
    open=open_session,
    accounts=accounts,
    pages=pages,
    to_lead=to_lead,
    record_key=record_key,
    doc_url="https://developers.hubspot.com/docs/api/crm/search",
    streams=(OWNERS_STREAM, TOUCHES_STREAM, HISTORY_STREAM),
)
