"""Reads of what an SLA run stored (``sla_evaluations``, ``sla_results``), for the flow's
artifacts and the ``leadflow sla`` command, so that neither holds SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.warehouse.sla_tables import sla_evaluations, sla_results


def worst_breaches(
    conn: Connection, periods: Sequence[str], rules: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` latest breaches of ``rules`` in ``periods`` (months or ISO weeks):
    rule, person id, rep, team, clock start and minutes late; no personal data."""
    e = sla_evaluations
    in_periods = sa.or_(e.c.period_month.in_(periods), e.c.period_week.in_(periods))
    query = (
        sa.select(e.c.rule, e.c.person_id, e.c.rep_id, e.c.team, e.c.clock_start, e.c.minutes_late)
        .where(e.c.status == "breached", in_periods, e.c.rule.in_(rules))
        .order_by(e.c.minutes_late.desc().nulls_last(), e.c.person_id)
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def latest_compliance(
    conn: Connection, period: str | None = None, team: str | None = None
) -> list[dict[str, Any]]:
    """The roll-ups (``sla_results``) of the latest SLA run: overall and per team, or one
    team and its reps; only ``period`` when given. Empty before the first run."""
    r = sla_results
    latest = sa.select(r.c.run_id).order_by(r.c.evaluated_at.desc(), r.c.run_id.desc())
    run_id = conn.execute(latest.limit(1)).scalar()
    if run_id is None:
        return []
    query = sa.select(r).where(r.c.run_id == run_id)
    if period:
        query = query.where(r.c.period == period)
    if team:
        query = query.where(r.c.team == team)
    else:
        query = query.where(r.c.scope.in_(("overall", "team")))
    rows = conn.execute(query.order_by(r.c.rule, r.c.period.desc(), r.c.group_key))
    return [dict(row) for row in rows.mappings()]
