"""The stage changes between two classifications of a person: rows of ``stage_transitions``.

``transitions(previous, new, at)`` is pure like ``classify``: it compares the person's last
stored state with the new classification and dates each change when it happened, if known,
so that time-in-stage reports and the SLA clock read the real moments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from leadflow.models.people.classify import LIFECYCLE_RANK, Classification
from leadflow.models.people.facts import PreviousState
from leadflow.models.records.leads import Stage


@dataclass(frozen=True, slots=True)
class Transition:
    """One stage change: a row of the stage transitions table."""

    from_stage: Stage | None
    to_stage: Stage
    from_lifecycle: str | None
    to_lifecycle: str
    at: datetime
    reasons: tuple[str, ...] = field(default=())


def transitions(
    previous: PreviousState | None, new: Classification, at: datetime
) -> list[Transition]:
    """The stage changes from ``previous`` to ``new``, observed at ``at``.

    Each is dated when it happened if known (``qualified_at`` for mql, the decision for
    sql/nurture), else ``at``. A jump straight to sql from below mql is two rows (mql at
    ``qualified_at``, then sql) so that time-in-stage reports see the MQL.
    """
    before = (previous.stage, previous.lifecycle) if previous else (None, None)
    if before == (new.stage, new.lifecycle):
        return []
    rows: list[Transition] = []
    below_mql = (
        previous is None or LIFECYCLE_RANK.get(previous.lifecycle, 0) < LIFECYCLE_RANK["mql"]
    )
    jumped = new.lifecycle == "sql" and below_mql and new.qualified_at and new.lifecycle_at
    if jumped and new.qualified_at < new.lifecycle_at:
        mql = (Stage.QUALIFIED, "mql")
        rows.append(_transition(before, mql, new.qualified_at, new.reasons))
        before = mql
    rows.append(
        _transition(before, (new.stage, new.lifecycle), new.lifecycle_at or at, new.reasons)
    )
    return rows


def _transition(
    before: tuple[Stage | None, str | None],
    after: tuple[Stage, str],
    at: datetime,
    reasons: tuple[str, ...],
) -> Transition:
    return Transition(before[0], after[0], before[1], after[1], at, reasons)
