"""Map one Meta lead (a Graph API ``Lead`` node) to leadflow's ``Lead``.

Docs followed:
- Retrieving leads: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving
  (``field_data`` = ``[{"name", "values"}]``, ``created_time`` like ``2016-12-21T14:50:56+0000``,
  ``custom_disclaimer_responses`` = ``[{"checkbox_key", "is_checked"}]``; organic leads have no
  ad, ad set or campaign ids)
- Lead node fields, as Meta's Business SDK lists them (``facebook_business/adobjects/lead.py``
  in https://github.com/facebook/facebook-python-business-sdk): id, created_time, ad_id,
  ad_name, adset_id, adset_name, campaign_id, campaign_name, form_id, field_data, is_organic,
  platform, custom_disclaimer_responses, partner_name, post...
- Form questions: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/create
  (standard question types EMAIL, FULL_NAME, FIRST_NAME, LAST_NAME, PHONE, COMPANY_NAME,
  JOB_TITLE, WORK_EMAIL, WORK_PHONE_NUMBER, CITY, STATE, PROVINCE, COUNTRY, ZIP, POST_CODE,
  STREET_ADDRESS, DOB, GENDER...; ``field_data`` names are the question keys, e.g.
  ``email``, ``full_name``, ``phone_number``)

Standard keys are matched case-insensitively (``Email``, ``PHONE_NUMBER`` and ``phone number``
are one key); every answer leadflow has no column for (custom questions, state, zip...) goes
to ``custom_fields`` under its own name. utm_* come from a form answer of that name, else from
the form's ``tracking_parameters`` (a LeadgenForm field), which the connector attaches to each
lead under ``leadflow_form``. Leads from Meta's testing tool carry values such as
``<test lead: dummy data for email>``: they are flagged ``is_test``, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leadflow.connectors.base import LeadContext
from leadflow.models.records.contact import (
    clean_name,
    clean_text,
    parse_timestamp,
    reachable_contact,
    region_for_country,
)
from leadflow.models.records.leads import InvalidRecord, Lead
from leadflow.models.records.names import split_full_name

SOURCE = "meta"
TEST_MARKER = "<test lead"
# The connector adds the lead's form (id, name, tracking_parameters) under this key: Meta sets
# tracking parameters (utm_* and others) on the form, not on each lead.
FORM_KEY = "leadflow_form"

# leadflow column -> the question keys (normalized) that fill it, in order of preference.
STANDARD_KEYS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email_address", "e_mail"),
    "work_email": ("work_email",),
    "phone": ("phone_number", "phone", "mobile_phone", "mobile_phone_number"),
    "work_phone": ("work_phone_number", "work_phone"),
    "full_name": ("full_name", "name"),
    "first_name": ("first_name", "given_name"),
    "last_name": ("last_name", "family_name", "surname"),
    "company": ("company_name", "company"),
    "job_title": ("job_title",),
    "country": ("country",),
    "city": ("city",),
    "utm_source": ("utm_source",),
    "utm_medium": ("utm_medium",),
    "utm_campaign": ("utm_campaign",),
    "utm_term": ("utm_term",),
    "utm_content": ("utm_content",),
}
_UTM_PARTS = ("source", "medium", "campaign", "term", "content")
_CONSUMED = frozenset(key for keys in STANDARD_KEYS.values() for key in keys)
_SEPARATORS = re.compile(r"[\s\-]+")


def normalize_key(name: object) -> str:
    """A question key compared case-insensitively: ``Phone Number`` -> ``phone_number``."""
    return _SEPARATORS.sub("_", str(name).strip().lower())


def record_key(record: Mapping[str, Any]) -> str | None:
    value = record.get("id")
    return str(value) if value not in (None, "") else None


def _items(record: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """``field_data`` as (name, non-empty values) pairs."""
    items = []
    for item in record.get("field_data") or []:
        if not isinstance(item, Mapping) or item.get("name") in (None, ""):
            continue
        values = item.get("values")
        values = values if isinstance(values, list) else [values]
        texts = [str(v).strip() for v in values if v is not None and str(v).strip()]
        items.append((str(item["name"]), texts))
    return items


def is_test_lead(record: Mapping[str, Any]) -> bool:
    """Meta's lead testing tool fills answers with ``<test lead: dummy data for ...>``."""
    return any(v.lower().startswith(TEST_MARKER) for _, values in _items(record) for v in values)


