"""Bring a warehouse to the current schema with Alembic, without an alembic.ini."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, Connection, Engine

from leadflow.models.warehouse.engine import open_warehouse

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary constant shared by every leadflow process: pg_advisory_xact_lock's key.
PG_MIGRATION_LOCK_KEY = 0x1EADF10
# Alembic's migration context is process-global: one upgrade at a time per process.
_IN_PROCESS_LOCK = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine_or_url: Engine | str | URL, revision: str = "head") -> None:
    """Migrate the warehouse to ``revision`` in one transaction.

    Concurrent upgrades are serialized, so two processes starting at once don't both
    create the tables: PostgreSQL by a transaction-level advisory lock, SQLite by taking
    the write lock up front (BEGIN IMMEDIATE, waiting up to the busy timeout).
    """
    with (
        _engine(engine_or_url) as engine,
        _IN_PROCESS_LOCK,
        engine.connect() as connection,
        _sqlite_fks_off(connection),
        connection.begin(),
    ):
        _lock_for_migration(connection)
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(alembic_config(connection), revision)
        # A full foreign-key check reads every row (17 s a sync at 1M leads): only
        # after a migration actually ran.
        if MigrationContext.configure(connection).get_current_revision() != before:
            _check_sqlite_fks(connection)


def _engine(engine_or_url: Engine | str | URL) -> AbstractContextManager[Engine]:
    """The caller's engine, left open; or one opened on the URL for this upgrade only."""
    if isinstance(engine_or_url, Engine):
        return nullcontext(engine_or_url)
    return open_warehouse(engine_or_url)


def _lock_for_migration(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
        connection.execute(lock, {"key": PG_MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # pysqlite only begins implicitly before DML; begin explicitly, as a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _sqlite_fks_off(connection: Connection) -> Iterator[None]:
    """SQLite: no foreign key actions while batch migrations drop and rebuild tables.

    (Dropping ``people`` would otherwise set every ``sales_touches.person_id`` to NULL.) The
    pragma only changes outside a transaction; it is switched back on afterwards.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        connection.commit()


def _check_sqlite_fks(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")


def current_revision(engine: Engine) -> str | None:
    """The warehouse's Alembic revision, or None if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
