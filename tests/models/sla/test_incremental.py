"""Incremental SLA evaluation: only people whose SLA facts changed (or who have a pending
evaluation) are evaluated again, and the warehouse ends as a full evaluation leaves it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.run import evaluate_warehouse
from leadflow.models.warehouse.activity_tables import sales_reps, sales_touches
from leadflow.models.warehouse.sla_tables import sla_evaluations, sla_results
from tests.models.sla.test_run import SLA, T0, H, M, _touch, seed

ZONE = "America/New_York"
DONE = T0 + 5 * 24 * H  # every deadline of the seed has passed: nothing pending
LATER = DONE + 24 * H


# What an evaluation says, without what moves with the clock while it is unanswered (the
# minutes, as of evaluated_at) and the run that wrote it.
TIMELESS = ("status", "due_at", "event_at", "team", "rep_id", "breach_recorded_at",
            "breach_run_id", "revised_at", "first_evaluated_at")  # fmt: skip


def evaluations(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sla_evaluations)).mappings().all()
    return {(r["rule"], r["person_id"]): {k: r[k] for k in TIMELESS} for r in rows}


def pending_people(engine: Engine) -> int:
    e = sla_evaluations
    query = sa.select(sa.func.count(sa.distinct(e.c.person_id))).where(e.c.status == "pending")
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def results(engine: Engine, run_id: str) -> set[tuple[Any, ...]]:
    r = sla_results
    query = sa.select(r.c.rule, r.c.period, r.c.group_key, r.c.numerator, r.c.denominator,
                      r.c.pending, r.c.status).where(r.c.run_id == run_id)  # fmt: skip
    with engine.connect() as conn:
        return set(conn.execute(query).all())


def late_touch(engine: Engine) -> None:
    """A touch on p_none made in time (13:20), loaded a day later (as a sync stamps it)."""
    row = _touch("t9", "p_none", T0 + 3 * H + 20 * M) | {"last_changed_at": LATER}
    with engine.begin() as conn:
        conn.execute(sales_touches.insert(), [row])


def test_nothing_changed_evaluates_nobody_and_keeps_the_roll_ups(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    first = evaluate_warehouse(migrated_engine, SLA, ZONE, DONE, "run-1")
    assert first.evaluated is None  # a first run evaluates everyone
    before = evaluations(migrated_engine)
    # p_none's sales_acceptance waits for a decision: pending, but no deadline to pass.
    assert pending_people(migrated_engine) == 1
    again = evaluate_warehouse(migrated_engine, SLA, ZONE, LATER, "run-2")
    assert again.evaluated == 0 and again.evaluations == first.evaluations == len(before)
    assert evaluations(migrated_engine) == before
    assert results(migrated_engine, "run-2") == results(migrated_engine, "run-1")
    with migrated_engine.connect() as conn:
        written = conn.execute(sa.select(sla_evaluations.c.run_id)).scalars().all()
    assert written.count("run-2") < len(written) / 2  # the decided rows were not rewritten


def test_a_late_touch_revises_the_breach_like_a_full_run(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    evaluate_warehouse(migrated_engine, SLA, ZONE, DONE, "run-1")
    late_touch(migrated_engine)
    outcome = evaluate_warehouse(migrated_engine, SLA, ZONE, LATER, "run-2")
    assert outcome.evaluated == 1  # p_none's one qualification (also the pending one)
    assert [(rule, person) for rule, person, _ in outcome.revised] == [("first_touch", "p_none")]
    incremental, rolled = evaluations(migrated_engine), results(migrated_engine, "run-2")
    assert incremental[("first_touch", "p_none")]["status"] == "met"
    full = evaluate_warehouse(migrated_engine, SLA, ZONE, LATER, "run-3", full=True)
    assert full.evaluated is None and evaluations(migrated_engine) == incremental
    assert results(migrated_engine, "run-3") == rolled


def test_pending_evaluations_are_evaluated_until_decided(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    due = T0 + 3 * H + H  # p_none qualified at 13:00, first touch due 14:00
    evaluate_warehouse(migrated_engine, SLA, ZONE, due, "run-1")
    assert evaluations(migrated_engine)[("first_touch", "p_none")]["status"] == "pending"
    outcome = evaluate_warehouse(migrated_engine, SLA, ZONE, due + M, "run-2")
    assert outcome.evaluated and outcome.evaluated >= 1
    assert evaluations(migrated_engine)[("first_touch", "p_none")]["status"] == "breached"


def test_new_settings_or_a_team_change_evaluate_everyone(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    evaluate_warehouse(migrated_engine, SLA, ZONE, DONE, "run-1")
    stricter = SlaSettings(
        calendar={"country": "US"}, rules={"first_touch": {"business_minutes": 5}}
    )
    assert evaluate_warehouse(migrated_engine, stricter, ZONE, LATER, "run-2").evaluated is None
    assert evaluate_warehouse(migrated_engine, stricter, ZONE, LATER, "run-3").evaluated == 0
    with migrated_engine.begin() as conn:
        conn.execute(sales_reps.update().values(team="Outbound", last_changed_at=LATER + H))
    outcome = evaluate_warehouse(migrated_engine, stricter, ZONE, LATER, "run-4")
    assert outcome.evaluated is None
    assert {row["team"] for row in evaluations(migrated_engine).values()} >= {"Outbound"}
