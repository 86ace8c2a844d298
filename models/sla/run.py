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
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.records.encoding import chunks
from leadflow.models.sla.clock import period_month, period_week
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.evaluate import (
    Rollup,
    StatusGroup,
    checked_periods,
    rollups,
    volume_rollups,
)
from leadflow.models.sla.rows import STATUS, grouped, judged, plan, unchanged, with_history
from leadflow.models.sla.scope import fingerprint, people_to_evaluate, read_marks, save_marks
from leadflow.models.sla.store import (
    FactStreams,
    all_qualifications,
    people_with_sla,
    read_facts,
    read_history,
    status_groups,
    store_evaluations,
    store_results,
)
from leadflow.models.warehouse.engine import analyze
from leadflow.models.warehouse.people_tables import person_milestones
from leadflow.models.warehouse.sla_tables import sla_evaluations

# People evaluated per batch (their facts, history and new rows are held at once).
BATCH = 20_000


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
) -> SlaOutcome:
    """Evaluate the qualifications that may have moved, store evaluations (with history)
    and the roll-ups of all of them."""
    default, teams = sla.calendars(default_zone)
    outcome = SlaOutcome(periods=checked_periods(now, default, sla.period, sla.periods_checked))
    settings_hash = fingerprint(sla, default_zone)
    with engine.begin() as conn:
        # Classification just wrote the milestones read here a batch of people at a time.
        analyze(conn, person_milestones, sla_evaluations)
        marks = read_marks(conn)
        scope = None if full else people_to_evaluate(conn, settings_hash, marks, now)
        evaluated = 0
        # Batches read the history of their people while earlier batches add rows. On a
        # first run there is none to read; otherwise PostgreSQL's statistics are refreshed
        # each time the table doubled, else it scanned the growing table for every batch.
        analyzed = conn.execute(sa.select(sa.func.count()).select_from(sla_evaluations)).scalar()
        written = 0
        judges = plan(sla.rules)
        # A full run reads its facts in streams ordered by person (incremental runs, by id),
        # and judges every stored evaluation (or deletes it): it counts the roll-ups itself.
        streams = FactStreams(conn) if scope is None else None
        groups: Counter[tuple[Any, ...]] = Counter()
        qualified: Counter[tuple[str, str]] = Counter()
        period_of = period_month if sla.period == "month" else period_week
        # A batch of people at a time: a full run over a million leads never holds them all.
        for batch in chunks(sorted(people_with_sla(conn) if scope is None else scope), BATCH):
            facts = streams.read(batch) if streams else read_facts(conn, batch)
            history = read_history(conn, batch) if analyzed else {}
            evaluated += len(facts)
            rows = []
            for item in facts:
                q = item.qualification
                calendar = teams.get(q.team, default)
                if streams and not q.inferred:
                    qualified[(period_of(q.clock_start, default.zone), q.team)] += 1
                for judgement in judged(item, sla.rules, judges, calendar, now):
                    if streams:
                        groups[grouped(judgement)] += 1
                    old = history.pop(judgement[:3], None) if history else None
                    row, revised = with_history(judgement, old, now, run_id)
                    if not unchanged(row, old):
                        rows.append(row)
                    if revised:
                        outcome.revised.append(judgement[:3])
                    if judgement[STATUS] == "breached" and (
                        old is None or old.breach_recorded_at is None
                    ):
                        outcome.new_breaches += 1
            store_evaluations(conn, rows, stale=history)
            written += len(rows)
            if analyzed and written > analyzed:
                analyze(conn, sla_evaluations)
                analyzed, written = analyzed + written, 0
        if streams:
            streams.close()
            stored = [StatusGroup(*key, count) for key, count in groups.items()]
            volume = volume_rollups(
                (), sla.rules, sla.period, default, outcome.periods[0], qualified
            )
        else:
            stored = status_groups(conn)
            volume = volume_rollups(
                all_qualifications(conn), sla.rules, sla.period, default, outcome.periods[0]
            )
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
