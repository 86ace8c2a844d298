"""Engines and the migration runner's connections: URLs, SQLite settings, foreign keys
around upgrades, psycopg's prepared statements."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.engine import (
    create_engine,
    redact_url,
    unprepared,
    without_parallel_plans,
)
from leadflow.models.warehouse.migrate import alembic_config, upgrade
from leadflow.models.warehouse.people_tables import stage_transitions

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PRAGMAS = ("journal_mode", "busy_timeout", "foreign_keys")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "postgresql://lf:s3cret@db:5432/wh", "postgresql://lf:***@db:5432/wh", id="password"
        ),
        pytest.param("postgresql://lf:p@ss@db/wh", "postgresql://lf:***@db/wh", id="unescaped-at"),
        pytest.param("sqlite:///leadflow.db", "sqlite:///leadflow.db", id="no-password"),
    ],
)
def test_redact_url_hides_the_password(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_postgresql_urls_use_psycopg3() -> None:
    engine = create_engine("postgresql://u@localhost/db")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in PRAGMAS]
    engine.dispose()
    assert pragmas == ["wal", 30_000, 1]


def test_sqlite_foreign_keys_are_back_on_after_upgrade(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}", poolclass=sa.pool.StaticPool)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_sqlite_foreign_keys_are_checked_only_when_a_migration_ran(tmp_path: Path) -> None:
    """The full foreign-key check reads every row, so an up-to-date warehouse skips it;
    a migration that ran is still checked."""
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}", poolclass=sa.pool.StaticPool)
    upgrade(engine)
    with engine.connect() as conn:  # a dangling reference no migration made
        conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        conn.execute(stage_transitions.insert(), [{
            "person_id": "p_missing", "to_stage": "cold", "to_lifecycle": "lead", "at": T0,
            "reasons": [], "run_id": "r", "recorded_at": T0,
        }])  # fmt: skip
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys = ON")
    upgrade(engine)  # at head already: nothing ran, nothing checked
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0006")
        conn.commit()
    with pytest.raises(RuntimeError, match="migration broke foreign keys"):
        upgrade(engine)
    engine.dispose()


def test_unprepared_disables_psycopg_prepared_statements(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        driver = conn.connection.driver_connection
        before = getattr(driver, "prepare_threshold", "n/a")
        with unprepared(conn):
            inside = getattr(driver, "prepare_threshold", "n/a")
        after = getattr(driver, "prepare_threshold", "n/a")
    expected = (5, None, 5) if migrated_engine.dialect.name == "postgresql" else ("n/a",) * 3
    assert (before, inside, after) == expected


def test_without_parallel_plans_lasts_for_the_transaction(migrated_engine: Engine) -> None:
    if migrated_engine.dialect.name != "postgresql":
        with migrated_engine.begin() as conn:
            without_parallel_plans(conn)  # nothing to set, nothing raised
        return
    show = "SHOW max_parallel_workers_per_gather"
    with migrated_engine.connect() as conn:
        before = conn.exec_driver_sql(show).scalar()
        conn.commit()
        with conn.begin():
            without_parallel_plans(conn)
            inside = conn.exec_driver_sql(show).scalar()
        after = conn.exec_driver_sql(show).scalar()
    assert before != "0"
    assert (inside, after) == ("0", before)


def _flush_stats(engine: Engine) -> None:
    """Make this backend's table statistics visible to the next read (PostgreSQL 15+)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")


def test_analyze_if_stale_samples_only_stale_tables(migrated_engine: Engine) -> None:
    """Never analyzed: analyzed. Fresh statistics: left alone. Changed past autovacuum's
    threshold since (committed): analyzed again. SQLite has no statistics to refresh."""
    from leadflow.models.warehouse.engine import STALE_ROWS, analyze_if_stale
    from leadflow.models.warehouse.people_tables import lead_people, people

    def stale() -> list[str]:
        _flush_stats(migrated_engine)
        with migrated_engine.begin() as conn:
            return analyze_if_stale(conn, lead_people, people)

    if migrated_engine.dialect.name != "postgresql":
        with migrated_engine.begin() as conn:
            assert analyze_if_stale(conn, lead_people, people) == []
        return
    assert stale() == ["lead_people", "people"]  # never analyzed
    assert stale() == []
    rows = [
        {"source": "meta", "source_lead_id": str(i), "person_id": f"p{i}"}
        for i in range(STALE_ROWS + 10)
    ]
    with migrated_engine.begin() as conn:
        conn.execute(sa.insert(lead_people), rows)
    assert stale() == ["lead_people"]
    assert stale() == []
