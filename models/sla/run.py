"""One SLA evaluation of the warehouse: facts in, evaluations and roll-ups out.

Idempotent: evaluations are upserted on (rule, person, qualification) and the roll-ups of a run
replace themselves; the breach history of each evaluation is carried over. Only the people whose SLA
facts changed, or whose pending evaluation's deadline passed, are evaluated again
(``leadflow.models.sla.scope``; everyone on a first run, new settings or ``full=True``), a batch of
people at a time (memory stays bounded on a full run), and only new or changed rows are written. A
row's minutes are as of its ``evaluated_at``: an unanswered breach not evaluated again keeps the
minutes late it had then (a full run, or any new fact about the person, brings them up to date). The
roll-ups count every stored evaluation (a full run, which judges all of them, counts them as it
goes; an incremental run reads them back).

A batch is judged without writing (``leadflow.models.sla.judging``), so with ``fan_out``
(``leadflow.pipeline.sla.evaluate_sla``) batches are judged on a second core too while this
process stores each in the run's one transaction: a failure anywhere stores nothing.
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.records.encoding import chunks
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.evaluate import (
    Rollup,
    StatusGroup,
    checked_periods,
    rollups,
    volume_rollups,
)
from leadflow.models.sla.judging import Judged, SlaJob
from leadflow.models.sla.scope import fingerprint, people_to_evaluate, read_marks, save_marks
from leadflow.models.sla.store import (
    all_qualifications,
    people_with_sla,
    status_groups,
    store_evaluations,
    store_results,
)
from leadflow.models.warehouse.engine import analyze
from leadflow.models.warehouse.indexes import create_secondary_indexes, drop_secondary_indexes
from leadflow.models.warehouse.people_tables import person_milestones
from leadflow.models.warehouse.sla_tables import sla_evaluations

# People judged per batch (their facts, history and new rows are held at once): small
# enough that a second core and this process's writes overlap.
BATCH = 5_000
# People from which judging on a second core pays for its start (~1 s to spawn and import).
PARALLEL_FROM = 20_000
# Judges batches (the second argument), some with the third (here, in the run's
# transaction), others elsewhere with the job: each batch's Judged, in any order.
Batch = Sequence[str]
FanOut = Callable[[SlaJob, Sequence[Batch], Callable[[Batch], Judged]], Iterator[Judged]]


@dataclass
class SlaOutcome:
    """What one evaluation found."""

    evaluations: int = 0
    # Qualifications evaluated again this run (None: all of them).
    evaluated: int | None = None
    by_status: dict[str, int] = field(default_factory=dict)
    new_breaches: int = 0
    revised: list[tuple[str, str, datetime]] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    results: list[Rollup] = field(default_factory=list)

    def checked(self) -> list[Rollup]:
        """The roll-ups of the periods under check."""
        return [r for r in self.results if r.period in self.periods]


def evaluate_warehouse(
    engine: Engine,
    sla: SlaSettings,
    default_zone: str,
    now: datetime,
    run_id: str,
    *,
    full: bool = False,
    fan_out: FanOut | None = None,
) -> SlaOutcome:
    """Evaluate the qualifications that may have moved, store evaluations (with history)
    and the roll-ups of all of them. ``fan_out`` judges the batches (on other cores too);
    without it, this process judges them one after another."""
    default, _ = sla.calendars(default_zone)
    outcome = SlaOutcome(periods=checked_periods(now, default, sla.period, sla.periods_checked))
    settings_hash = fingerprint(sla, default_zone)
    with engine.begin() as conn:
        # Classification just wrote the milestones read here a batch of people at a time.
        analyze(conn, person_milestones, sla_evaluations)
        marks = read_marks(conn)
        scope = None if full else people_to_evaluate(conn, settings_hash, marks, now)
        # Batches read the history of their people while earlier batches add rows. On a
        # first run there is none to read; otherwise PostgreSQL's statistics are refreshed
        # each time the table doubled, else it scanned the growing table for every batch.
        analyzed = conn.execute(sa.select(sa.func.count()).select_from(sla_evaluations)).scalar()
        # A full run reads ranges of everyone in the database's order of ids (incremental
        # runs, by id) and judges every stored evaluation (or deletes it): it counts the
        # roll-ups itself.
        people = people_with_sla(conn) if scope is None else sorted(scope)
        job = SlaJob(sla, default_zone, now, run_id, full=scope is None, history=bool(analyzed))
        batches = list(chunks(people, BATCH))
        # SQLite, into an empty table: its secondary indexes are built once, after the rows
        # (100k leads: 2.6 s less to insert, 1.0 s to build). PostgreSQL gained nothing (the
        # builds took what the inserts saved) and would lock the table for the run.
        deferred = []
        if not analyzed and conn.dialect.name == "sqlite":
            deferred = drop_secondary_indexes(conn, sla_evaluations)
        if fan_out is None or len(people) < PARALLEL_FROM:
            found: Iterator[Judged] = (job.judge(conn, batch) for batch in batches)
        else:
            found = fan_out(job, batches, functools.partial(job.judge, conn))
        evaluated = written = 0
        groups: Counter[tuple[Any, ...]] = Counter()
        qualified: Counter[tuple[str, str]] = Counter()
        with contextlib.closing(found):
            for judged in found:
                evaluated += judged.evaluated
                groups.update(judged.groups)
                qualified.update(judged.qualified)
                outcome.new_breaches += judged.new_breaches
                outcome.revised.extend(judged.revised)
                # SlaJob.judge's rows are bound for the driver already (where they were made).
                store_evaluations(
                    conn, judged.rows, stale=judged.stale, new=not analyzed, bound=True
                )
                written += len(judged.rows)
                if analyzed and written > analyzed:
                    analyze(conn, sla_evaluations)
                    analyzed, written = analyzed + written, 0
        create_secondary_indexes(conn, sla_evaluations, deferred)
        if job.full:
            stored = [StatusGroup(*key, count) for key, count in groups.items()]
            volume = volume_rollups(
                (), sla.rules, sla.period, default, outcome.periods[0], qualified
            )
        else:
            stored = status_groups(conn)
            rule = sla.rules.qualified_volume  # what it counts is read only if it counts
            found = all_qualifications(conn, teams=bool(rule.per_team)) if rule.enabled else ()
            volume = volume_rollups(found, sla.rules, sla.period, default, outcome.periods[0])
        outcome.results = rollups(stored, sla.rules, sla.period) + volume
        store_results(
            conn,
            [{**r.__dict__, "run_id": run_id, "evaluated_at": now} for r in outcome.results],
            run_id,
        )
        save_marks(conn, marks, settings_hash, now)
    outcome.evaluated = evaluated if scope is not None else None
    for group in stored:
        outcome.evaluations += group.count
        outcome.by_status[group.status] = outcome.by_status.get(group.status, 0) + group.count
    return outcome
