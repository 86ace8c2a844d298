"""Shared database fixtures: every test gets a fresh SQLite file or PostgreSQL database."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.migrate import upgrade

# Prefect must never touch the developer's ~/.prefect from tests, nor phone home.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="leadflow-prefect-"))
if worker := os.environ.get("PYTEST_XDIST_WORKER"):  # pytest-xdist: one home per worker
    os.environ["PREFECT_HOME"] = os.path.join(os.environ["PREFECT_HOME"], worker)
    os.makedirs(os.environ["PREFECT_HOME"], exist_ok=True)
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


class _PgDatabases:
    """Fresh PostgreSQL databases for the tests, made ahead and dropped in batches.

    Each DROP DATABASE forces a checkpoint (PostgreSQL 15), about a second of I/O when it
    runs alone, and CREATE DATABASE a fraction of one: made one ahead on a background
    thread, and dropped a batch at a time on parallel connections (their checkpoints
    coalesce), they no longer stand between the tests. A used database's sessions are
    ended when its test ends, as the dropping did. A database for a test that asks for
    ``migrated_engine`` is a copy (CREATE DATABASE ... TEMPLATE) of one that ``upgrade``
    brought to the latest schema, made once per session; ``migrated_engine`` still runs
    ``upgrade`` on it (then a no-op). Every test gets a database no other test used.
    """

    DROP_BATCH = 8

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self.maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-pg-create")
        self.dropper = ThreadPoolExecutor(self.DROP_BATCH, thread_name_prefix="test-pg-drop")
        self.template: str | None = None
        self.ahead: dict[bool, deque[Future[str]]] = {False: deque(), True: deque()}
        self.used: list[str] = []
        self.drops: list[Future[None]] = []

    def url(self, name: str) -> str:
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str, **params: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(sa.text(sql), params)

    def _create(self, template: str | None = None) -> str:
        name = f"leadflow_t_{secrets.token_hex(6)}"
        self._execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def _drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _migrated_template(self) -> str:
        if self.template is None:
            name = self._create()
            engine = create_engine(self.url(name))
            try:
                upgrade(engine)
            finally:
                engine.dispose()  # no session may stay on a template
            self.template = name
        return self.template

    def take(self, migrated: bool) -> str:
        """The name of a fresh database (migrated to the latest schema, or empty)."""
        template = self._migrated_template() if migrated else None
        ahead = self.ahead[migrated]
        if not ahead:
            ahead.append(self.maker.submit(self._create, template))
        made = ahead.popleft()
        ahead.append(self.maker.submit(self._create, template))  # the next test's
        return made.result()

    def give_back(self, name: str) -> None:
        """End the test's sessions on ``name`` now; drop it with the next batch."""
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()",
            name=name,
        )
        self.used.append(name)
        if len(self.used) >= self.DROP_BATCH:
            self._drop_used()

    def _drop_used(self) -> None:
        self.drops += [self.dropper.submit(self._drop, name) for name in self.used]
        self.used = []

    def close(self) -> None:
        self.maker.shutdown(wait=True)
        for future in (f for ahead in self.ahead.values() for f in ahead):
            with contextlib.suppress(Exception):  # a failed creation left nothing to drop
                self.used.append(future.result())
        if self.template is not None:
            self.used.append(self.template)
        self._drop_used()
        self.dropper.shutdown(wait=True)
        for future in self.drops:
            future.result()  # a database that could not be dropped fails the session


@pytest.fixture(scope="session")
def pg_databases(pg_admin_engine: Engine | str) -> Iterator[_PgDatabases | str]:
    """Where the tests' PostgreSQL databases come from, or why there is no server."""
    if isinstance(pg_admin_engine, str):
        yield pg_admin_engine
        return
    databases = _PgDatabases(pg_admin_engine)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(scope="session")
def sqlite_migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite warehouse file that ``upgrade`` brought to the latest schema, to copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "warehouse.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    # Closing the last connection checkpointed the WAL: the file alone is the database.
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert not leftovers, f"SQLite template not checkpointed: {leftovers}"
    return path


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a warehouse database, created for this test and dropped after it: empty,
    or, when the test asks for ``migrated_engine``, a copy of one migrated to the latest
    schema (``migrated_engine`` then runs ``upgrade`` on it all the same)."""
    migrated = "migrated_engine" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "warehouse.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_migrated_template"), path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("pg_databases")
    if isinstance(databases, str):
        _pg_unavailable(databases)
    name = databases.take(migrated)
    try:
        yield databases.url(name)
    finally:
        databases.give_back(name)


@pytest.fixture
def migrated_engine(warehouse_url: str) -> Iterator[Engine]:
    """An engine on a fresh warehouse migrated to the latest schema."""
    engine = create_engine(warehouse_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """Prefect runs for real in the tests that ask: one temporary local API per session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield
