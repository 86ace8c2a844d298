"""Mapping Mailchimp records: audience members to Leads, email activity to EngagementEvents.

Docs followed:
- List members: https://mailchimp.com/developer/marketing/api/list-members/ (member ``id`` is
  the MD5 of the lowercased email, so one person has the same id in every audience and a
  new id when their address changes, while ``contact_id`` ("agnostic of contact's inclusion
  of an email address") stays: it fills ``Lead.contact_id``, which identity joins on;
  ``status`` subscribed|unsubscribed|cleaned|pending|transactional|archived; ``merge_fields``;
  ``marketing_permissions``; ``stats.avg_open_rate``/``avg_click_rate``; ``last_changed``)
- Email activity: https://mailchimp.com/developer/marketing/api/email-activity-reports/
  (``emails[]`` with ``email_id``, ``email_address``, ``activity[]`` of ``{action: open|click|
  bounce, timestamp, url, type (bounce: hard|soft), ip}``)
- Unsubscribes: https://mailchimp.com/developer/marketing/api/unsub-reports/
  (``unsubscribes[]`` with ``email_id``, ``email_address``, ``timestamp``, ``reason``)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadflow.connectors.base import LeadContext
from leadflow.models.records.activity import EngagementEvent
from leadflow.models.records.contact import (
    clean_name,
    clean_text,
    normalize_email,
    parse_timestamp,
    reachable_contact,
    region_for_country,
)
from leadflow.models.records.leads import InvalidRecord, Lead

SOURCE = "mailchimp"

MEMBER_FIELDS = ",".join(
    [
        *(
            f"members.{name}"
            for name in (
                "id", "email_address", "unique_email_id", "contact_id", "full_name", "web_id",
                "email_type", "status", "unsubscribe_reason", "merge_fields", "interests",
                "stats", "timestamp_signup", "timestamp_opt", "member_rating", "last_changed",
                "language", "vip", "email_client", "location", "marketing_permissions",
                "source", "tags_count", "tags", "list_id",
            )
        ),
        "total_items",
    ]
)  # fmt: skip
"""``fields`` of the members request: explicit, so the response stays small and stable."""

DO_NOT_CONTACT = frozenset({"unsubscribed", "cleaned"})
_NAME_TAGS = {"first_name": ("FNAME", "FIRSTNAME"), "last_name": ("LNAME", "LASTNAME")}
_PHONE_TAGS = ("PHONE", "MOBILE", "PHONENUMBER")
_MAPPED_TAGS = frozenset({*sum(_NAME_TAGS.values(), ()), *_PHONE_TAGS, "COMPANY", "JOBTITLE"})
ACTIONS = frozenset({"open", "click", "bounce"})  # email-activity actions; unsubscribes apart
_CONTEXT = ("campaign_id", "list_id", "email_id", "email_address")


def record_key(record: Mapping[str, Any]) -> str | None:
    """A member's natural key: ``{list_id}:{member_id}``; an activity record's own key."""
    if "campaign_id" in record or "email_id" in record:
        kind = "activity" if "activity" in record else "unsubscribe"
        parts = (record.get("campaign_id"), record.get("email_id"), kind)
        return ":".join(str(p) for p in parts if p)
    member, list_id = record.get("id"), record.get("list_id")
    if not member:
        return None
    return f"{list_id}:{member}" if list_id else str(member)


def _text(value: Any) -> str | None:
    return clean_text(value) if isinstance(value, str | int | float) else None


def _time(record: Mapping[str, Any], name: str, key: str | None) -> datetime | None:
    value = record.get(name)
    if value in (None, ""):
        return None
    try:
        return parse_timestamp(value)
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, name, str(error)) from None


def _first(merge: Mapping[str, Any], tags: tuple[str, ...]) -> Any:
    return next((merge[t] for t in tags if merge.get(t) not in (None, "")), None)


def _address(merge: Mapping[str, Any]) -> Mapping[str, Any]:
    value = merge.get("ADDRESS")
    return value if isinstance(value, Mapping) else {}


def _custom(record: Mapping[str, Any], merge: Mapping[str, Any]) -> dict[str, Any]:
    stats = record.get("stats") or {}
    custom: dict[str, Any] = {
        "merge_fields": {k: v for k, v in merge.items() if k not in _MAPPED_TAGS and v != ""},
        "tags": [t.get("name") for t in record.get("tags") or [] if isinstance(t, Mapping)],
        "member_rating": record.get("member_rating"),
        "avg_open_rate": stats.get("avg_open_rate"),
        "avg_click_rate": stats.get("avg_click_rate"),
        "timestamp_signup": record.get("timestamp_signup") or None,
        "timestamp_opt": record.get("timestamp_opt") or None,
        "signup_source": record.get("source") or None,
        "location": record.get("location") or None,
        "vip": record.get("vip"),
        "unsubscribe_reason": record.get("unsubscribe_reason") or None,
        "contact_id": record.get("contact_id") or None,
        "unique_email_id": record.get("unique_email_id") or None,
        "language": record.get("language") or None,
        "interests": sorted(k for k, on in (record.get("interests") or {}).items() if on),
    }
    custom = {k: v for k, v in custom.items() if v not in (None, [], {})}
    if record.get("status") in DO_NOT_CONTACT:
        custom["do_not_contact"] = True
    return custom


def _consent(record: Mapping[str, Any]) -> dict[str, Any] | None:
    consent = {
        "status": record.get("status"),
        "timestamp_opt": record.get("timestamp_opt") or None,
        "marketing_permissions": [
            {k: p.get(k) for k in ("marketing_permission_id", "text", "enabled")}
            for p in record.get("marketing_permissions") or []
            if isinstance(p, Mapping)
        ],
    }
    consent = {k: v for k, v in consent.items() if v not in (None, [])}
    return consent or None


def to_lead(record: Mapping[str, Any], context: LeadContext) -> Lead:
    """Map one audience member to a Lead; unsubscribed/cleaned members are kept, flagged."""
    member = record.get("id")
    list_id = record.get("list_id") or context.account_id
    key = f"{list_id}:{member}" if member else None
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing")
    updated = _time(record, "last_changed", key)
    if updated is None:
        raise InvalidRecord(SOURCE, key, "last_changed", "missing")
    signup, opted = _time(record, "timestamp_signup", key), _time(record, "timestamp_opt", key)
    merge: Mapping[str, Any] = record.get("merge_fields") or {}
    address = _address(merge)
    location = record.get("location") or {}
    country = _text(address.get("country")) or _text(location.get("country_code"))
    region = region_for_country(country, context.default_region)
    raw_phone = _first(merge, _PHONE_TAGS)
    email, match_key, phone, problems = reachable_contact(
        SOURCE, key, record.get("email_address"), _text(raw_phone), region,
        field_name="email_address",
    )  # fmt: skip
    custom = _custom(record, merge)
    if problems:
        custom["_invalid"] = problems
    return Lead(
        source=SOURCE,
        source_lead_id=key,
        account_id=context.account_id or list_id,
        created_at=signup or opted or updated,
        updated_at=updated,
        email=email,
        email_match_key=match_key,
        phone=phone,
        first_name=clean_name(_text(_first(merge, _NAME_TAGS["first_name"]))),
        last_name=clean_name(_text(_first(merge, _NAME_TAGS["last_name"]))),
        company=_text(merge.get("COMPANY")),
        job_title=_text(merge.get("JOBTITLE")),
        country=country,
        city=_text(address.get("city")),
        source_stage=_text(record.get("status")),
        is_test=False,
        contact_id=_text(record.get("contact_id")),
        consent=_consent(record),
        custom_fields=custom,
        raw=dict(record),
    )


def _moment(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def member_changed(member: Mapping[str, Any]) -> datetime | None:
    """A member's ``last_changed``, None when missing or unreadable (to_lead rejects it)."""
    return _moment(member.get("last_changed"))


