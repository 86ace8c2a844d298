"""SLA evaluation (pure): each qualification against each rule, then period roll-ups.

A *qualification* is a person becoming an MQL at ``clock_start``; every per-person rule
judges it as ``met``, ``breached`` or ``pending`` (deadline not passed and nothing decided
yet). Roll-ups count met and breached (pending is not decided, so it is left out of the
percentage) per period, overall, per team and per rep. ``qualified_volume`` counts the
qualifications themselves against a target per period.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.models.sla.clock import BusinessCalendar, period_month, period_week
from leadflow.models.sla.config import SlaRules

UNASSIGNED = "unassigned"
MINUTES = 60.0


@dataclass(frozen=True)
class Qualification:
    """A person became qualified (MQL) at ``clock_start``; the rep and team answer for it."""

    person_id: str
    clock_start: datetime
    fit: int | None = None
    rep_id: str | None = None
    rep_source: str | None = None
    team: str = UNASSIGNED
    # Only a sales rejection shows the person was handed over (the classifier resets the
    # qualification a rejection answers): counted for sales_acceptance alone, at the decision.
    inferred: bool = False


@dataclass(frozen=True)
class Touch:
    """A sales activity on the person: an outbound attempt, and whether they connected."""

    at: datetime
    outbound: bool
    connected: bool = False


@dataclass(frozen=True)
class Decision:
    """Sales accepted (SQL) or rejected (back to nurture) the person at ``at``."""

    at: datetime
    accepted: bool


@dataclass(frozen=True)
class Evaluation:
    """One row of ``sla_evaluations`` (without the history columns)."""

    rule: str
    person_id: str
    clock_start: datetime
    period_month: str
    period_week: str
    status: str
    severity: str
    team: str
    rep_id: str | None = None
    rep_source: str | None = None
    due_at: datetime | None = None
    event_at: datetime | None = None
    business_minutes: float | None = None
    wall_minutes: float | None = None
    minutes_late: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.rule, self.person_id, self.clock_start)


@dataclass(frozen=True)
class Facts:
    """What the rules read about one qualification; lists sorted by time."""

    qualification: Qualification
    touches: Sequence[Touch] = ()
    decisions: Sequence[Decision] = ()


def _deadline(
    start: datetime, due: datetime, event: datetime | None, calendar: BusinessCalendar,
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """met if the event came by the deadline; breached if late or the deadline passed; else
    pending. Elapsed time runs to the event, or to ``now`` while there is none."""
    end = event if event is not None else now
    elapsed = {
        "due_at": due,
        "event_at": event,
        "business_minutes": round(max(calendar.business_minutes(start, end), 0.0), 3),
        "wall_minutes": round(max((end - start).total_seconds() / MINUTES, 0.0), 3),
    }
    if event is not None and event <= due:
        return {**elapsed, "status": "met"}
    if event is None and now <= due:
        return {**elapsed, "status": "pending"}
    late = round(calendar.business_minutes(due, end), 3)
    return {**elapsed, "status": "breached", "minutes_late": late}


def _first_touch(facts: Facts, rules: SlaRules, cal: BusinessCalendar, now: datetime) -> dict:
    start = facts.qualification.clock_start
    due = cal.add_business_minutes(start, rules.first_touch.business_minutes)
    first = next((t.at for t in facts.touches if t.outbound and t.at >= start), None)
    return _deadline(start, due, first, cal, now)


def _touch_attempts(facts: Facts, rules: SlaRules, cal: BusinessCalendar, now: datetime) -> dict:
    rule, start = rules.touch_attempts, facts.qualification.clock_start
    due = cal.add_business_days(start, rule.business_days)
    window = [t for t in facts.touches if start <= t.at <= due]
    attempts = [t.at for t in window if t.outbound]
    connected = next((t.at for t in window if t.connected), None)
    done = [at for at in (connected, _nth(attempts, rule.attempts)) if at is not None]
    found = _deadline(start, due, min(done, default=None), cal, now)
    detail = {"attempts": len(attempts), "required": rule.attempts, "connected": bool(connected)}
    return {**found, "detail": detail}


def _accept_reject(facts: Facts, rules: SlaRules, cal: BusinessCalendar, now: datetime) -> dict:
    start = facts.qualification.clock_start
    due = cal.add_business_minutes(start, rules.accept_reject.business_hours * MINUTES)
    decision = _decision(facts)
    found = _deadline(start, due, decision.at if decision else None, cal, now)
    return {**found, "detail": _decision_detail(decision)}


def _icp_fit(facts: Facts, rules: SlaRules, cal: BusinessCalendar, now: datetime) -> dict:
    fit, needed = facts.qualification.fit, rules.icp_fit.min_fit
    status = "met" if fit is not None and fit >= needed else "breached"
    return {"status": status, "detail": {"fit": fit, "min_fit": needed}}


def _sales_acceptance(facts: Facts, rules: SlaRules, cal: BusinessCalendar, now: datetime) -> dict:
    decision = _decision(facts)
    if decision is None:
        return {"status": "pending", "detail": _decision_detail(None)}
    status = "met" if decision.accepted else "breached"
    return {"status": status, "event_at": decision.at, "detail": _decision_detail(decision)}


def _decision(facts: Facts) -> Decision | None:
    start = facts.qualification.clock_start
    return next((d for d in facts.decisions if d.at >= start), None)


def _decision_detail(decision: Decision | None) -> dict[str, Any]:
    if decision is None:
        return {"decision": None}
    return {"decision": "accepted" if decision.accepted else "rejected"}


def _nth(items: Sequence[datetime], n: int) -> datetime | None:
    return items[n - 1] if len(items) >= n else None


JUDGES = {
    "first_touch": _first_touch,
    "touch_attempts": _touch_attempts,
    "accept_reject": _accept_reject,
    "icp_fit": _icp_fit,
    "sales_acceptance": _sales_acceptance,
}


@dataclass(frozen=True)
class Rollup:
    """One row of ``sla_results`` (without run_id and evaluated_at)."""

    rule: str
    period: str
    period_kind: str
    group_key: str
    scope: str
    team: str | None
    rep_id: str | None
    numerator: int
    denominator: int
    pending: int
    percentage: float | None
    target: float
    status: str
    severity: str


@dataclass(frozen=True)
class StatusGroup:
    """``count`` evaluations alike in all a roll-up reads (a GROUP BY of the stored ones)."""

    rule: str
    period_month: str
    period_week: str
    status: str
    team: str
    rep_id: str | None
    rep_source: str | None
    count: int


def rollups(
    evaluations: Iterable[Evaluation | StatusGroup], rules: SlaRules, period_kind: str
) -> list[Rollup]:
    """Met / decided per rule, period and group (overall, team, rep)."""
    counts: dict[tuple[str, str, str, str | None, str | None], list[int]] = defaultdict(
        lambda: [0, 0, 0]
    )
    for e in evaluations:
        period = e.period_month if period_kind == "month" else e.period_week
        slot = {"met": 0, "breached": 1, "pending": 2}[e.status]
        rep = f"{e.rep_source}:{e.rep_id}" if e.rep_id else None
        weight = e.count if isinstance(e, StatusGroup) else 1
        for scope, team, rep_key in (
            ("overall", None, None), ("team", e.team, None), ("rep", e.team, rep)
        ):  # fmt: skip
            if scope == "rep" and rep_key is None:
                continue
            counts[(e.rule, period, scope, team, rep_key)][slot] += weight
    enabled = rules.enabled()
    rows = []
    for (rule_name, period, scope, team, rep_key), (met, breached, pending) in counts.items():
        rule = enabled[rule_name]
        decided = met + breached
        percentage = round(100.0 * met / decided, 3) if decided else None
        target = round(100.0 * rule.target, 3)
        status = "pending" if percentage is None else "passed" if percentage >= target else "failed"
        rows.append(Rollup(
            rule=rule_name, period=period, period_kind=period_kind,
            group_key=_group_key(scope, team, rep_key), scope=scope, team=team,
            rep_id=rep_key.split(":", 1)[1] if rep_key else None, numerator=met,
            denominator=decided, pending=pending, percentage=percentage, target=target,
            status=status, severity=rule.severity,
        ))  # fmt: skip
    return sorted(rows, key=lambda r: (r.rule, r.period, r.group_key))


def volume_rollups(
    qualifications: Iterable[Qualification],
    rules: SlaRules,
    period_kind: str,
    calendar: BusinessCalendar,
    current_period: str,
    counted: Mapping[tuple[str, str], int] | None = None,
) -> list[Rollup]:
    """Qualified leads per period against ``qualified_volume`` targets (overall and per
    team with a target). A period still running is pending until it reaches its target.
    ``counted``: the :func:`qualified_by_period` of the qualifications, given instead."""
    rule = rules.qualified_volume
    if not rule.enabled:
        return []
    if counted is None:
        counted = qualified_by_period(qualifications, period_kind, calendar.zone)
    counts: dict[tuple[str, str | None], int] = defaultdict(int)
    for (period, team), qualified in counted.items():
        counts[(period, None)] += qualified
        if team in rule.per_team:
            counts[(period, team)] += qualified
    for period in {p for p, _ in counts} | {current_period}:
        counts.setdefault((period, None), 0)
        for team in rule.per_team:
            counts.setdefault((period, team), 0)
    rows = []
    for (period, team), qualified in counts.items():
        target = rule.per_period if team is None else rule.per_team[team]
        if qualified >= target:
            status = "passed"
        else:
            status = "pending" if period >= current_period else "failed"
        scope = "overall" if team is None else "team"
        rows.append(Rollup(
            rule="qualified_volume", period=period, period_kind=period_kind,
            group_key=_group_key(scope, team, None), scope=scope, team=team, rep_id=None,
            numerator=qualified, denominator=target, pending=0,
            percentage=round(100.0 * qualified / target, 3) if target else None,
            target=float(target), status=status, severity=rule.severity,
        ))  # fmt: skip
    return sorted(rows, key=lambda r: (r.period, r.group_key))


def qualified_by_period(
    qualifications: Iterable[Qualification], period_kind: str, zone: ZoneInfo
) -> Counter[tuple[str, str]]:
    """The qualifications (not inferred) counted by period (in ``zone``) and team."""
    found: Counter[tuple[str, str]] = Counter()
    period_of = period_month if period_kind == "month" else period_week
    for q in qualifications:
        if not q.inferred:
            found[(period_of(q.clock_start, zone), q.team)] += 1
    return found


def _group_key(scope: str, team: str | None, rep_key: str | None) -> str:
    if scope == "overall":
        return "overall"
    return f"team:{team}" if scope == "team" else f"rep:{rep_key}"


@dataclass(frozen=True)
class History:
    """What the warehouse remembers of an evaluation from earlier runs."""

    status: str
    breach_recorded_at: datetime | None
    breach_run_id: str | None
    revised_at: datetime | None
    first_evaluated_at: datetime
    # The stored row's other columns (STORED_COLUMNS), to skip rewriting an unchanged row.
    stored: tuple[Any, ...] | None = field(default=None, compare=False)


# The columns an evaluation row is compared on: all but its key, evaluated_at and run_id.
STORED_COLUMNS = ("period_month", "period_week", "status", "severity", "team", "rep_id",
                  "rep_source", "due_at", "event_at", "business_minutes", "wall_minutes",
                  "minutes_late", "detail", "breach_recorded_at", "breach_run_id",
                  "revised_at", "first_evaluated_at")  # fmt: skip


def checked_periods(now: datetime, calendar: BusinessCalendar, kind: str, count: int) -> list[str]:
    """The ``count`` most recent periods up to the one ``now`` falls in, newest first."""
    local = now.astimezone(calendar.zone)
    if kind == "month":
        months = [(local.year * 12 + local.month - 1) - n for n in range(count)]
        return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]
    return [period_week(now - timedelta(weeks=n), calendar.zone) for n in range(count)]
