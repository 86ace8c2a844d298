"""One batch of people judged against the SLA: their facts read, every rule applied, the
rows to store built. Nothing is written here, so batches can be judged on another core
(``leadflow.pipeline.fan_out``) while the run's one transaction stores them
(``leadflow.models.sla.run``).

:func:`judge_facts` is the pure part (facts and stored history in, rows and counts out);
:meth:`SlaJob.judge` reads a batch and calls it.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from leadflow.models.sla.clock import BusinessCalendar, period_month, period_week
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.evaluate import Facts, History
from leadflow.models.sla.rows import (
    COLUMNS,
    STATUS,
    grouped,
    judged,
    plan,
    unchanged,
    with_history,
)
from leadflow.models.sla.store import read_between, read_facts, read_history
from leadflow.models.warehouse.bulk import bound_rows
from leadflow.models.warehouse.engine import without_parallel_plans
from leadflow.models.warehouse.sla_tables import sla_evaluations

Key = tuple[str, str, datetime]


@dataclass
class Judged:
    """What judging one batch found."""

    # New or changed evaluations (tuples in ``rows.COLUMNS`` order), to store; from
    # :meth:`SlaJob.judge`, as the database's driver binds them (``bulk.bound_rows``).
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    # Stored evaluations of the batch's people whose qualification is gone, to delete.
    stale: list[Key] = field(default_factory=list)
    evaluated: int = 0  # qualifications judged
    new_breaches: int = 0
    revised: list[Key] = field(default_factory=list)
    # Counted only by a full run (which judges every stored evaluation): the evaluations by
    # what the roll-ups read, and the qualifications by period and team.
    groups: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    qualified: Counter[tuple[str, str]] = field(default_factory=Counter)


@dataclass(frozen=True)
class SlaJob:
    """What every batch of one SLA run is judged with.

    ``full``: the batches are consecutive slices of ``store.people_with_sla`` (read as
    ranges) and the roll-ups are counted as they go; else the batches are any people (read
    by id). ``history``: stored evaluations may exist, so they are read and carried over
    (a first run into an empty table has none to read).
    """

    sla: SlaSettings
    default_zone: str
    now: datetime
    run_id: str
    full: bool
    history: bool

    @functools.cached_property
    def calendars(self) -> tuple[BusinessCalendar, dict[str, BusinessCalendar]]:
        """The default calendar and each team's (built once per process)."""
        return self.sla.calendars(self.default_zone)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("calendars", None)  # rebuilt where it is used, with its own caches
        return state

    def judge(self, conn: Connection, batch: Sequence[str]) -> Judged:
        """Read ``batch``'s facts (and stored history) in ``conn`` and judge them."""
        without_parallel_plans(conn)
        if self.full:
            span = (batch[0], batch[-1])
            facts = read_between(conn, *span)
            history = read_history(conn, between=span) if self.history else {}
        else:
            facts = read_facts(conn, batch)
            history = read_history(conn, batch) if self.history else {}
        found = judge_facts(self, facts, history)
        # Converted for the driver here (maybe on another core), not by the run's one writer.
        found.rows = bound_rows(conn.dialect.name, sla_evaluations, COLUMNS, found.rows)
        return found


def judge_facts(job: SlaJob, facts: Sequence[Facts], history: dict[Key, History]) -> Judged:
    """Every enabled rule on each of ``facts``, with ``history`` (the stored evaluations of
    the same people, consumed: what is left is stale) carried over."""
    sla, now, run_id = job.sla, job.now, job.run_id
    default, teams = job.calendars
    judges = plan(sla.rules)
    period_of = period_month if sla.period == "month" else period_week
    found = Judged(evaluated=len(facts))
    rows, groups, qualified, revised = found.rows, found.groups, found.qualified, found.revised
    for item in facts:
        q = item.qualification
        calendar = teams.get(q.team, default)
        if job.full and not q.inferred:
            qualified[(period_of(q.clock_start, default.zone), q.team)] += 1
        for judgement in judged(item, sla.rules, judges, calendar, now):
            if job.full:
                groups[grouped(judgement)] += 1
            old = history.pop(judgement[:3], None) if history else None
            row, was_revised = with_history(judgement, old, now, run_id)
            if not unchanged(row, old):
                rows.append(row)
            if was_revised:
                revised.append(judgement[:3])
            if judgement[STATUS] == "breached" and (old is None or old.breach_recorded_at is None):
                found.new_breaches += 1
    found.stale = list(history)
    return found
