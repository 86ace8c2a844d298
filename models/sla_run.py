"""One SLA evaluation of the whole warehouse: facts in, evaluations and roll-ups out.

Idempotent: evaluations are upserted on (rule, person, qualification) and the roll-ups of
a run replace themselves; the breach history of each evaluation is carried over. Every
qualification is evaluated on every run (a late fact can change any of them), but only
new or changed rows are written; the rest get this run's ``evaluated_at`` and ``run_id``
in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from models.sla_config import SlaSettings
from models.sla_eval import (
    Evaluation,
    Rollup,
    checked_periods,
    evaluate,
    rollups,
    unchanged,
    volume_rollups,
    with_history,
)
from models.sla_store import read_facts, read_history, store_evaluations, store_results


@dataclass
class SlaOutcome:
    """What one evaluation found."""

    evaluations: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    new_breaches: int = 0
    revised: list[tuple[str, str, datetime]] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    results: list[Rollup] = field(default_factory=list)

    def checked(self) -> list[Rollup]:
        """The roll-ups of the periods under check."""
        return [r for r in self.results if r.period in self.periods]


def evaluate_warehouse(
    engine: Engine, sla: SlaSettings, default_zone: str, now: datetime, run_id: str
) -> SlaOutcome:
    """Evaluate every qualification, store evaluations (with history) and roll-ups."""
    default, teams = sla.calendars(default_zone)
    outcome = SlaOutcome(periods=checked_periods(now, default, sla.period, sla.periods_checked))
    with engine.begin() as conn:
        facts = read_facts(conn)
        evaluations: list[Evaluation] = []
        for item in facts:
            calendar = teams.get(item.qualification.team, default)
            evaluations.extend(evaluate(item, sla.rules, calendar, now))
        history = read_history(conn)
        rows = []
        for evaluation in evaluations:
            old = history.pop(evaluation.key, None)
            row, revised = with_history(evaluation, old, now, run_id)
            if not unchanged(row, old):
                rows.append(row)
            if revised:
                outcome.revised.append(evaluation.key)
            if evaluation.status == "breached" and (old is None or old.breach_recorded_at is None):
                outcome.new_breaches += 1
        store_evaluations(conn, rows, stale=history, stamp=(now, run_id))
        outcome.results = rollups(evaluations, sla.rules, sla.period) + volume_rollups(
            (f.qualification for f in facts), sla.rules, sla.period, default, outcome.periods[0]
        )
        store_results(
            conn,
            [{**r.__dict__, "run_id": run_id, "evaluated_at": now} for r in outcome.results],
            run_id,
        )
    outcome.evaluations = len(evaluations)
    for evaluation in evaluations:
        outcome.by_status[evaluation.status] = outcome.by_status.get(evaluation.status, 0) + 1
    return outcome
