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
  STREET_ADDRESS, DOB, GENDER..., CUSTOM; ``field_data`` names are the question keys) and the
  LeadgenForm ``questions`` field, a list of LeadGenQuestion ``{key, label, type, id, ...}``
  (``facebook_business/adobjects/leadgenquestion.py`` and ``leadgenform.py`` in the Business
  SDK). A form's ``locale`` renders the predefined questions in that language
  (https://developers.facebook.com/docs/graph-api/reference/page/leadgen_forms), so their keys
  may be localized (``электронная_почта``, ``电子邮件``): the type says what a question is.

An answer fills a column by its question's ``type`` (the connector reads each form's questions
once and attaches ``{key: type}`` under ``leadflow_form.question_types``); when the form's
questions are unknown, or the type has no column (CUSTOM, ZIP...), by its key's spelling, matched
case-insensitively (``Email``, ``PHONE_NUMBER`` and ``phone number`` are one key). Every answer
leadflow has no column for goes to ``custom_fields`` under its own name; a lead without an email
whose custom answer looks like one gets a note naming that question (never the value). utm_*
come from a form answer of that name, else from the form's ``tracking_parameters`` (a
LeadgenForm field), which the connector attaches to each lead under ``leadflow_form``. Leads
from Meta's testing tool carry values such as ``<test lead: dummy data for email>``: they are
flagged ``is_test``, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from leadflow.connectors.base import LeadContext
from leadflow.models.records.contact import (
    clean_name,
    clean_text,
    normalize_email,
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
# Meta question type -> leadflow column; other types (CUSTOM, ZIP, STATE, DOB...) have none.
TYPE_COLUMNS: dict[str, str] = {
    "EMAIL": "email", "WORK_EMAIL": "work_email", "PHONE": "phone",
    "WORK_PHONE_NUMBER": "work_phone", "FULL_NAME": "full_name", "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name", "COMPANY_NAME": "company", "JOB_TITLE": "job_title",
    "COUNTRY": "country", "CITY": "city",
}  # fmt: skip
_UTM_PARTS = ("source", "medium", "campaign", "term", "content")
_CONSUMED = frozenset(key for keys in STANDARD_KEYS.values() for key in keys)
# normalized key -> (column, rank among that column's keys)
_KEY_COLUMNS = {k: (c, i) for c, keys in STANDARD_KEYS.items() for i, k in enumerate(keys)}
_SEPARATORS = re.compile(r"[\s\-]+")


def normalize_key(name: object) -> str:
    """A question key compared case-insensitively: ``Phone Number`` -> ``phone_number``."""
    return _normalized_key(str(name))


@lru_cache(maxsize=4096)  # a form has a few keys, every lead of it repeats them
def _normalized_key(name: str) -> str:
    return _SEPARATORS.sub("_", name.strip().lower())


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


Items = list[tuple[str, list[str]]]


def is_test_lead(record: Mapping[str, Any], items: Items | None = None) -> bool:
    """Meta's lead testing tool fills answers with ``<test lead: dummy data for ...>``
    (``items``: the record's ``_items``, when they were read already)."""
    items = _items(record) if items is None else items
    return any(v.lower().startswith(TEST_MARKER) for _, values in items for v in values)


def answers(record: Mapping[str, Any], items: Items | None = None) -> dict[str, list[str]]:
    """{normalized key: values}, a repeated key adding values; test-tool dummies left out."""
    found: dict[str, list[str]] = {}
    for name, values in _items(record) if items is None else items:
        real = [v for v in values if not v.lower().startswith(TEST_MARKER)]
        found.setdefault(normalize_key(name), []).extend(real)
    return found


def question_types(record: Mapping[str, Any]) -> dict[str, str]:
    """The lead's form questions as {normalized key: TYPE}; empty when they were not read."""
    form = record.get(FORM_KEY)
    types = form.get("question_types") if isinstance(form, Mapping) else None
    if not isinstance(types, Mapping):
        return {}
    return {normalize_key(k): str(v).strip().upper() for k, v in types.items() if k and v}


def column_for(name: str, types: Mapping[str, str]) -> tuple[str, int] | None:
    """(column, rank) an answer fills: by its question's type (rank 0), else by its key's
    spelling (rank 1 + the key's place in ``STANDARD_KEYS``), else None."""
    key = normalize_key(name)
    by_type = TYPE_COLUMNS.get(types.get(key, ""))
    if by_type is not None:
        return by_type, 0
    spelled = _KEY_COLUMNS.get(key)
    return (spelled[0], 1 + spelled[1]) if spelled else None


class Answers:
    """A lead's answers split into columns (by type, else spelling) and custom answers."""

    def __init__(self, record: Mapping[str, Any], items: Items | None = None) -> None:
        items = _items(record) if items is None else items
        found, types = answers(record, items), question_types(record)
        ranked: dict[str, list[tuple[int, list[str]]]] = {}
        self.custom: dict[str, list[str]] = {}  # original name -> values
        seen: set[str] = set()
        for name, _values in items:
            key = normalize_key(name)
            if key in seen:
                continue  # a repeated key's values are already merged in ``found``
            seen.add(key)
            target = column_for(name, types)
            if target is None:
                self.custom[name] = found[key]
            else:
                ranked.setdefault(target[0], []).append((target[1], found[key]))
        self.columns = {
            column: [v for _rank, values in sorted(pairs, key=lambda p: p[0]) for v in values]
            for column, pairs in ranked.items()
        }

    def first(self, column: str) -> str | None:
        values = self.columns.get(column)
        return values[0] if values else None

    def custom_fields(self) -> dict[str, Any]:
        """Answers with no column, under the name the form gave them."""
        return {n: v[0] if len(v) == 1 else v for n, v in self.custom.items() if v}

    def email_only_in_custom(self) -> str | None:
        """The key of the first custom answer that parses as an email address, or None."""
        for name, values in self.custom.items():
            for value in values:
                try:
                    if "@" in value and normalize_email(value)[0]:
                        return name
                except ValueError:
                    continue
        return None


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


def _utm(found: Answers, tracked: Mapping[str, str]) -> dict[str, str | None]:
    """utm_* from a hidden form field, else from the form's tracking parameters."""
    return {
        f"utm_{part}": clean_text(found.first(f"utm_{part}") or tracked.get(f"utm_{part}"))
        for part in _UTM_PARTS
    }


def _names(found: Answers) -> tuple[str | None, str | None]:
    """First and last name; a full name alone is split by ``split_full_name`` ("Last, First"
    read as such, particles kept with the last name)."""
    first, last = found.first("first_name"), found.first("last_name")
    full = clean_name(found.first("full_name"))
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
    key: str, found: Answers, region: str | None, is_test: bool
) -> tuple[str | None, str | None, str | None, dict[str, str]]:
    """(email, match key, phone, notes); a lead with no email answer whose custom answer
    parses as one gets an ``email`` note naming that question, never its value, and so does
    the reason a lead with no way to reach it is rejected."""
    raw_email = found.first("email") or found.first("work_email")
    raw_phone = found.first("phone") or found.first("work_phone")
    hidden = found.email_only_in_custom() if raw_email is None else None
    try:
        email, match_key, phone, problems = reachable_contact(
            SOURCE, key, raw_email, raw_phone, region, field_name="field_data",
            required=not is_test,
        )  # fmt: skip
    except InvalidRecord as error:
        if hidden is None:
            raise
        reason = f"{error.reason}; an email-shaped answer is only in custom question {hidden!r}"
        raise InvalidRecord(SOURCE, key, error.field_name, reason) from None
    if hidden is not None:
        problems = {**problems, "email": f"found only in a custom question ({hidden})"}
    return email, match_key, phone, problems


def _created(key: str, record: Mapping[str, Any]) -> datetime:
    """``created_time``, the one timestamp a Lead node has (the Business SDK's Lead fields:
    no updated or submitted time besides it). Missing means the caller's ``fields`` left it
    out: the lead is quarantined, not given the time it was read at."""
    value = record.get("created_time")
    if value is None or value == "":
        raise InvalidRecord(
            SOURCE, key, "created_time", "created_time missing (request it in fields)"
        )
    try:
        return parse_timestamp(value)
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, "created_time", str(error)) from None


def to_lead(record: Mapping[str, Any], context: LeadContext) -> Lead:
    """Map one lead from ``GET /{form_id}/leads`` to a Lead."""
    key = record_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing")
    created = _created(key, record)
    items = _items(record)
    found, is_test = Answers(record, items), is_test_lead(record, items)
    country = clean_text(found.first("country"))
    region = region_for_country(country, context.default_region)
    email, match_key, phone, problems = _contact(key, found, region, is_test)
    custom = found.custom_fields()
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
        company=clean_text(found.first("company")),
        job_title=clean_text(found.first("job_title")),
        country=country,
        city=clean_text(found.first("city")),
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
