"""Facts to classify, built small: the shared builders of the classification tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from leadflow.models.people.facts import LeadFacts, PersonFacts
from leadflow.models.people.rules import default_rules
from leadflow.models.records.activity import EngagementEvent

RULES = default_rules()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
LATER = T0 + timedelta(days=2)  # when sales decide, in the sales decision tests


def lead(**changes: object) -> LeadFacts:
    base = LeadFacts(source="csv", source_lead_id="1", created_at=T0, updated_at=T0)
    return replace(base, **changes)


def event(event_type: str, at: datetime, n: int = 0) -> EngagementEvent:
    return EngagementEvent(
        source="mailchimp",
        event_id=f"{event_type}-{at.isoformat()}-{n}",
        account_id="a",
        event_type=event_type,
        occurred_at=at,
    )


def person(
    *leads: LeadFacts, events=(), touches=(), previous=None, decisions=(), status_changes=()
) -> PersonFacts:
    return PersonFacts(
        "p1", leads or (lead(),), events, touches, previous, decisions, status_changes
    )


VP = {"job_title": "VP Marketing", "email_domain": "acme.com"}  # fit 20 + 10 = 30
# webinar 15 + form 10 + two clicks 6 = 31, all on one morning
ENGAGED = (("webinar_attended", 0), ("form_submission", 1), ("click", 2), ("click", 3))


def burst(start: datetime, spacing: timedelta = timedelta(hours=1)) -> list[EngagementEvent]:
    return [event(kind, start + i * spacing, i) for kind, i in ENGAGED]
