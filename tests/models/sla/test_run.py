"""SLA evaluation on a real warehouse (SQLite and PostgreSQL): facts, history, roll-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.sla import run as sla_run
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.run import evaluate_warehouse
from leadflow.models.warehouse.activity_tables import sales_reps, sales_touches
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people, person_milestones
from leadflow.models.warehouse.sla_tables import sla_evaluations, sla_results
from tests.people_links import link_leads

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=NY)  # Tuesday 10:00 New York
H, M = timedelta(hours=1), timedelta(minutes=1)
SLA = SlaSettings(calendar={"country": "US"}, rules={"qualified_volume": {"per_period": 3}})
STAMP = datetime(2026, 11, 1, tzinfo=UTC)


def _person(person_id: str, fit: int = 40) -> dict[str, Any]:
    return {"person_id": person_id, "created_at": STAMP, "updated_at": STAMP, "fit": fit}


def _milestone(person_id: str, kind: str, at: datetime) -> dict:
    return {"person_id": person_id, "kind": kind, "at": at, "reason": "seed"}


def _lead(person_id: str, owner: str | None) -> dict[str, Any]:
    return {"source": "hubspot", "source_lead_id": person_id, "account_id": "portal",
            "created_at": STAMP, "updated_at": STAMP, "owner_id": owner, "is_test": False,
            "custom_fields": {}, "raw": {}, "row_hash": "x" * 64,
            "first_loaded_at": STAMP, "last_changed_at": STAMP}  # fmt: skip


def _touch(touch_id: str, person_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    return {"source": "hubspot", "touch_id": touch_id, "lead_id": person_id,
            "touch_type": kw.get("touch_type", "call"), "occurred_at": at, "updated_at": at,
            "owner_id": kw.get("owner", "r1"), "direction": kw.get("direction", "outbound"),
            "outcome": kw.get("outcome"), "raw": {}, "row_hash": "x" * 64,
            "person_id": person_id, "first_loaded_at": STAMP, "last_changed_at": STAMP}  # fmt: skip


def seed(engine: Engine) -> None:
    """p_fast: touched in 10 min, accepted; p_slow: touched next day, rejected, low fit;
    p_none: never touched (unowned); p_nurture: rejected without a kept qualification."""
    with engine.begin() as conn:
        conn.execute(people.insert(), [_person("p_fast"), _person("p_slow", fit=10),
                                       _person("p_none"), _person("p_nurture")])  # fmt: skip
        conn.execute(sales_reps.insert(), [
            {"source": "hubspot", "rep_id": "r1", "team": "Inbound", "archived": False,
             "updated_at": STAMP, "raw": {}, "row_hash": "x" * 64, "first_loaded_at": STAMP,
             "last_changed_at": STAMP},
        ])  # fmt: skip
        conn.execute(leads.insert(), [_lead("p_fast", "r1"), _lead("p_slow", "r1"),
                                      _lead("p_none", None)])  # fmt: skip
        link_leads(conn, {("hubspot", pid): pid for pid in ("p_fast", "p_slow", "p_none")})
        conn.execute(person_milestones.insert(), [
            _milestone("p_fast", "mql", T0),
            _milestone("p_fast", "sql", T0 + 2 * H),
            _milestone("p_slow", "mql", T0),
            _milestone("p_slow", "rejected", T0 + 74 * H),
            _milestone("p_none", "mql", T0 + 3 * H),
            _milestone("p_nurture", "rejected", T0),
        ])  # fmt: skip
        conn.execute(sales_touches.insert(), [
            _touch("t1", "p_fast", T0 + 10 * M),
            _touch("t2", "p_slow", T0 + 24 * H),
            _touch("t3", "p_slow", T0 + 5 * M, direction="inbound"),
        ])  # fmt: skip


def statuses(engine: Engine) -> dict[tuple[str, str], str]:
    e = sla_evaluations
    with engine.connect() as conn:
        rows = conn.execute(sa.select(e.c.rule, e.c.person_id, e.c.status)).all()
    return {(rule, person): status for rule, person, status in rows}


def test_evaluates_every_rule_from_the_warehouse(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    now = T0 + 5 * 24 * H
    outcome = evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-1")
    assert statuses(migrated_engine) == {
        ("first_touch", "p_fast"): "met",
        ("first_touch", "p_slow"): "breached",
        ("first_touch", "p_none"): "breached",
        ("touch_attempts", "p_fast"): "breached",
        ("touch_attempts", "p_slow"): "met",  # the inbound reply connected them
        ("touch_attempts", "p_none"): "breached",
        ("accept_reject", "p_fast"): "met",
        (
            "accept_reject",
            "p_slow",
        ): "breached",  # Friday noon: 18 business hours (Thanksgiving off)
        ("accept_reject", "p_none"): "breached",
        ("icp_fit", "p_fast"): "met",
        ("icp_fit", "p_slow"): "breached",
        ("icp_fit", "p_none"): "met",
        ("sales_acceptance", "p_fast"): "met",
        ("sales_acceptance", "p_slow"): "breached",
        ("sales_acceptance", "p_none"): "pending",
        ("sales_acceptance", "p_nurture"): "breached",
    }
    assert outcome.new_breaches == 9
    e = sla_evaluations
    with migrated_engine.connect() as conn:
        row = conn.execute(sa.select(e).where(e.c.rule == "first_touch",
                                              e.c.person_id == "p_slow")).mappings().one()  # fmt: skip
        none = conn.execute(
            sa.select(e.c.team, e.c.rep_id).where(e.c.person_id == "p_none")
        ).first()
    assert (row["team"], row["rep_id"], row["rep_source"]) == ("Inbound", "r1", "hubspot")
    assert row["business_minutes"] == 480 and row["minutes_late"] == 420
    assert row["wall_minutes"] == 24 * 60
    assert row["due_at"] == (T0 + H).astimezone(UTC)
    assert (row["period_month"], row["period_week"]) == ("2026-11", "2026-W48")
    assert tuple(none) == ("unassigned", None)


def test_rollups_are_stored_per_run(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    now = T0 + 5 * 24 * H
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-1")
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-1")  # a retry
    r = sla_results
    with migrated_engine.connect() as conn:
        rows = conn.execute(
            sa.select(r.c.rule, r.c.group_key, r.c.numerator, r.c.denominator, r.c.status)
            .where(r.c.run_id == "run-1", r.c.period == "2026-11")
            .order_by(r.c.rule, r.c.group_key)
        ).all()
    found = {(rule, group): (num, den, status) for rule, group, num, den, status in rows}
    assert len(rows) == len(found)
    assert found[("first_touch", "overall")] == (1, 3, "failed")
    assert found[("first_touch", "team:Inbound")] == (1, 2, "failed")
    assert found[("first_touch", "rep:hubspot:r1")] == (1, 2, "failed")
    assert found[("sales_acceptance", "overall")] == (1, 3, "failed")
    assert found[("qualified_volume", "overall")] == (3, 3, "passed")


def test_rerun_is_idempotent_and_keeps_breach_history(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    first_run = T0 + 5 * 24 * H
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", first_run, "run-1")
    before = _table(migrated_engine)
    again = evaluate_warehouse(migrated_engine, SLA, "America/New_York", first_run, "run-2")
    assert again.new_breaches == 0
    after = _table(migrated_engine)
    assert {k: {c: v for c, v in row.items() if c != "run_id"} for k, row in after.items()} == {
        k: {c: v for c, v in row.items() if c != "run_id"} for k, row in before.items()
    }
    # A touch on p_none that happened in time arrives late: the breach is revised, not erased.
    later = first_run + 24 * H
    late = _touch("t9", "p_none", T0 + 3 * H + 20 * M) | {"last_changed_at": later}  # loaded then
    with migrated_engine.begin() as conn:
        conn.execute(sales_touches.insert(), [late])
    outcome = evaluate_warehouse(migrated_engine, SLA, "America/New_York", later, "run-3")
    key = ("first_touch", "p_none")
    row = _table(migrated_engine)[key]
    assert row["status"] == "met"
    assert row["breach_recorded_at"] == first_run.astimezone(UTC)
    assert (row["breach_run_id"], row["revised_at"]) == ("run-1", later.astimezone(UTC))
    assert [(rule, person) for rule, person, _ in outcome.revised] == [key]


def test_pending_until_the_deadline_then_breached(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    due = T0 + 3 * H + H  # p_none qualified at 13:00, due 14:00
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", due, "run-1")
    assert statuses(migrated_engine)[("first_touch", "p_none")] == "pending"
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", due + M, "run-2")
    assert statuses(migrated_engine)[("first_touch", "p_none")] == "breached"


def test_gone_qualifications_are_removed(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    now = T0 + 5 * 24 * H
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-1")
    with migrated_engine.begin() as conn:
        conn.execute(people.delete().where(people.c.person_id == "p_none"))
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-2")
    assert not any(person == "p_none" for _, person in statuses(migrated_engine))


def _table(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sla_evaluations)).mappings().all()
    return {(row["rule"], row["person_id"]): dict(row) for row in rows}


def test_a_batch_at_a_time_gives_what_one_batch_gives(
    migrated_engine: Engine, monkeypatch: Any
) -> None:
    """People are evaluated a batch at a time: batches of one person store the same
    evaluations and roll-ups as a single batch, and stale rows still go."""
    seed(migrated_engine)
    now = T0 + 5 * 24 * H
    monkeypatch.setattr(sla_run, "BATCH", 1)
    small = evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-1")
    batched = _table(migrated_engine)
    monkeypatch.undo()
    whole = evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-2", full=True)
    assert len(batched) == 16 and small.new_breaches == 9 and whole.new_breaches == 0
    assert _table(migrated_engine) == batched  # the single batch found nothing to change
    assert _results(migrated_engine, "run-1") == _results(migrated_engine, "run-2")
    with migrated_engine.begin() as conn:  # p_none's qualification is gone, the person stays
        m = person_milestones
        conn.execute(m.delete().where(m.c.person_id == "p_none"))
    monkeypatch.setattr(sla_run, "BATCH", 1)
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-3", full=True)
    assert sorted({person for _, person in _table(migrated_engine)}) == [
        "p_fast", "p_nurture", "p_slow"
    ]  # fmt: skip


def _results(engine: Engine, run_id: str) -> list[tuple[Any, ...]]:
    r = sla_results
    columns = [c for c in r.columns if c.name not in ("run_id", "evaluated_at")]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*columns).where(r.c.run_id == run_id)).all()
    return sorted(tuple(row) for row in rows)


def test_a_full_run_counts_its_roll_ups_as_the_store_counts_them(migrated_engine: Engine) -> None:
    """A full run counts the evaluations it judged (every stored one) instead of reading
    them back; an incremental run reads them back: the same roll-ups."""
    seed(migrated_engine)
    now = T0 + 5 * 24 * H
    full = evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-1", full=True)
    again = evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "run-2")
    assert again.evaluated == 0  # nothing changed: the roll-ups come from the store
    assert _results(migrated_engine, "run-1") == _results(migrated_engine, "run-2")
    assert sorted(full.by_status.items()) == sorted(again.by_status.items())
    assert full.evaluations == again.evaluations == 16
