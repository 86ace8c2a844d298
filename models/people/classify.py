"""Classify a person as cold, warm or qualified, and onto lifecycle stages: pure, rules as data.

``classify(person_facts, rules, now)`` reads only its arguments (the clock is ``now``) and
sees the person *as of* ``now``: leads, events, touches and decisions after ``now`` are
ignored, so replaying a past date gives the answer that date would have given.

- Channel: each lead's channel comes from the first matching channel rule; the person is
  warm if any lead came through a warm channel, else cold (lifecycle ``lead``; a warm person
  whose engagement ever reached the ``engaged`` threshold is ``engaged``).
- Qualified (lifecycle ``mql``) = a hand-raiser signal, or fit >= F and engagement >= E at
  the same moment. ``qualified_at`` is the earliest signal or the first moment, walking lead
  creations and events in time order with decay evaluated at each, that the scores crossed
  the thresholds: the SLA clock starts there.
- Sales: the latest sales decision wins. Acceptance (a CRM status change or current status,
  ``leadflow.models.people.decisions``, or an explicit :class:`SalesDecision`) is ``sql``;
  a rejection recycles the person to ``nurture`` (stage warm) with its reason, and only
  evidence after the rejection can qualify them again.
- Stages move forward because the facts they come from are dated and kept: a hand-raiser
  form, a crossing of the thresholds, a sales decision stay true of the moment they
  happened, so only a later rejection moves a person back. Nothing is read from an earlier
  classification (``PersonFacts.previous`` is only what ``transitions`` compares with):
  the same facts give the same answer whatever was decided before, a person split from
  another keeps only the facts of its own leads, and a rebuild gives what runs gave.
- Milestones: every qualification (the first moment qualified after each rejection, or
  ever) and every sales decision, dated: what the SLA evaluates.

The inputs are the records of ``leadflow.models.people.facts``; the stage changes a new
classification makes are ``leadflow.models.people.transitions``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from leadflow.models.people.decisions import sales_decisions
from leadflow.models.people.facts import LeadFacts, PersonFacts, PreviousState, SalesDecision
from leadflow.models.people.rules import ChannelRule, Rules
from leadflow.models.people.scoring import (
    engagement_at,
    engagement_now,
    fit_score,
    scored_events,
)
from leadflow.models.records.leads import Stage

LIFECYCLE_RANK = {"lead": 0, "engaged": 1, "nurture": 1, "mql": 2, "sql": 3}
STAGE_RANK = {Stage.COLD: 0, Stage.WARM: 1, Stage.QUALIFIED: 2}


@dataclass(frozen=True, slots=True, order=True)
class Milestone:
    """A qualification (``mql``: an SLA clock starts) or a sales decision (``sql``,
    ``rejected``) at ``at``, with the signal or decision behind it."""

    at: datetime
    kind: str
    reason: str


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
    milestones: tuple[Milestone, ...] = ()
    decisions: tuple[SalesDecision, ...] = ()

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
    score, why_engaged = engagement_now(events, now, rules.engagement)
    engagement = round(score, 3)
    reasons = [f"channel:{c}" for c in channels] + list(fit_reasons)
    reasons += why_engaged
    from_crm = sales_decisions(leads, person.status_changes, rules, now)
    decisions = sorted(
        (d for d in [*person.decisions, *from_crm] if d.at <= now),
        key=lambda d: (d.at, not d.accepted, d.reason),
    )
    decision = decisions[-1] if decisions else None
    found, why = milestones(person, leads, events, decisions, rules, now)
    reasons += why
    qualified_at = _qualified_at(found, decision)
    engaged = warm and _ever_engaged(events, rules)
    stage, lifecycle, at = _stage(warm, engaged, qualified_at, decision)
    if decision:
        reasons.append(f"sales:{'accepted' if decision.accepted else 'rejected'}:{decision.reason}")
    previous = person.previous
    return Classification(
        stage=stage,
        lifecycle=lifecycle,
        raw_stage=_raw_stage(leads),
        fit=fit,
        engagement=engagement,
        reasons=tuple(reasons),
        qualified_at=qualified_at,
        changed=previous is None or (previous.stage, previous.lifecycle) != (stage, lifecycle),
        channels=channels,
        lifecycle_at=at,
        rejection=decision.reason if lifecycle == "nurture" and decision else None,
        milestones=found,
        decisions=tuple(decisions),
    )


def milestones(
    person: PersonFacts,
    leads: Sequence[LeadFacts],
    events: Sequence[Any],
    decisions: Sequence[SalesDecision],
    rules: Rules,
    now: datetime,
) -> tuple[tuple[Milestone, ...], list[str]]:
    """Every qualification and sales decision of the person as of ``now`` (decisions
    sorted by time), with the qualification reasons.

    Rejections cut time into episodes; in each, the person qualifies at the earliest of a
    hand-raiser signal, the first crossing of the thresholds, or a sales acceptance (which
    qualifies whoever it accepts) after the episode's rejection and not after the next.
    """
    signals = hand_raisers(person, leads, rules, now)
    reasons = sorted({f"signal:{name}" for _, name in signals})
    bounds: list[datetime | None] = [None, *sorted({d.at for d in decisions if not d.accepted})]
    found: dict[tuple[str, datetime], Milestone] = {}
    crossed_any = False
    for i, start in enumerate(bounds):
        end = bounds[i + 1] if i + 1 < len(bounds) else None

        candidates = [(at, f"signal:{name}") for at, name in signals if _within(at, start, end)]
        crossed = score_crossing(leads, events, rules, start)
        if crossed is not None and _within(crossed, start, end):
            crossed_any = True
            candidates.append((crossed, "threshold"))
        candidates += [
            (d.at, f"sales:accepted:{d.reason}")
            for d in decisions
            if d.accepted and _within(d.at, start, end)
        ]
        if candidates:
            at, why = min(candidates)
            found[("mql", at)] = Milestone(at, "mql", why)
    for d in decisions:
        kind = "sql" if d.accepted else "rejected"
        found.setdefault((kind, d.at), Milestone(d.at, kind, d.reason))
    if crossed_any:
        reasons.append(
            f"threshold:fit>={rules.thresholds.fit},engagement>={rules.thresholds.engagement:g}"
        )
    return tuple(sorted(found.values())), reasons


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    """``at`` is in the episode after ``start`` up to ``end`` (None: open)."""
    return (start is None or at > start) and (end is None or at <= end)


def _qualified_at(found: Sequence[Milestone], decision: SalesDecision | None) -> datetime | None:
    """When the person became qualified: after the latest decision if it is a rejection
    (the episode now running), else the earliest qualification."""
    starts = [m.at for m in found if m.kind == "mql"]
    if decision is not None and not decision.accepted:
        starts = [at for at in starts if at > decision.at]
    return min(starts, default=None)


def _ever_engaged(events: Sequence[Any], rules: Rules) -> bool:
    """Whether engagement ever reached the ``engaged`` threshold (it only rises at events,
    so checking at each event is exact)."""
    limit = rules.thresholds.engaged
    return any(engagement_at(events, e.at, rules.engagement) >= limit for e in events)


class _Memo:
    """Answers that depend on a few fields of a lead and on the rules only, kept per rules
    object: a million leads have a few hundred distinct fit inputs and channel fields."""

    LIMIT = 200_000  # distinct inputs kept before starting afresh

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.fits: dict[Any, tuple[int, tuple[str, ...]]] = {}
        self.channels: dict[tuple[Any, ...], str] = {}


_MEMOS: dict[int, _Memo] = {}


def _memo(rules: Rules) -> _Memo:
    found = _LAST[0]
    if found is not None and found.rules is rules:  # the rules of the call before
        return found
    found = _MEMOS.get(id(rules))
    if found is None or found.rules is not rules:  # an id reused by other rules
        if len(_MEMOS) >= 8:
            _MEMOS.clear()
        found = _MEMOS[id(rules)] = _Memo(rules)
    _LAST[0] = found
    return found


_LAST: list[_Memo | None] = [None]


_FIT_FIELDS = attrgetter("job_title", "company_size", "country", "email_domain")


def _fit(lead: LeadFacts, rules: Rules) -> tuple[int, tuple[str, ...]]:
    """``fit_score`` of one lead, memoized by its fit inputs (``LeadFacts.fit_inputs``'s
    fields: a tuple of them is cheaper to build and hash than the record)."""
    memo, key = _memo(rules), _FIT_FIELDS(lead)
    found = memo.fits.get(key)
    if found is None:
        if len(memo.fits) >= _Memo.LIMIT:
            memo.fits.clear()
        found = memo.fits[key] = fit_score(lead.fit_inputs, rules.fit)
    return found


_CHANNEL_FIELDS = attrgetter("is_organic", "source", "utm_source", "utm_medium", "utm_campaign",
                             "analytics_source", "form_name")  # fmt: skip


def detect_channel(lead: LeadFacts, rules: Rules) -> str:
    """The channel of the first rule matching ``lead``, else the default channel."""
    memo = _memo(rules)
    key = _CHANNEL_FIELDS(lead)
    found = memo.channels.get(key)
    if found is None:
        if len(memo.channels) >= _Memo.LIMIT:
            memo.channels.clear()
        found = memo.channels[key] = next(
            (rule.channel for rule in rules.channels.rules if _rule_matches(rule, lead)),
            rules.channels.default_channel,
        )
    return found


def _rule_matches(rule: ChannelRule, lead: LeadFacts) -> bool:
    if rule.is_organic is not None and lead.is_organic is not rule.is_organic:
        return False
    for name in ("source", "utm_source", "utm_medium", "utm_campaign", "analytics_source"):
        if not _matches(getattr(rule, name), getattr(lead, name)):
            return False
    return _matches(rule.form_name, lead.form_name)


def _matches(pattern: str | None, value: str | None) -> bool:
    """Whether ``pattern`` (None: anything) is found in ``value``, ignoring case; memoized
    (a few patterns, a few hundred distinct form names and stages)."""
    if pattern is None:
        return True
    if value is None:
        return False
    key = (pattern, value)
    found = _MATCHES.get(key)
    if found is None:
        if len(_MATCHES) >= _Memo.LIMIT:
            _MATCHES.clear()
        found = _MATCHES[key] = re.search(pattern, value.strip(), re.IGNORECASE) is not None
    return found


_MATCHES: dict[tuple[str, str], bool] = {}


def best_fit(leads: Sequence[LeadFacts], rules: Rules) -> tuple[int, tuple[str, ...]]:
    """The highest fit any of the person's leads gives (the first lead wins ties)."""
    scores = [_fit(lead, rules) for lead in leads]
    return max(scores, key=lambda s: s[0], default=(0, ()))


