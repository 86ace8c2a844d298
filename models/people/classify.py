"""Classify a person as cold, warm or qualified, and onto lifecycle stages: pure, rules as data.

``classify(person_facts, rules, now)`` reads only its arguments (the clock is ``now``) and
sees the person *as of* ``now``: leads, events, touches and decisions after ``now`` are
ignored, so replaying a past date gives the answer that date would have given.

- Channel: each lead's channel comes from the first matching channel rule; the person is
  warm if any lead came through a warm channel, else cold (lifecycle ``lead``; a warm person
  with some engagement is ``engaged``).
- Qualified (lifecycle ``mql``) = a hand-raiser signal, or fit >= F and engagement >= E at
  the same moment. ``qualified_at`` is the earliest signal or the first moment, walking lead
  creations and events in time order with decay evaluated at each, that the scores crossed
  the thresholds: the SLA clock starts there.
- Sales: the latest sales decision wins. Acceptance (CRM lifecycle/lead status, or an explicit
  :class:`SalesDecision`) is ``sql``; a rejection recycles the person to ``nurture`` (stage
  warm) with its reason, and only evidence after the rejection can qualify them again.
- Stages only move forward from ``previous``, except through a rejection.

The inputs are the records of ``leadflow.models.people.facts``; the stage changes a new
classification makes are ``leadflow.models.people.transitions``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from leadflow.models.people.facts import LeadFacts, PersonFacts, PreviousState, SalesDecision
from leadflow.models.people.rules import ChannelRule, Rules
from leadflow.models.people.scoring import (
    engagement_at,
    engagement_reasons,
    fit_score,
    scored_events,
)
from leadflow.models.records.leads import Stage

LIFECYCLE_RANK = {"lead": 0, "engaged": 1, "nurture": 1, "mql": 2, "sql": 3}
STAGE_RANK = {Stage.COLD: 0, Stage.WARM: 1, Stage.QUALIFIED: 2}


@dataclass(frozen=True, slots=True)
class Classification:
    """The person's stage, lifecycle stage, scores and the reasons for them.

    ``raw_stage`` is the source system's own stage (``source:value``) of the most recently
    updated lead that has one; ``lifecycle_at`` is when the current lifecycle stage was
    entered, when known exactly (qualification, sales decision).
    """

    stage: Stage
    lifecycle: str
    raw_stage: str | None
    fit: int
    engagement: float
    reasons: tuple[str, ...]
    qualified_at: datetime | None
    changed: bool
    channels: tuple[str, ...] = ()
    lifecycle_at: datetime | None = None
    rejection: str | None = None

    @property
    def previous_state(self) -> PreviousState:
        """This classification as the ``previous`` of the next run."""
        return PreviousState(self.stage, self.lifecycle, self.qualified_at)


def classify(person: PersonFacts, rules: Rules, now: datetime) -> Classification:
    """Classify ``person`` as of ``now`` under ``rules``."""
    leads = sorted(
        (lead for lead in person.leads if lead.created_at <= now),
        key=lambda lead: (lead.created_at, lead.source, lead.source_lead_id),
    )
    channels = tuple(sorted({detect_channel(lead, rules) for lead in leads})) or ("none",)
    warm = any(rules.channels.temperature_of(c) == "warm" for c in channels if c != "none")
    events = scored_events((e for e in person.events if e.occurred_at <= now), rules.engagement)
    fit, fit_reasons = best_fit(leads, rules)
    engagement = round(engagement_at(events, now, rules.engagement), 3)
    reasons = [f"channel:{c}" for c in channels] + list(fit_reasons)
    reasons += engagement_reasons(events, now, rules.engagement)
    decision = _latest_decision([*person.decisions, *crm_decisions(leads, rules, now)])
    rejected_at = decision.at if decision and not decision.accepted else None
    qualified_at, why = _qualification(person, leads, events, rules, now, rejected_at)
    reasons += why
    stage, lifecycle, at = _stage(warm, engagement, qualified_at, decision, rules)
    if decision:
        reasons.append(f"sales:{'accepted' if decision.accepted else 'rejected'}:{decision.reason}")
        if decision.accepted and (qualified_at is None or decision.at < qualified_at):
            qualified_at = decision.at
    new = Classification(
        stage=stage,
        lifecycle=lifecycle,
        raw_stage=_raw_stage(leads),
        fit=fit,
        engagement=engagement,
        reasons=tuple(reasons),
        qualified_at=qualified_at,
        changed=True,
        channels=channels,
        lifecycle_at=at,
        rejection=decision.reason if lifecycle == "nurture" and decision else None,
    )
    return _forward_only(person.previous, new, rejected_at)


def detect_channel(lead: LeadFacts, rules: Rules) -> str:
    """The channel of the first rule matching ``lead``, else the default channel."""
    for rule in rules.channels.rules:
        if _rule_matches(rule, lead):
            return rule.channel
    return rules.channels.default_channel


def _rule_matches(rule: ChannelRule, lead: LeadFacts) -> bool:
    if rule.is_organic is not None and lead.is_organic is not rule.is_organic:
        return False
    for name in ("source", "utm_source", "utm_medium", "utm_campaign", "analytics_source"):
        if not _matches(getattr(rule, name), getattr(lead, name)):
            return False
    return _matches(rule.form_name, lead.form_name)


def _matches(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    return value is not None and re.search(pattern, value.strip(), re.IGNORECASE) is not None


def best_fit(leads: Sequence[LeadFacts], rules: Rules) -> tuple[int, tuple[str, ...]]:
    """The highest fit any of the person's leads gives (the first lead wins ties)."""
    scores = [fit_score(lead.fit_inputs, rules.fit) for lead in leads]
    return max(scores, key=lambda s: s[0], default=(0, ()))


