"""The SLA judged on a second process (``leadflow.pipeline.sla.evaluate_sla``), and a
first run into an empty table building its indexes after the rows (SQLite and
PostgreSQL). The thresholds are lowered so a few dozen people take the parallel path."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.sla import run as sla_run
from leadflow.models.sla.judging import SlaJob
from leadflow.models.warehouse.activity_tables import sales_reps, sales_touches
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people, person_milestones
from leadflow.models.warehouse.sla_tables import sla_evaluations, sla_results
from leadflow.models.warehouse.state_tables import read_step
from leadflow.pipeline import fan_out
from leadflow.pipeline import sla as sla_step
from leadflow.pipeline.sla import evaluate_sla
from tests.models.sla.test_run import SLA, STAMP, T0, H, M, _lead, _milestone, _person, _touch
from tests.people_links import link_leads

ZONE = "America/New_York"
PARENT = "LEADFLOW_TEST_PARENT_PID"
PEOPLE = 30
DONE = T0 + 6 * 24 * H
SECONDARY = sorted(str(index.name) for index in sla_evaluations.indexes)


def seed(engine: Engine) -> None:
    """30 qualified people: some touched in time, late or never; some accepted, rejected or
    undecided; owned by one of two reps or by nobody; fits around the threshold."""
    ids = [f"p_{n:02d}" for n in range(PEOPLE)]
    with engine.begin() as conn:
        conn.execute(people.insert(), [_person(pid, fit=20 + 3 * n) for n, pid in enumerate(ids)])
        conn.execute(sales_reps.insert(), [
            {"source": "hubspot", "rep_id": rep, "team": team, "archived": False,
             "updated_at": STAMP, "raw": {}, "row_hash": "x" * 64, "first_loaded_at": STAMP,
             "last_changed_at": STAMP}
            for rep, team in (("r1", "Inbound"), ("r2", "Outbound"))
        ])  # fmt: skip
        conn.execute(
            leads.insert(), [_lead(pid, (None, "r1", "r2")[n % 3]) for n, pid in enumerate(ids)]
        )
        link_leads(conn, {("hubspot", pid): pid for pid in ids})
        milestones, touches = [], []
        for n, pid in enumerate(ids):
            start = T0 + n * 37 * M
            milestones.append(_milestone(pid, "mql", start))
            if n % 4 == 1:
                milestones.append(_milestone(pid, "sql", start + (n % 5) * H))
            elif n % 4 == 2:
                milestones.append(_milestone(pid, "rejected", start + 30 * H))
            for k in range(n % 4):
                touches.append(_touch(f"t{n}_{k}", pid, start + (k * 7 + n) * M * 11))
        conn.execute(person_milestones.insert(), milestones)
        conn.execute(sales_touches.insert(), touches)


def late_touches(engine: Engine) -> None:
    """Touches loaded a day later: some breaches of the first run turn met."""
    rows = [
        _touch(f"late{n}", f"p_{n:02d}", T0 + n * 37 * M + 5 * M) | {"last_changed_at": DONE}
        for n in range(0, PEOPLE, 4)
    ]
    with engine.begin() as conn:
        conn.execute(sales_touches.insert(), rows)


def stored(engine: Engine) -> dict[str, Any]:
    """What the SLA runs wrote, in a fixed order."""
    e, r = sla_evaluations, sla_results
    skip = ("id",)
    with engine.connect() as conn:
        found = {
            table.name: sorted(
                (
                    tuple(row)
                    for row in conn.execute(sa.select(*(c for c in table.c if c.name not in skip)))
                ),
                key=repr,
            )
            for table in (e, r)
        }
        found["marks"] = read_step(conn, "sla")
    return found


def index_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        found = sa.inspect(conn).get_indexes(sla_evaluations.name)
    return sorted(str(index["name"]) for index in found)


def runs(engine: Engine) -> list[Any]:
    """A first run, then (late touches) an incremental and a full one."""
    first = evaluate_sla(engine, SLA, ZONE, DONE, "r1")
    late_touches(engine)
    again = evaluate_sla(engine, SLA, ZONE, DONE + H, "r2")
    full = evaluate_sla(engine, SLA, ZONE, DONE + 2 * H, "r3", full=True)
    return [
        (o.evaluations, o.by_status, o.new_breaches, sorted(o.revised))
        for o in (first, again, full)
    ]


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sla_run, "PARALLEL_FROM", 1)
    monkeypatch.setattr(sla_run, "BATCH", 4)
    monkeypatch.setattr(fan_out, "WORKERS", 2)


@pytest.mark.parametrize("store_only", [False, True], ids=["judges-too", "stores-only"])
def test_the_parallel_path_stores_what_one_process_stores(
    migrated_engine: Engine, parallel: None, monkeypatch: pytest.MonkeyPatch, store_only: bool
) -> None:
    """This process judging some batches too, or (many people) only storing what two
    workers judge: the same rows as one process alone."""
    monkeypatch.setattr(sla_step, "STORE_ONLY_FROM", 1 if store_only else 10**9)
    seed(migrated_engine)
    url = migrated_engine.url.render_as_string(hide_password=False)
    assert fan_out.can_fan_out(create_engine(url))
    outcomes = runs(migrated_engine)
    got = stored(migrated_engine)
    assert outcomes[0][0] == len(got["sla_evaluations"]) > 4 * PEOPLE
    assert outcomes[1][3], "late touches revised some breaches to met"
    with migrated_engine.begin() as conn:  # evaluate again from nothing, in this process
        for table in (sla_evaluations, sla_results, sales_touches):
            conn.execute(table.delete().where(sa.true()) if table is not sales_touches
                         else table.delete().where(table.c.touch_id.like("late%")))  # fmt: skip
        conn.exec_driver_sql("DELETE FROM step_state WHERE step = 'sla'")
    monkeypatch.setattr(fan_out, "WORKERS", 1)
    assert runs(migrated_engine) == outcomes
    assert stored(migrated_engine) == got
    assert index_names(migrated_engine) == SECONDARY


@dataclass(frozen=True)
class FailsInWorker(SlaJob):
    """A job whose batches fail in a worker process (not in the test's own)."""

    def judge(self, conn: Any, batch: Any) -> Any:
        if os.environ.get(PARENT) != str(os.getpid()):
            raise LookupError("batch failed in a worker")
        return super().judge(conn, batch)


def test_a_worker_failure_is_raised_and_the_run_stores_nothing(
    migrated_engine: Engine, parallel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(migrated_engine)
    monkeypatch.setenv(PARENT, str(os.getpid()))
    with monkeypatch.context() as patched:
        patched.setattr(sla_run, "SlaJob", FailsInWorker)
        with pytest.raises(LookupError, match=r"^batch failed in a worker$"):
            evaluate_sla(migrated_engine, SLA, ZONE, DONE, "r1")
    got = stored(migrated_engine)
    assert got["sla_evaluations"] == got["sla_results"] == [] and got["marks"] is None
    assert index_names(migrated_engine) == SECONDARY  # the drop was rolled back too
    assert runs(migrated_engine)[0][0] > 4 * PEOPLE  # a rerun does the whole run


def test_a_first_run_on_sqlite_builds_the_indexes_after_its_rows(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(migrated_engine)
    deferred: list[list[str]] = []
    create = sla_run.create_secondary_indexes

    def spy(conn: Any, table: sa.Table, found: Any) -> None:
        present = {index["name"] for index in sa.inspect(conn).get_indexes(table.name)}
        deferred.append(sorted(str(index.name) for index in found))
        assert not present & set(deferred[-1])  # the rows went in without them
        create(conn, table, found)

    monkeypatch.setattr(sla_run, "create_secondary_indexes", spy)
    runs(migrated_engine)
    # Only into the empty table, and only on SQLite (PostgreSQL gained nothing).
    first = SECONDARY if migrated_engine.dialect.name == "sqlite" else []
    assert deferred == [first, [], []]
    assert index_names(migrated_engine) == SECONDARY