def hand_raisers(
    person: PersonFacts, leads: Sequence[LeadFacts], rules: Rules, now: datetime
) -> list[tuple[datetime, str]]:
    """Every hand-raiser signal as (time, name), in time order."""
    found: list[tuple[datetime, str]] = []
    events, touches = person.events, person.touches
    for rule in rules.hand_raisers:
        name, form, stage = rule.name, rule.form_name, rule.source_stage
        if form or stage:
            for lead in leads:
                if form and _matches(form, lead.form_name):
                    found.append((lead.created_at, name))
                if stage and _matches(stage, lead.source_stage):
                    found.append((min(max(lead.updated_at, lead.created_at), now), name))
        if events:
            kind = rule.event_type
            found += [(e.occurred_at, name) for e in events if e.event_type == kind]
        if touches:
            kind = rule.touch_type
            found += [(t.occurred_at, name) for t in touches if t.touch_type == kind]
    return sorted(signal for signal in found if signal[0] <= now)


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
    limits = rules.thresholds
    fits = [(lead.created_at, _fit(lead, rules)[0]) for lead in leads]
    if not events or max((fit for _, fit in fits), default=0) < limits.fit:
        return None  # most people: the fit never gets there, or nothing to engage with
    moments = sorted({at for at, _ in fits} | {e.at for e in events})
    for moment in moments:
        if after is not None and moment <= after:
            continue
        fit = max((fit for at, fit in fits if at <= moment), default=0)
        if (
            fit >= limits.fit
            and engagement_at(events, moment, rules.engagement) >= limits.engagement
        ):
            return moment
    return None


def _stage(
    warm: bool,
    engaged: bool,
    qualified_at: datetime | None,
    decision: SalesDecision | None,
) -> tuple[Stage, str, datetime | None]:
    if decision is not None and decision.accepted:
        return Stage.QUALIFIED, "sql", decision.at
    if qualified_at is not None:
        return Stage.QUALIFIED, "mql", qualified_at
    if decision is not None:
        return Stage.WARM, "nurture", decision.at
    if warm:
        return Stage.WARM, "engaged" if engaged else "lead", None
    return Stage.COLD, "lead", None