def hand_raisers(
    person: PersonFacts, leads: Sequence[LeadFacts], rules: Rules, now: datetime
) -> list[tuple[datetime, str]]:
    """Every hand-raiser signal as (time, name), in time order."""
    found: list[tuple[datetime, str]] = []
    for rule in rules.hand_raisers:
        for lead in leads:
            if rule.form_name and _matches(rule.form_name, lead.form_name):
                found.append((lead.created_at, rule.name))
            if rule.source_stage and _matches(rule.source_stage, lead.source_stage):
                found.append((min(max(lead.updated_at, lead.created_at), now), rule.name))
        found += [
            (e.occurred_at, rule.name) for e in person.events if e.event_type == rule.event_type
        ]
        found += [
            (t.occurred_at, rule.name) for t in person.touches if t.touch_type == rule.touch_type
        ]
    return sorted(signal for signal in found if signal[0] <= now)


def crm_decisions(leads: Iterable[LeadFacts], rules: Rules, now: datetime) -> list[SalesDecision]:
    """Sales decisions read from CRM fields, dated by the lead's last update."""
    sales, found = rules.sales, []
    for lead in leads:
        at = min(max(lead.updated_at, lead.created_at), now)
        status = (lead.lead_status or "").strip().lower()
        stage = (lead.source_stage or "").strip().lower()
        if status in sales.rejected_lead_statuses:
            found.append(SalesDecision(at, False, f"hs_lead_status={lead.lead_status}"))
        elif stage in sales.accepted_lifecycle_stages:
            found.append(SalesDecision(at, True, f"lifecyclestage={lead.source_stage}"))
        elif status in sales.accepted_lead_statuses:
            found.append(SalesDecision(at, True, f"hs_lead_status={lead.lead_status}"))
    return found


def _raw_stage(leads: Sequence[LeadFacts]) -> str | None:
    """``source:stage`` of the most recently updated lead carrying a platform stage."""
    staged = [lead for lead in leads if lead.source_stage]
    latest = max(staged, key=lambda lead: (lead.updated_at, lead.source), default=None)
    return f"{latest.source}:{latest.source_stage}" if latest else None


