"""Fit and engagement scores: pure functions of facts, rules and a moment.

Engagement at moment ``t`` is ``sum(points * 0.5 ** (age / half_life))`` over the counted
events at or before ``t``. Per event type and UTC day only the ``daily_cap`` *latest* events
at or before ``t`` count: keeping the latest (rather than the first) makes the score
monotone in the events (adding one can only swap a counted event for a fresher one), so
adding engagement never delays qualification. Between events the score is one exponential,
so with a positive threshold it can only first be crossed at an event time.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from leadflow.models.people.rules import EngagementRules, FitRules
from leadflow.models.records.activity import EngagementEvent

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class ScoredEvent:
    """An engagement event with the points its type is worth."""

    at: datetime
    event_type: str
    points: float


@dataclass(frozen=True, slots=True)
class FitInputs:
    """The profile attributes fit reads (one lead's view of the person)."""

    job_title: str | None = None
    company_size: int | None = None
    country: str | None = None
    email_domain: str | None = None


def fit_score(person: FitInputs, rules: FitRules) -> tuple[int, tuple[str, ...]]:
    """Fit points and their reason codes (``fit:<code><+points>``)."""
    parts = [*_title_points(person.job_title, rules), *_size_points(person.company_size, rules)]
    if person.country and person.country.strip().lower() in rules.target_countries:
        parts.append(("country_target", rules.target_country_points))
    parts.extend(_email_points(person.email_domain, rules))
    parts = [(code, points) for code, points in parts if points]
    return sum(p for _, p in parts), tuple(f"fit:{code}{points:+d}" for code, points in parts)


def _title_points(title: str | None, rules: FitRules) -> list[tuple[str, int]]:
    for rule in rules.titles if title else ():
        if re.search(rule.pattern, title or "", re.IGNORECASE):
            return [(f"title_{rule.code}", rule.points)]
    return []


def _size_points(size: int | None, rules: FitRules) -> list[tuple[str, int]]:
    if size is None:
        return []
    bands = [b for b in rules.company_sizes if size >= b.min_employees]
    best = max(bands, key=lambda b: b.min_employees, default=None)
    return [(best.code, best.points)] if best else []


def _email_points(domain: str | None, rules: FitRules) -> list[tuple[str, int]]:
    if not domain:
        return []
    if domain.lower() in rules.free_email_domains:
        return [("free_email", rules.free_email_points)]
    return [("business_email", rules.business_email_points)]


def scored_events(events: Iterable[EngagementEvent], rules: EngagementRules) -> list[ScoredEvent]:
    """The events whose type scores, in time order (ties broken by source and id)."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.source, e.event_id))
    return [
        ScoredEvent(e.occurred_at, e.event_type, rules.events[e.event_type].points)
        for e in ordered
        if e.event_type in rules.events and rules.events[e.event_type].points
    ]


def counted_at(
    events: Sequence[ScoredEvent], at: datetime, rules: EngagementRules
) -> list[ScoredEvent]:
    """The events counting at ``at``: per type and UTC day, the ``daily_cap`` latest."""
    buckets: dict[tuple[str, date], list[ScoredEvent]] = defaultdict(list)
    for event in events:
        if event.at <= at:
            buckets[(event.event_type, event.at.date())].append(event)
    counted: list[ScoredEvent] = []
    for (event_type, _), bucket in buckets.items():
        counted.extend(bucket[-rules.events[event_type].daily_cap :])
    return counted


def decayed(event: ScoredEvent, at: datetime, rules: EngagementRules) -> float:
    """The event's points at ``at``, halved every half-life."""
    age_days = (at - event.at).total_seconds() / _SECONDS_PER_DAY
    return event.points * 0.5 ** (age_days / rules.half_life_days)


def engagement_at(events: Sequence[ScoredEvent], at: datetime, rules: EngagementRules) -> float:
    """The engagement score at ``at``."""
    return sum(decayed(e, at, rules) for e in counted_at(events, at, rules))


def engagement_now(
    events: Sequence[ScoredEvent], at: datetime, rules: EngagementRules
) -> tuple[float, tuple[str, ...]]:
    """:func:`engagement_at` and :func:`engagement_reasons` at ``at`` (the same values),
    counting the events once."""
    if not events:
        return 0, ()
    counted = counted_at(events, at, rules)
    shares = [decayed(event, at, rules) for event in counted]
    totals: dict[str, float] = defaultdict(float)
    for event, share in zip(counted, shares, strict=True):
        totals[event.event_type] += share
    reasons = tuple(f"engagement:{t}{round(v, 1):+g}" for t, v in sorted(totals.items()))
    return sum(shares), reasons


def engagement_reasons(
    events: Sequence[ScoredEvent], at: datetime, rules: EngagementRules
) -> tuple[str, ...]:
    """``engagement:<type><+points>`` per scoring type: its decayed share at ``at``."""
    totals: dict[str, float] = defaultdict(float)
    for event in counted_at(events, at, rules):
        totals[event.event_type] += decayed(event, at, rules)
    return tuple(f"engagement:{t}{round(v, 1):+g}" for t, v in sorted(totals.items()))
