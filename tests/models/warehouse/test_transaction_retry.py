"""in_write_transaction: a deadlock victim's or serialization failure's transaction runs again."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from leadflow.models.warehouse.engine import create_engine, in_write_transaction


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _db_error(sqlstate: str) -> sa.exc.OperationalError:
    return sa.exc.OperationalError("UPDATE t", {}, _Orig(sqlstate))


def _counter(tmp_path: Any) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'retry.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (0)")
    return engine


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT n FROM t").scalar_one()


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_rolled_back_transaction_runs_again_and_its_writes_count_once(
    tmp_path: Any, sqlstate: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _counter(tmp_path)
    attempts: list[int] = []
    waits: list[float] = []

    def work(conn: Connection) -> str:
        conn.exec_driver_sql("UPDATE t SET n = n + 1")
        attempts.append(1)
        if len(attempts) < 3:
            raise _db_error(sqlstate)  # after the write: it must be rolled back
        return "done"

    logger = logging.getLogger("leadflow.test.retry")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        assert in_write_transaction(engine, work, sleep=waits.append, logger=logger) == "done"
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == [
        f"transaction rolled back (SQLSTATE {sqlstate}), attempt {n} of 4: running it again"
        for n in (1, 2)
    ]
    assert len(attempts) == 3
    assert _stored(engine) == 1
    assert len(waits) == 2 and 0.05 <= waits[0] <= 0.1 and 0.1 <= waits[1] <= 0.2


def test_other_errors_are_not_retried(tmp_path: Any) -> None:
    engine = _counter(tmp_path)
    attempts: list[int] = []

    def work(conn: Connection) -> None:
        attempts.append(1)
        raise _db_error("23505")  # unique_violation: retrying cannot help

    with pytest.raises(sa.exc.OperationalError):
        in_write_transaction(engine, work, sleep=lambda _: None)
    assert len(attempts) == 1


def test_the_last_attempt_s_error_propagates(tmp_path: Any) -> None:
    engine = _counter(tmp_path)
    attempts: list[int] = []

    def work(conn: Connection) -> None:
        conn.exec_driver_sql("UPDATE t SET n = n + 1")
        attempts.append(1)
        raise _db_error("40P01")

    with pytest.raises(sa.exc.OperationalError, match="40P01"):
        in_write_transaction(engine, work, attempts=2, sleep=lambda _: None)
    assert len(attempts) == 2
    assert _stored(engine) == 0


@pytest.mark.parametrize(
    "warehouse_url",
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_real_postgresql_deadlock_is_retried_and_both_sides_commit(warehouse_url: str) -> None:
    engine = create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE pair (id INTEGER PRIMARY KEY, n INTEGER)")
        conn.exec_driver_sql("INSERT INTO pair VALUES (1, 0), (2, 0)")
    pids: list[int] = []
    errors: list[BaseException] = []
    runs = {"a": 0, "b": 0}

    def bump(conn: Connection, row: int) -> None:
        conn.exec_driver_sql(f"UPDATE pair SET n = n + 1 WHERE id = {row}")

    def b_side(conn: Connection) -> None:
        runs["b"] += 1
        pids.append(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        bump(conn, 2)
        bump(conn, 1)  # waits for a, which holds row 1

    def b_thread() -> None:
        try:
            in_write_transaction(engine, b_side)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    thread = threading.Thread(target=b_thread)

    def a_side(conn: Connection) -> None:
        runs["a"] += 1
        bump(conn, 1)
        if runs["a"] == 1:
            thread.start()
            deadline = time.monotonic() + 30
            while not (pids and _waits_on_a_lock(engine, pids[-1])):
                assert time.monotonic() < deadline, "b never waited for row 1"
                time.sleep(0.02)
        bump(conn, 2)  # b holds row 2: a deadlock, one side is rolled back

    try:
        in_write_transaction(engine, a_side)
        thread.join(timeout=30)
        assert not errors, errors
        assert runs["a"] + runs["b"] == 3  # exactly one victim, run once more
        with engine.connect() as conn:
            stored = dict(conn.exec_driver_sql("SELECT id, n FROM pair").tuples().all())
        assert stored == {1: 2, 2: 2}  # each side's two updates, once
    finally:
        thread.join(timeout=30)
        engine.dispose()


def _waits_on_a_lock(engine: Engine, pid: int) -> bool:
    query = sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    with engine.connect() as conn:
        return conn.execute(query, {"pid": pid}).scalar() == "Lock"


def test_at_least_one_attempt_is_required(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1"):
        in_write_transaction(_counter(tmp_path), lambda conn: None, attempts=0)