def member_version(member: Mapping[str, Any]) -> tuple[str, str]:
    """A member at one point in time: a changed member is a new version."""
    return str(member.get("id")), str(member.get("last_changed"))


def latest_activity(
    records: list[dict[str, Any]], latest: datetime | None = None
) -> datetime | None:
    """The latest activity or unsubscribe time in ``records``, or ``latest`` if later."""
    for record in records:
        for item in record.get("activity") or [record]:
            moment = _moment(item.get("timestamp")) if isinstance(item, Mapping) else None
            if moment is not None and (latest is None or moment > latest):
                latest = moment
    return latest


def unsubscribed_since(
    records: list[dict[str, Any]], since: datetime | None
) -> list[dict[str, Any]]:
    """Unsubscribes at or after ``since`` (and any whose time cannot be read: to_rows
    rejects those); the unsubscribed report has no time filter of its own."""
    if since is None:
        return records
    return [r for r in records if (_moment(r.get("timestamp")) or since) >= since]


def event_id(campaign: str, email_id: str, action: str, moment: datetime, url: str) -> str:
    """A deterministic id for an activity that has none on the platform."""
    text = "|".join((campaign, email_id, action, moment.isoformat(), url))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _event(
    record: Mapping[str, Any], context: LeadContext, action: str, item: Mapping[str, Any]
) -> EngagementEvent:
    key = record_key(record)
    campaign, email_id = str(record.get("campaign_id") or ""), str(record.get("email_id") or "")
    if not campaign or not email_id:
        raise InvalidRecord(SOURCE, key, "campaign_id" if not campaign else "email_id", "missing")
    moment = _time(item, "timestamp", key)
    if moment is None:
        raise InvalidRecord(SOURCE, key, "timestamp", f"missing on a {action}")
    list_id = record.get("list_id") or context.account_id
    detail: dict[str, Any] = {"lead_id": f"{list_id}:{email_id}"}
    for name, value in (("url", item.get("url")), ("ip", item.get("ip"))):
        if value:
            detail[name] = value
    if action == "bounce" and item.get("type"):
        detail["bounce_type"] = item["type"]
    if action == "unsubscribe" and item.get("reason"):
        detail["reason"] = item["reason"]
    try:
        email, match_key = normalize_email(record.get("email_address"))
    except ValueError as error:
        email, match_key, detail["_invalid"] = None, None, {"email": str(error)}
    return EngagementEvent(
        source=SOURCE,
        event_id=event_id(campaign, email_id, action, moment, str(item.get("url") or "")),
        account_id=context.account_id,
        event_type=action,
        occurred_at=moment,
        channel="email",
        email=email,
        email_match_key=match_key,
        campaign_id=campaign,
        detail=detail,
        raw={**{k: record.get(k) for k in _CONTEXT if k in record}, **item},
    )


def to_events(record: Mapping[str, Any], context: LeadContext) -> list[EngagementEvent]:
    """One event per open/click/bounce of an email-activity record, or one per unsubscribe.

    Actions leadflow has no event type for are skipped.
    """
    if "activity" not in record:
        return [_event(record, context, "unsubscribe", record)]
    items = record.get("activity") or []
    return [
        _event(record, context, str(item["action"]), item)
        for item in items
        if isinstance(item, Mapping) and str(item.get("action")) in ACTIONS
    ]
