"""The rows an SLA run stores (pure): :func:`leadflow.models.sla.evaluate.evaluate` and
:func:`~leadflow.models.sla.evaluate.with_history` as plain tuples.

A full run over a million leads judges millions of (rule, qualification) pairs; building an
``Evaluation`` and two dicts for each cost more than the judging. These functions call the
same judges and apply the same history rules, and give each row as a tuple in ``COLUMNS``
order, what the store hands to the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from leadflow.models.sla.clock import BusinessCalendar, period_month, period_week
from leadflow.models.sla.config import SlaRules
from leadflow.models.sla.evaluate import JUDGES, STORED_COLUMNS, Evaluation, Facts, History

# A row of sla_evaluations: Evaluation's fields, then the history columns and the run's.
COLUMNS = ("rule", "person_id", "clock_start", "period_month", "period_week", "status",
           "severity", "team", "rep_id", "rep_source", "due_at", "event_at",
           "business_minutes", "wall_minutes", "minutes_late", "detail",
           "breach_recorded_at", "breach_run_id", "revised_at", "first_evaluated_at",
           "evaluated_at", "run_id")  # fmt: skip
KEY = ("rule", "person_id", "clock_start")
STATUS = COLUMNS.index("status")
STORED = tuple(COLUMNS.index(name) for name in STORED_COLUMNS)
# What a roll-up reads of a row (StatusGroup's fields but the count).
GROUPED = ("rule", "period_month", "period_week", "status", "team", "rep_id", "rep_source")
grouped = itemgetter(*(COLUMNS.index(name) for name in GROUPED))

Judge = Callable[[Facts, SlaRules, BusinessCalendar, datetime], dict[str, Any]]


def plan(rules: SlaRules) -> list[tuple[str, str, Judge]]:
    """The enabled per-person rules, in :func:`evaluate`'s order: (name, severity, judge)."""
    return [
        (name, rule.severity, JUDGES[name])
        for name, rule in rules.enabled().items()
        if name in JUDGES
    ]


def judged(
    facts: Facts,
    rules: SlaRules,
    judges: Sequence[tuple[str, str, Judge]],
    calendar: BusinessCalendar,
    now: datetime,
) -> list[tuple[Any, ...]]:
    """:func:`evaluate`'s evaluations of one qualification, each the first 16 ``COLUMNS``."""
    q = facts.qualification
    start, zone = q.clock_start, calendar.zone
    month, week = period_month(start, zone), period_week(start, zone)
    found = []
    for name, severity, judge in judges:
        if q.inferred and name != "sales_acceptance":
            continue
        got = judge(facts, rules, calendar, now).get
        found.append((
            name, q.person_id, start, month, week, got("status"), severity, q.team, q.rep_id,
            q.rep_source, got("due_at"), got("event_at"), got("business_minutes"),
            got("wall_minutes"), got("minutes_late"), got("detail", {}),
        ))  # fmt: skip
    return found


def with_history(
    judgement: tuple[Any, ...], old: History | None, now: datetime, run_id: str
) -> tuple[tuple[Any, ...], bool]:
    """:func:`leadflow.models.sla.evaluate.with_history` for a :func:`judged` tuple: the
    row to store (all ``COLUMNS``), and whether a recorded breach was revised to met."""
    breached = judgement[STATUS] == "breached"
    if old is None:
        recorded = now if breached else None
        return (*judgement, recorded, run_id if breached else None, None, now, now, run_id), False
    recorded = old.breach_recorded_at
    breach_run = (old.breach_run_id if recorded else None) or (run_id if breached else None)
    revised = bool(recorded) and judgement[STATUS] == "met"
    row = (
        *judgement, recorded or (now if breached else None), breach_run,
        old.revised_at or (now if revised else None), old.first_evaluated_at, now, run_id,
    )  # fmt: skip
    return row, revised and old.revised_at is None


def unchanged(row: tuple[Any, ...], old: History | None) -> bool:
    """True when ``row`` (from :func:`with_history`) holds what is stored already."""
    return old is not None and old.stored == tuple(row[i] for i in STORED)


def evaluate(
    facts: Facts, rules: SlaRules, calendar: BusinessCalendar, now: datetime
) -> list[Evaluation]:
    """Every enabled per-person rule for one qualification, as ``Evaluation`` objects
    (:func:`judged`'s tuples hold their fields in order)."""
    return [Evaluation(*row) for row in judged(facts, rules, plan(rules), calendar, now)]


def history_row(
    new: Evaluation, old: History | None, now: datetime, run_id: str
) -> tuple[dict[str, Any], bool]:
    """:func:`with_history` of an ``Evaluation``, the row as a dict of ``COLUMNS``.

    A breach, once recorded, keeps ``breach_recorded_at`` and ``breach_run_id`` forever; a
    late-arriving touch that turns it met sets ``revised_at`` (and is reported), so a breach
    never becomes met silently.
    """
    row, revised = with_history(tuple(new.__dict__.values()), old, now, run_id)
    return dict(zip(COLUMNS, row, strict=True)), revised
