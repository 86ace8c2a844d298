"""What people do besides submitting a form: email engagement, sales touches, the reps, and
the CRM's record of sales' decisions (status changes).

Each is a frozen record with a natural key, produced by a connector stream and loaded
idempotently like leads. Datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ENGAGEMENT_TYPES = frozenset(
    {"open", "click", "bounce", "unsubscribe", "reply", "form_submission", "webinar_attended"}
)
TOUCH_TYPES = frozenset({"call", "email", "meeting"})


@dataclass(frozen=True, slots=True)
class EngagementEvent:
    """One thing a person did with marketing: opened, clicked, bounced, unsubscribed...

    ``event_id`` is the natural key within ``source``: the platform's own id, or a
    deterministic hash of (campaign, person, type, time) when the platform has none.
    """

    source: str
    event_id: str
    account_id: str
    event_type: str
    occurred_at: datetime
    channel: str = "email"
    email: str | None = None
    email_match_key: str | None = None
    campaign_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SalesTouch:
    """One sales activity (call, email, meeting) on one lead: grain (source, touch, lead).

    ``lead_id`` is the touched record's ``source_lead_id`` on the same platform (a HubSpot
    contact id); a touch associated with three contacts is three SalesTouch rows.
    """

    source: str
    touch_id: str
    lead_id: str
    touch_type: str
    occurred_at: datetime
    updated_at: datetime
    owner_id: str | None = None
    direction: str | None = None
    outcome: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SalesRep:
    """A sales rep (a HubSpot owner) and the team they report in."""

    source: str
    rep_id: str
    updated_at: datetime
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    team: str | None = None
    archived: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One change of a sales status field on a CRM lead or contact, as the CRM recorded it: a
    Salesforce ``LeadHistory`` row (``Field = 'Status'``) or conversion, a HubSpot
    ``hs_lead_status`` / ``lifecyclestage`` history entry. Grain (source, change_id).

    The raw fact only: which values mean accepted, rejected, converted or recycled is the
    classification rules' (``sales.decision_statuses``), so a changed mapping needs no reload.
    ``lead_id`` is the record's ``source_lead_id`` on the same platform; ``changed_by`` the
    user who made the change (a rep id, as ``owner_id`` elsewhere), when the CRM says.
    """

    source: str
    change_id: str
    lead_id: str
    field: str
    occurred_at: datetime
    updated_at: datetime
    new_value: str | None = None
    old_value: str | None = None
    changed_by: str | None = None
    reason: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