def answers(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """{normalized key: values}, a repeated key adding values; test-tool dummies left out."""
    found: dict[str, list[str]] = {}
    for name, values in _items(record):
        real = [v for v in values if not v.lower().startswith(TEST_MARKER)]
        found.setdefault(normalize_key(name), []).extend(real)
    return found


def _first(found: Mapping[str, list[str]], column: str) -> str | None:
    for key in STANDARD_KEYS[column]:
        if found.get(key):
            return found[key][0]
    return None


def _custom_fields(record: Mapping[str, Any], found: Mapping[str, list[str]]) -> dict[str, Any]:
    """Answers with no column, under the name the form gave them."""
    custom: dict[str, Any] = {}
    for name, _values in _items(record):
        values = found.get(normalize_key(name))
        if normalize_key(name) not in _CONSUMED and values:
            custom[name] = values[0] if len(values) == 1 else values
    return custom


def tracking(record: Mapping[str, Any]) -> dict[str, str]:
    """The form's ``tracking_parameters`` (``[{"key", "value"}]``) as {normalized key: value}."""
    form = record.get(FORM_KEY)
    params = form.get("tracking_parameters") if isinstance(form, Mapping) else None
    pairs = (
        (p.get("key") or p.get("name"), p.get("value"))
        for p in (params if isinstance(params, list) else [])
        if isinstance(p, Mapping)
    )
    return {normalize_key(k): str(v).strip() for k, v in pairs if k and clean_text(v)}


def _utm(found: Mapping[str, list[str]], tracked: Mapping[str, str]) -> dict[str, str | None]:
    """utm_* from a hidden form field, else from the form's tracking parameters."""
    return {
        f"utm_{part}": clean_text(_first(found, f"utm_{part}") or tracked.get(f"utm_{part}"))
        for part in _UTM_PARTS
    }


def _names(found: Mapping[str, list[str]]) -> tuple[str | None, str | None]:
    """First and last name; a full name alone is split by ``split_full_name`` ("Last, First"
    read as such, particles kept with the last name)."""
    first, last = _first(found, "first_name"), _first(found, "last_name")
    full = clean_name(_first(found, "full_name"))
    if full and not (first or last):
        first, last = split_full_name(full)
    return clean_name(first), clean_name(last)


def _flag(value: object) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "checked")


def consent(record: Mapping[str, Any]) -> dict[str, bool] | None:
    """``custom_disclaimer_responses`` as {checkbox_key: checked}."""
    responses = record.get("custom_disclaimer_responses") or []
    found = {
        str(r["checkbox_key"]): bool(_flag(r.get("is_checked")))
        for r in responses
        if isinstance(r, Mapping) and r.get("checkbox_key")
    }
    return found or None


def _text(record: Mapping[str, Any], name: str) -> str | None:
    return clean_text(record.get(name))


def _contact(
    key: str, found: Mapping[str, list[str]], region: str | None, is_test: bool
) -> tuple[str | None, str | None, str | None, dict[str, str]]:
    raw_email = _first(found, "email") or _first(found, "work_email")
    raw_phone = _first(found, "phone") or _first(found, "work_phone")
    return reachable_contact(
        SOURCE, key, raw_email, raw_phone, region, field_name="field_data", required=not is_test
    )


def to_lead(record: Mapping[str, Any], context: LeadContext) -> Lead:
    """Map one lead from ``GET /{form_id}/leads`` to a Lead."""
    key = record_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing")
    try:
        created = parse_timestamp(record.get("created_time"))
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, "created_time", str(error)) from None
    found, is_test = answers(record), is_test_lead(record)
    country = clean_text(_first(found, "country"))
    region = region_for_country(country, context.default_region)
    email, match_key, phone, problems = _contact(key, found, region, is_test)
    custom = _custom_fields(record, found)
    tracked = tracking(record)
    if other := {k: v for k, v in tracked.items() if k not in _CONSUMED}:
        custom["tracking_parameters"] = other
    if problems:
        custom["_invalid"] = problems
    first_name, last_name = _names(found)
    return Lead(
        source=SOURCE,
        source_lead_id=key,
        account_id=context.account_id,
        created_at=created,
        updated_at=created,  # a submitted lead never changes
        email=email,
        email_match_key=match_key,
        phone=phone,
        first_name=first_name,
        last_name=last_name,
        company=clean_text(_first(found, "company")),
        job_title=clean_text(_first(found, "job_title")),
        country=country,
        city=clean_text(_first(found, "city")),
        campaign_id=_text(record, "campaign_id"),
        campaign_name=_text(record, "campaign_name"),
        adset_id=_text(record, "adset_id"),
        ad_id=_text(record, "ad_id"),
        form_id=_text(record, "form_id") or _text(record.get(FORM_KEY) or {}, "id"),
        **_utm(found, tracked),
        is_test=is_test,
        is_organic=_flag(record.get("is_organic")),
        consent=consent(record),
        custom_fields=custom,
        raw=dict(record),
    )
