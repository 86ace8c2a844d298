"""One contact's calls, emails and meetings (engagement drafts) for ``hubspot_sales_data``.

Property values follow the engagement guides (https://developers.hubspot.com/docs/api/crm/calls,
.../emails, .../meetings): ISO ``hs_timestamp``; calls carry a direction, an outcome GUID
(``hs_call_disposition``), a status and a duration in ms; emails a direction (EMAIL sent by
the rep, INCOMING_EMAIL a reply to a logged email, FORWARDED_EMAIL forwarded to the CRM)
and a send status; meetings a start/end time (``hs_timestamp`` = start) and an outcome.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadflow.sandbox.data import ACTIVE_OWNER_IDS, format_hubspot_datetime
from leadflow.sandbox.hubspot.properties import CALL_DISPOSITIONS

GUIDS = {label: guid for guid, label in CALL_DISPOSITIONS.items()}
CALL_OUTCOMES = (("Connected", 35), ("No answer", 25), ("Left voicemail", 20), ("Busy", 8),
                 ("Left live message", 7), ("Wrong number", 5))  # fmt: skip
CALL_SECONDS = {"Connected": (180, 1500), "Left voicemail": (30, 90),
                "Left live message": (60, 240), "Wrong number": (10, 40)}  # fmt: skip
MEETING_OUTCOMES = (("COMPLETED", 55), ("NO_SHOW", 15), ("CANCELED", 12),
                    ("RESCHEDULED", 10), ("SCHEDULED", 8))  # fmt: skip
SUBJECTS = ("Quick question about {company}", "Following up on your demo request",
            "{first}, 15 minutes this week?", "Resources for {company}", "Checking in")  # fmt: skip
FORWARDS = ("Pricing question", "Demo request", "Partnership inquiry")
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


@dataclass
class Draft:
    """An engagement before it gets its id: type, properties, associated contact ids."""

    object_type: str
    properties: dict[str, Any]
    contact_ids: list[str]
    order: int = 0


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _between(rng: random.Random, low: timedelta, high: timedelta) -> timedelta:
    return low + (max(high, low) - low) * rng.random()


def _shared(value: Any) -> Any:
    """One string object for each text engagements repeat (titles, subjects, directions:
    a few thousand texts over millions of engagements)."""
    return sys.intern(value) if type(value) is str else value


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


@dataclass
class _Plan:
    rng: random.Random
    contact: dict[str, Any]
    anchor: datetime
    drafts: list[Draft] = field(default_factory=list)
    last: datetime | None = None

    @property
    def props(self) -> dict[str, Any]:
        return self.contact["properties"]

    def _name(self) -> str:
        parts = [self.props.get("firstname"), self.props.get("lastname")]
        return " ".join(p for p in parts if p) or "contact"

    def _add(self, kind: str, when: datetime, created: datetime, owner: str | None,
             values: dict[str, Any]) -> None:  # fmt: skip
        created = min(created, self.anchor - MINUTE)
        modified = created
        if self.rng.random() < 0.4:
            modified = min(created + _between(self.rng, MINUTE, 7 * DAY), self.anchor)
        self.drafts.append(Draft(kind, {
            "hs_timestamp": format_hubspot_datetime(when), "hubspot_owner_id": owner,
            "hs_createdate": format_hubspot_datetime(created),
            "hs_lastmodifieddate": format_hubspot_datetime(modified),
            **{name: _shared(value) for name, value in values.items()},
        }, [self.contact["id"]], len(self.drafts)))  # fmt: skip
        self.last = max(self.last or when, when)

    def call(self, when: datetime, owner: str | None, direction: str) -> None:
        label = "Connected" if direction == "INBOUND" else _weighted(self.rng, CALL_OUTCOMES)
        seconds = self.rng.randint(*CALL_SECONDS.get(label, (0, 20)))
        status = {"No answer": "NO_ANSWER", "Busy": "BUSY"}.get(label, "COMPLETED")
        title = f"Inbound call from {self._name()}" if direction == "INBOUND" else None
        created = when + timedelta(seconds=seconds) + _between(self.rng, MINUTE, 10 * MINUTE)
        self._add("calls", when, created, owner, {
            "hs_call_title": title or f"Call with {self._name()}",
            "hs_call_direction": direction, "hs_call_disposition": GUIDS[label],
            "hs_call_status": status if self.rng.random() < 0.5 else "COMPLETED",
            "hs_call_duration": str(seconds * 1000),
        })  # fmt: skip

    def email(self, when: datetime, owner: str | None, direction: str, subject: str) -> None:
        status = None
        if direction == "EMAIL":
            status = "BOUNCED" if self.rng.random() < 0.05 else "SENT"
        created = when + _between(self.rng, timedelta(0), 2 * MINUTE)
        self._add("emails", when, created, owner, {
            "hs_email_subject": subject, "hs_email_direction": direction,
            "hs_email_status": status, "hs_email_text": f"{subject}\n\n(sandbox email body)",
        })  # fmt: skip

    def meeting(self, owner: str) -> None:
        assert self.last is not None
        start = self.last + _between(self.rng, DAY, 7 * DAY)
        booked = self.last + _between(self.rng, 5 * MINUTE, 2 * HOUR)
        outcome = "SCHEDULED" if start > self.anchor else _weighted(self.rng, MEETING_OUTCOMES)
        company = self.props.get("company")
        title = self.rng.choice(("Discovery call", "Product demo", "Intro call"))
        end = start + self.rng.choice((30, 45)) * MINUTE
        self._add("meetings", start, booked, owner, {
            "hs_meeting_title": f"{title} - {company}" if company else title,
            "hs_meeting_body": f"{title} with {self._name()}",
            "hs_meeting_start_time": format_hubspot_datetime(start),
            "hs_meeting_end_time": format_hubspot_datetime(end), "hs_meeting_outcome": outcome,
        })  # fmt: skip
        if outcome != "SCHEDULED":  # the rep records the outcome after the meeting
            logged = min(end + _between(self.rng, MINUTE, DAY), self.anchor)
            props = self.drafts[-1].properties
            props["hs_lastmodifieddate"] = max(
                props["hs_lastmodifieddate"], format_hubspot_datetime(logged)
            )

    def subject(self) -> str:
        company = self.props.get("company") or "your team"
        return self.rng.choice(SUBJECTS).format(company=company, first=self.props.get(
            "firstname") or "there")  # fmt: skip

    def inbound(self, when: datetime, owner: str | None) -> None:
        if owner and self.rng.random() < 0.3:
            self.email(when, owner, "FORWARDED_EMAIL", f"Fwd: {self.rng.choice(FORWARDS)}")
        else:
            self.call(when, owner or self.rng.choice(ACTIVE_OWNER_IDS), "INBOUND")

    def outreach(self, owner: str, start: datetime, stop: datetime, touches: int,
                 meeting: bool) -> None:  # fmt: skip
        when = start + _between(self.rng, 10 * MINUTE, min(3 * DAY, (stop - start) / 2))
        for _ in range(touches):
            if when >= stop:
                break
            if self.rng.random() < 0.55:
                self.call(when, owner, "OUTBOUND")
            else:
                subject = self.subject()
                self.email(when, owner, "EMAIL", subject)
                reply = when + _between(self.rng, HOUR, 2 * DAY)
                if self.rng.random() < 0.25 and reply < stop:
                    self.email(reply, owner, "INCOMING_EMAIL", f"Re: {subject}")
            when += _between(self.rng, HOUR, 4 * DAY)
        if meeting and self.last is not None and self.rng.random() < 0.35:
            self.meeting(owner)


def contact_touches(
    rng: random.Random,
    contact: dict[str, Any],
    previous_owner: str,
    anchor: datetime,
    reassign_gap: timedelta,
) -> list[Draft]:
    """Drafts for one contact; ``previous_owner`` works it before a late re-assignment."""
    props = contact["properties"]
    created, owner = _parse(props["createdate"]), props.get("hubspot_owner_id")
    assert created is not None
    assigned = (_parse(props.get("hubspot_owner_assigneddate")) if owner else None) or created
    end = anchor - HOUR
    untouched = rng.random() < (0.25 if owner else 0.6)
    if untouched or end - created < 6 * HOUR:
        return []
    plan = _Plan(rng, contact, anchor)
    reassigned = owner is not None and assigned - created > reassign_gap
    if not owner or rng.random() < 0.35:
        when = created + _between(rng, 2 * MINUTE, min(36 * HOUR, (end - created) / 3))
        at_the_time = owner if not reassigned or when >= assigned else previous_owner
        plan.inbound(when, at_the_time)
    if reassigned:
        plan.outreach(previous_owner, created, assigned, rng.randint(1, 3), meeting=False)
    if owner:
        plan.outreach(owner, max(assigned, plan.last or created), end, rng.randint(1, 4), True)
    return plan.drafts
