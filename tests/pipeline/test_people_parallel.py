"""Classification on a second process (``leadflow.pipeline.classification``): the same rows
as in this process, and a worker's failure keeps the run's state unsaved (SQLite and
PostgreSQL). The threshold is lowered so a few dozen people take the parallel path."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from leadflow.models.people.scope import read_state
from leadflow.models.records.activity import EngagementEvent
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import (
    people,
    person_milestones,
    sales_decisions,
    stage_transitions,
)
from leadflow.pipeline import classification, fan_out
from leadflow.pipeline import people as people_step
from leadflow.pipeline.classification import ClassificationJob, parallel_worthwhile
from leadflow.pipeline.people import resolve_and_classify
from tests.pipeline.test_people import NOW, RULES, T0, lead, load
from tests.pipeline.test_people_incremental import load as load_later
from tests.pipeline.test_people_order import load_items

PARENT = "LEADFLOW_TEST_PARENT_PID"
BATCH = 4


def leads_of_everyone() -> list[Any]:
    """40 people: demo requests, CRM statuses, webinar and cold ad leads."""
    found: list[Any] = []
    for n in range(40):
        at = T0 + timedelta(minutes=n)
        kw: dict[str, Any] = {"created_at": at, "updated_at": at, "job_title": "VP Sales"}
        if n % 3 == 0:
            kw["custom_fields"] = {"form_name": "Request a demo"}
        if n % 4 == 1:
            kw["custom_fields"] = {"hs_lead_status": ("UNQUALIFIED", "IN_PROGRESS")[n % 2]}
        source = "hubspot" if n % 4 == 1 else "meta"
        found.append(lead(source, f"x{n}", f"person{n}@acme.example", **kw))
    return found


def events() -> list[EngagementEvent]:
    return [
        EngagementEvent("mailchimp", f"e{n}", "mailchimp_acct", kind, T0 + timedelta(hours=n),
                        email=f"person{n}@acme.example", email_match_key=f"person{n}@acme.example")
        for n in range(0, 40, 2)
        for kind in ("webinar_attended", "click", "reply" if n % 10 == 0 else "open")
    ]  # fmt: skip


def derived(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """What classification wrote, in a fixed order (run ids and times included)."""
    found = {}
    for table in (people, stage_transitions, person_milestones, sales_decisions):
        columns = [c for c in table.c if c.name not in ("id", "created_at", "updated_at")]
        with engine.connect() as conn:
            rows = conn.execute(sa.select(*columns)).all()
        found[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return found


def fill(engine: Engine) -> None:
    load(engine, leads_of_everyone())
    load_items(engine, events(), T0)


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classification, "PARALLEL_FROM", 1)
    monkeypatch.setattr(fan_out, "WORKERS", 2)


def run(engine: Engine, run_id: str = "r1") -> dict[str, Any]:
    return resolve_and_classify(engine, rules=RULES, now=NOW, run_id=run_id, batch_size=BATCH)


def test_the_parallel_path_writes_what_one_process_writes(
    migrated_engine: Engine, parallel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(migrated_engine)
    summary = run(migrated_engine)
    assert summary["classified"] == summary["people"] == 40 and summary["transitions"] >= 40
    got = derived(migrated_engine)
    url = migrated_engine.url.render_as_string(hide_password=False)
    assert parallel_worthwhile(create_engine(url), 40)
    with migrated_engine.begin() as conn:  # classify again from nothing, in this process
        for table in (stage_transitions, person_milestones, sales_decisions):
            conn.execute(table.delete())
        conn.execute(people.update().values(stage=None, lifecycle=None, classified_at=None))
    again = in_process_full(migrated_engine, monkeypatch)
    assert again == summary
    assert derived(migrated_engine) == got
    with migrated_engine.connect() as conn:
        assert read_state(conn) is not None


def in_process_full(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    with monkeypatch.context() as patched:
        patched.setattr(fan_out, "WORKERS", 1)
        return resolve_and_classify(
            engine, rules=RULES, now=NOW, run_id="r1", batch_size=BATCH, full=True
        )


@dataclass(frozen=True)
class FailsInWorker(ClassificationJob):
    """A job whose batches fail in a worker process (not in the test's own)."""

    def classify(self, conn: Any, batch: Any) -> Any:
        if os.environ.get(PARENT) != str(os.getpid()):
            raise LookupError("batch failed in a worker")
        return super().classify(conn, batch)


@dataclass(frozen=True)
class SavesOnlyInParent(ClassificationJob):
    """A job whose answers may only be written by the test's own process."""

    def save(self, conn: Any, results: Any) -> tuple[int, int]:
        if os.environ.get(PARENT) != str(os.getpid()):
            raise LookupError("a worker wrote")
        return super().save(conn, results)


def test_sqlite_workers_only_read_and_this_process_writes(
    migrated_engine: Engine, parallel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one writer at a time: its workers read and classify, this process writes
    every batch; PostgreSQL's workers write their own batches."""
    fill(migrated_engine)
    monkeypatch.setenv(PARENT, str(os.getpid()))
    with monkeypatch.context() as patched:
        patched.setattr(people_step, "ClassificationJob", SavesOnlyInParent)
        if migrated_engine.dialect.name == "sqlite":
            assert run(migrated_engine)["classified"] == 40
        else:
            with pytest.raises(LookupError, match=r"^a worker wrote$"):
                run(migrated_engine)


def test_a_worker_failure_is_raised_and_leaves_the_state_unsaved(
    migrated_engine: Engine, parallel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(migrated_engine)
    monkeypatch.setenv(PARENT, str(os.getpid()))
    with monkeypatch.context() as patched:
        patched.setattr(people_step, "ClassificationJob", FailsInWorker)
        with pytest.raises(LookupError, match=r"^batch failed in a worker$"):
            run(migrated_engine)
    with migrated_engine.connect() as conn:
        assert read_state(conn) is None  # the watermark did not move
        done = conn.execute(sa.select(sa.func.count()).where(people.c.stage.is_not(None)))
        assert done.scalar_one() < 40  # the worker's batches were not stored
    summary = run(migrated_engine, "r2")  # a rerun finishes the rest
    assert summary["classified"] == 40
    with migrated_engine.connect() as conn:
        assert read_state(conn) is not None
        unclassified = sa.select(sa.func.count()).where(people.c.stage.is_(None))
        assert conn.execute(unclassified).scalar_one() == 0


def test_later_runs_after_a_parallel_one_are_incremental(
    migrated_engine: Engine, parallel: None
) -> None:
    fill(migrated_engine)
    run(migrated_engine)
    load_later(migrated_engine, [lead("meta", "new", "someone.new@acme.example")])
    summary = resolve_and_classify(
        migrated_engine, rules=RULES, now=NOW + timedelta(minutes=5), run_id="r2"
    )
    assert summary["classified"] == 1


def test_small_in_memory_and_shared_connection_runs_stay_in_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(fan_out, "WORKERS", 2)
    file_engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    assert parallel_worthwhile(file_engine, classification.PARALLEL_FROM)
    assert not parallel_worthwhile(file_engine, classification.PARALLEL_FROM - 1)
    memory = create_engine("sqlite://", poolclass=StaticPool)
    assert not parallel_worthwhile(memory, 10**6)
    assert not parallel_worthwhile(create_engine("sqlite:///:memory:"), 10**6)
    monkeypatch.setattr(fan_out, "WORKERS", 1)
    assert not parallel_worthwhile(file_engine, 10**6)
    file_engine.dispose()
