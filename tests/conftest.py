"""Shared database fixtures: every test gets a fresh SQLite file or PostgreSQL database."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from models.migrate import upgrade
from models.warehouse import create_engine

# Prefect must never touch the developer's ~/.prefect from tests, nor phone home.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="leadflow-prefect-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

PG_URL_ENV = "LEADFLOW_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_unavailable(reason: str) -> None:
    """Skip the test, except in CI, where a missing PostgreSQL is a failure."""
    message = f"PostgreSQL not available ({reason}); set {PG_URL_ENV}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine | str]:
    """An AUTOCOMMIT engine on the server's ``postgres`` database, or why there is none."""
    server = make_url(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))
    engine = create_engine(
        server.set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        yield str(error).splitlines()[0]
        return
    yield engine
    engine.dispose()


def _fresh_pg_database(admin: Engine) -> Iterator[str]:
    name = f"leadflow_t_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url: URL = admin.url.set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty warehouse database, created for this test and dropped after it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
        return
    admin = request.getfixturevalue("pg_admin_engine")
    if isinstance(admin, str):
        _pg_unavailable(admin)
    yield from _fresh_pg_database(admin)


@pytest.fixture
def migrated_engine(warehouse_url: str) -> Iterator[Engine]:
    """An engine on a fresh warehouse migrated to the latest schema."""
    engine = create_engine(warehouse_url)
    upgrade(engine)
    yield engine
    engine.dispose()
