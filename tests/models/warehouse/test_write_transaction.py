"""write_transaction: one writer at a time per SQLite file in a process; none on PostgreSQL."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from leadflow.models.warehouse.engine import create_engine, write_transaction


def _second_writer_waits(url: str) -> tuple[bool, bool]:
    """(whether a second writer got in while the first held its transaction, whether it
    got in after the first committed)."""
    engine, other = create_engine(url), create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS wt_probe (n INTEGER)")
    holding, inside = threading.Event(), threading.Event()

    def second() -> None:
        holding.wait()
        with write_transaction(other) as conn:
            conn.execute(sa.text("INSERT INTO wt_probe VALUES (2)"))
            inside.set()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        with write_transaction(engine) as conn:
            conn.execute(sa.text("SELECT count(*) FROM wt_probe"))
            holding.set()
            during = inside.wait(0.5)
        after = inside.wait(10)
    finally:
        thread.join(10)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE wt_probe")
        engine.dispose()
        other.dispose()
    return during, after


def test_sqlite_writers_take_turns_postgresql_writers_do_not(warehouse_url: str) -> None:
    during, after = _second_writer_waits(warehouse_url)
    # On PostgreSQL the second insert goes in while the first transaction is still open.
    assert (during, after) == (warehouse_url.startswith("postgresql"), True)
