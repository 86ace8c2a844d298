"""The canonical lead record every connector produces, and the error for records it cannot."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from leadflow.models.records.masking import mask_personal

# A person's profile takes each group of Lead fields from one lead (the newest having any of
# them): identity builds profiles this way, and erasure recomputes them the same way.
PROFILE_GROUPS = (
    ("email", "email_match_key"),
    ("phone",),
    ("first_name", "last_name"),
    ("company",),
    ("job_title",),
    ("country", "city"),
)
# A lead's notes: {field: problem} for values normalization left out (an invalid phone, an
# unusable email beside a good phone), kept in ``custom_fields`` under this key.
NOTES_KEY = "_invalid"
# A lead created outside [EARLIEST_CREATED, load time + CREATED_TOLERANCE] is quarantined: a
# year 0001 or 9999 is a platform's placeholder or a typo, and would show as a funnel month.
EARLIEST_CREATED = datetime(2000, 1, 1, tzinfo=UTC)
CREATED_TOLERANCE = timedelta(days=1)
_DETAIL = re.compile(r"\s*\([^()]*\)")


class Stage(StrEnum):
    """leadflow's canonical stages, ordered from first touch to hand-over."""

    COLD = "cold"
    WARM = "warm"
    QUALIFIED = "qualified"


@dataclass(frozen=True, slots=True)
class Lead:
    """One submission or contact record from one platform, normalized.

    Datetimes are timezone-aware UTC. ``email`` is the deliverable address (trimmed,
    lowercased), ``email_match_key`` the key identity resolution compares; ``phone`` is
    E.164. ``raw`` keeps the platform's payload as received; ``custom_fields`` holds
    answers and properties leadflow has no column for. ``contact_id`` is the platform's own
    stable id of the person behind the lead when it has one beyond the lead id (Mailchimp's
    ``contact_id``, kept when a subscriber changes address); identity joins leads of one
    source and account that share it. It must come from ``raw`` (see ``row_hash``).
    """

    source: str
    source_lead_id: str
    account_id: str
    created_at: datetime
    updated_at: datetime
    email: str | None = None
    email_match_key: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    country: str | None = None
    city: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    adset_id: str | None = None
    ad_id: str | None = None
    form_id: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    source_stage: str | None = None
    owner_id: str | None = None
    is_test: bool = False
    is_organic: bool | None = None
    contact_id: str | None = None
    consent: Mapping[str, Any] | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("created_at", "updated_at"):
            value = getattr(self, name)
            if value.tzinfo is UTC:  # what every mapper hands over: nothing to check
                continue
            if value.tzinfo is None or value.utcoffset() is None:
                raise InvalidRecord(self.source, self.source_lead_id, name, "naive datetime")
            if value.utcoffset().total_seconds() != 0:
                object.__setattr__(self, name, value.astimezone(UTC))

    @property
    def natural_key(self) -> tuple[str, str]:
        return (self.source, self.source_lead_id)


class InvalidRecord(ValueError):
    """A platform record that cannot become a Lead: names the source, record and field.

    The reason names the problem, never the value; it is masked here all the same
    (``mask_personal``), so no email or phone rides along into quarantine or a summary.
    """

    def __init__(self, source: str, record_key: str | None, field_name: str, reason: str) -> None:
        self.source = source
        self.record_key = record_key
        self.field_name = field_name
        self.reason = mask_personal(reason)
        key = record_key if record_key is not None else "<no key>"
        super().__init__(f"{source} record {key}: field {field_name!r}: {self.reason}")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that failed validation, bound for the quarantine table with its reason."""

    source: str
    account_id: str
    record_key: str | None
    field_name: str
    reason: str
    raw: Mapping[str, Any]

    @classmethod
    def from_error(cls, error: InvalidRecord, account_id: str, raw: Mapping[str, Any]) -> Rejected:
        return cls(
            source=error.source,
            account_id=account_id,
            record_key=error.record_key,
            field_name=error.field_name,
            reason=error.reason,
            raw=raw,
        )


def check_created(
    lead: Lead,
    now: datetime,
    *,
    earliest: datetime = EARLIEST_CREATED,
    tolerance: timedelta = CREATED_TOLERANCE,
) -> Lead:
    """``lead``, or InvalidRecord naming ``created_at`` when it was created before
    ``earliest`` or more than ``tolerance`` after ``now`` (the load time). The reason names
    the bound, never the value."""
    if lead.created_at < earliest:
        why = f"created_at: before {earliest:%Y-%m-%d}, out of range"
        raise InvalidRecord(lead.source, lead.source_lead_id, "created_at", why)
    if lead.created_at > now + tolerance:
        why = f"created_at: more than {_span(tolerance)} after the load time, out of range"
        raise InvalidRecord(lead.source, lead.source_lead_id, "created_at", why)
    return lead


def _span(tolerance: timedelta) -> str:
    days = tolerance / timedelta(days=1)
    return f"{days:g} day{'s' if days != 1 else ''}"


def lead_notes(lead: Lead) -> dict[str, str]:
    """A lead's notes, {field: problem}: the values its normalization left out and why."""
    found = lead.custom_fields.get(NOTES_KEY)
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, Mapping) else {}


def _without_details(problem: str) -> str:
    """``problem`` without its parenthesized details, nested ones included."""
    while (shorter := _DETAIL.sub("", problem)) != problem:
        problem = shorter
    return problem


def summarize_notes(leads: Iterable[Lead]) -> tuple[str, ...]:
    """The leads' notes counted for a run summary, one line per field and problem (details
    in parentheses set aside): ``"3 leads: phone not valid for its region: E.164 left empty"``.
    Notes name fields and problems, never values; they are masked all the same."""
    counts: Counter[tuple[str, str]] = Counter()
    for lead in leads:
        for name, problem in lead_notes(lead).items():
            counts[(name, _without_details(problem))] += 1
    return tuple(
        mask_personal(f"{count} lead{'s' if count != 1 else ''}: {name} {problem}")
        for (name, problem), count in sorted(counts.items())
    )