def _latest_decision(decisions: Iterable[SalesDecision]) -> SalesDecision | None:
    # On a tie a rejection wins: HubSpot often leaves lifecyclestage at SQL when a rep
    # sets hs_lead_status to UNQUALIFIED.
    return max(decisions, key=lambda d: (d.at, not d.accepted, d.reason), default=None)


def score_crossing(
    leads: Sequence[LeadFacts], events: Sequence[Any], rules: Rules, after: datetime | None
) -> datetime | None:
    """The first moment (after ``after``) that fit >= F and engagement >= E held together.

    Candidates are lead creations (fit can only change then) and event times (engagement
    can only rise then), so the first candidate meeting both thresholds is exact.
    """
    moments = sorted({lead.created_at for lead in leads} | {e.at for e in events})
    limits = rules.thresholds
    for moment in moments:
        if after is not None and moment <= after:
            continue
        fit, _ = best_fit([lead for lead in leads if lead.created_at <= moment], rules)
        if (
            fit >= limits.fit
            and engagement_at(events, moment, rules.engagement) >= limits.engagement
        ):
            return moment
    return None


def _qualification(
    person: PersonFacts,
    leads: Sequence[LeadFacts],
    events: Sequence[Any],
    rules: Rules,
    now: datetime,
    rejected_at: datetime | None,
) -> tuple[datetime | None, list[str]]:
    """When the person (last) became qualified, with the reasons."""
    signals = hand_raisers(person, leads, rules, now)
    reasons = sorted({f"signal:{name}" for _, name in signals})
    live = [at for at, _ in signals if rejected_at is None or at > rejected_at]
    crossed = score_crossing(leads, events, rules, rejected_at)
    if crossed is not None:
        reasons.append(
            f"threshold:fit>={rules.thresholds.fit},engagement>={rules.thresholds.engagement:g}"
        )
    return min([*live, *([crossed] if crossed else [])], default=None), reasons


def _stage(
    warm: bool,
    engagement: float,
    qualified_at: datetime | None,
    decision: SalesDecision | None,
    rules: Rules,
) -> tuple[Stage, str, datetime | None]:
    if decision is not None and decision.accepted:
        return Stage.QUALIFIED, "sql", decision.at
    if qualified_at is not None:
        return Stage.QUALIFIED, "mql", qualified_at
    if decision is not None:
        return Stage.WARM, "nurture", decision.at
    if warm:
        engaged = engagement >= rules.thresholds.engaged
        return Stage.WARM, "engaged" if engaged else "lead", None
    return Stage.COLD, "lead", None


def _rank(stage: Stage, lifecycle: str) -> tuple[int, int]:
    return LIFECYCLE_RANK.get(lifecycle, 0), STAGE_RANK[stage]


def _forward_only(
    previous: PreviousState | None, new: Classification, rejected_at: datetime | None
) -> Classification:
    """Hold the previous stage unless ``new`` is further along or an explicit rejection."""
    if previous is None:
        return new
    prior_qualified = previous.qualified_at
    if prior_qualified is not None and rejected_at is not None and prior_qualified <= rejected_at:
        prior_qualified = None  # the rejection reset the SLA clock
    # A rejection moves backwards only if it is news: not older than the prior qualification.
    rejection = new.lifecycle == "nurture" and prior_qualified is None
    if not rejection and _rank(new.stage, new.lifecycle) < _rank(
        previous.stage, previous.lifecycle
    ):
        return replace(
            new,
            stage=previous.stage,
            lifecycle=previous.lifecycle,
            qualified_at=previous.qualified_at,
            lifecycle_at=None,
            reasons=(*new.reasons, f"stage:held:{previous.lifecycle}"),
            changed=False,
        )
    qualified = [t for t in (new.qualified_at, prior_qualified) if t is not None]
    changed = (new.stage, new.lifecycle) != (previous.stage, previous.lifecycle)
    return replace(new, qualified_at=min(qualified, default=None), changed=changed)
