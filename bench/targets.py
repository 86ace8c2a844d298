"""The databases a benchmark writes to: a fresh PostgreSQL database and a fresh SQLite file.

Each is migrated once to the current schema, plus ``PK_ONLY_TABLE`` (the load reference's
copy of ``leads`` with its primary key only); ``reset`` empties what a path wrote, so every
timed run starts from the same empty warehouse.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.migrate import upgrade
from leadflow.models.warehouse.tables import leads

PK_ONLY_TABLE = "bench_leads_pk"

PG_URL_ENV = "LEADFLOW_BENCH_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Emptied by ``reset`` on PostgreSQL (CASCADE: with whatever references them, e.g. people's).
WAREHOUSE_TABLES = (
    "leads", "campaigns", "quarantine", "sync_state", "sync_runs",
    "people", "sla_evaluations", "sla_results", "step_state",
)  # fmt: skip
PEER_SCHEMAS = ("dlt_bench", "dlt_bench_staging")
PEER_TABLES = ("pandas_leads",)


def create_pk_only_table(engine: Engine) -> None:
    """``PK_ONLY_TABLE``: the columns of ``leads`` (same names, types, nullability) and its
    primary key (source, source_lead_id), without its secondary indexes and foreign key."""
    columns = (
        sa.Column(c.name, c.type, nullable=c.nullable, primary_key=c.primary_key)
        for c in leads.columns
    )
    table = sa.Table(PK_ONLY_TABLE, sa.MetaData(), *columns)
    with engine.begin() as conn:
        table.create(conn)


@dataclass
class Target:
    """One migrated warehouse database: ``kind`` is ``postgresql`` or ``sqlite``."""

    kind: str
    url: str
    engine: Engine
    sqlite_path: Path | None = None
    template: Path | None = None
    admin: Engine | None = None
    extra_files: list[Path] = field(default_factory=list)

    def reset(self) -> None:
        """Empty the warehouse tables (the load path's, and the people and SLA tables the GX
        benchmark fills) and drop what the peers (dlt, pandas) created."""
        if self.kind == "sqlite":
            assert self.sqlite_path is not None and self.template is not None
            self.engine.dispose()
            for path in (self.sqlite_path, *self._sqlite_side_files()):
                path.unlink(missing_ok=True)
            shutil.copyfile(self.template, self.sqlite_path)
            return
        with self.engine.begin() as conn:
            tables = ", ".join((*WAREHOUSE_TABLES, PK_ONLY_TABLE))
            conn.exec_driver_sql(f"TRUNCATE {tables} CASCADE")
            for schema in PEER_SCHEMAS:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            for table in PEER_TABLES:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")

    def _sqlite_side_files(self) -> list[Path]:
        assert self.sqlite_path is not None
        base = self.sqlite_path
        names = [base.with_name(base.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
        peers = list(base.parent.glob(f"{base.stem}__*"))  # dlt's attached dataset files
        return names + peers

    def close(self) -> None:
        """Dispose of the engine and drop the database (PostgreSQL) or its files."""
        self.engine.dispose()
        if self.admin is not None:
            name = make_url(self.url).database
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.admin.dispose()


def sqlite_target(folder: Path) -> Target:
    """A migrated SQLite warehouse in ``folder`` (WAL, synchronous=NORMAL, like leadflow's)."""
    template = folder / "template.db"
    upgrade(f"sqlite:///{template}")
    template_engine = create_engine(f"sqlite:///{template}")
    create_pk_only_table(template_engine)
    template_engine.dispose()
    path = folder / "bench.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    return Target("sqlite", url, create_engine(url), sqlite_path=path, template=template)


def postgres_target() -> Target | None:
    """A fresh migrated PostgreSQL database, or None when no server answers."""
    admin_url = make_url(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        admin.dispose()
        return None
    name = f"leadflow_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    engine = create_engine(url)
    create_pk_only_table(engine)
    return Target("postgresql", url, engine, admin=admin)
