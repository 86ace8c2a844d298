"""Engines for the warehouse: SQLite (the default) and PostgreSQL via psycopg 3."""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back
# whole and may simply be run again.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
TRANSACTION_ATTEMPTS = 4
_T = TypeVar("_T")
_log = logging.getLogger(__name__)
_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An Engine for ``url``; SQLite gets WAL, a 30 s busy timeout and enforced foreign keys.

    ``postgresql://`` (and ``postgres://``) URLs are rewritten to the psycopg 3 driver.
    Extra keyword arguments go to ``sqlalchemy.create_engine``.
    """
    parsed = _with_driver(make_url(url))
    kwargs.setdefault("json_serializer", _dumps)
    engine = sa.create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _configure_sqlite)
    return engine


@contextmanager
def open_warehouse(url: str | URL, **kwargs: Any) -> Iterator[Engine]:
    """An Engine for ``url`` (see :func:`create_engine`), disposed when the block ends.

    The one way leadflow opens a warehouse: whoever opens it closes its connection pool,
    however the block ends. Keyword arguments go to :func:`create_engine`.
    """
    engine = create_engine(url, **kwargs)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()``, one writer at a time per SQLite file within this process.

    SQLite has one writer per database; partition tasks on threads that write at once wait
    for each other in SQLite's busy handler, which sleeps in steps of up to 100 ms and left
    the file idle while writers slept. A lock per file hands the write over at once.
    Other processes still wait in the busy handler. PostgreSQL: no lock.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        with engine.begin() as conn:
            yield conn
        return
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.setdefault(database, threading.Lock())
    with lock, engine.begin() as conn:
        yield conn


def in_write_transaction(
    engine: Engine,
    work: Callable[[Connection], _T],
    *,
    attempts: int = TRANSACTION_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
) -> _T:
    """``work(conn)`` in a :func:`write_transaction`, run again if PostgreSQL rolled the
    transaction back as a deadlock victim or a serialization failure.

    ``work`` must be safe to repeat: everything it wrote was rolled back, so it only has to
    hold its inputs in memory. Other errors, and the last attempt's, propagate. Waits a
    random 50-100 ms, doubling per attempt, so the two sides of a deadlock do not collide
    again; each retry is logged to ``logger`` (the task's run logger) as a warning.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(1, attempts + 1):
        try:
            with write_transaction(engine) as conn:
                return work(conn)
        except sa.exc.DBAPIError as error:
            state = getattr(error.orig, "sqlstate", None)
            if attempt == attempts or state not in TRANSIENT_SQLSTATES:
                raise
            (logger or _log).warning(
                "transaction rolled back (SQLSTATE %s), attempt %d of %d: running it again",
                state, attempt, attempts,
            )  # fmt: skip
            sleep(0.05 * 2 ** (attempt - 1) * (1 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises


@contextmanager
def unprepared(conn: Connection) -> Iterator[None]:
    """Run the enclosed statements unprepared, so each is planned with its actual values.

    psycopg prepares a statement once it has run 5 times, and PostgreSQL may then keep a
    generic plan chosen while a table was still empty (a sequential scan) as the table
    grows: key lookups during a backfill became ~50x slower. SQLite: no effect.
    """
    driver = conn.connection.driver_connection
    if not hasattr(driver, "prepare_threshold"):
        yield
        return
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def without_parallel_plans(conn: Connection) -> None:
    """PostgreSQL: no parallel plan for the rest of ``conn``'s transaction. For the
    batches leadflow runs on every core itself (classification, SLA judging,
    ``leadflow.pipeline.fan_out``): each batch's reads are a few thousand key lookups, which
    the planner often spread over parallel workers, whose start and coordination took cores
    from the other batches (1M leads, a first classification: 147.5 -> 135.1 s). SQLite:
    no effect."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")


def analyze(conn: Connection, *tables: sa.Table) -> None:
    """Refresh PostgreSQL's planner statistics of ``tables`` (no-op on SQLite).

    Run after a step rewrote a column that the next step looks up by (person ids, after
    identity). Without statistics, PostgreSQL read ``person_id IN (...)`` on a freshly
    loaded table as most of the table and scanned all of it for every batch of 500 people
    (300 ms a batch on 42k leads, growing with the table); autovacuum analyzes too late for
    a run that loads and then reads. ANALYZE samples a fixed number of rows, sees the
    caller's uncommitted changes, and may run inside the transaction.
    """
    if conn.dialect.name == "postgresql" and tables:
        conn.exec_driver_sql("ANALYZE " + ", ".join(table.name for table in tables))


# When a table's statistics are stale: autovacuum's default analyze threshold (50 rows
# plus 10% of the table changed since the last analysis).
STALE_ROWS, STALE_FRACTION = 50, 0.1


def analyze_if_stale(conn: Connection, *tables: sa.Table) -> list[str]:
    """:func:`analyze` the ``tables`` that were never analyzed or changed by more than
    autovacuum's threshold since (committed changes, as PostgreSQL's statistics count
    them); the names analyzed. A wide table freshly analyzed (by autovacuum after a load, or
    by the last run) is not sampled again: 0.8 s of a 100k first run, for leads."""
    if conn.dialect.name != "postgresql" or not tables:
        return []
    query = sa.text(
        "SELECT relname FROM pg_stat_user_tables WHERE relname IN :names"
        " AND (COALESCE(last_analyze, last_autoanalyze) IS NULL"
        " OR n_mod_since_analyze > :rows + :fraction * n_live_tup)"
    ).bindparams(sa.bindparam("names", expanding=True))
    names = [table.name for table in tables]
    found = conn.execute(
        query, {"names": names, "rows": STALE_ROWS, "fraction": STALE_FRACTION}
    ).scalars()
    stale = set(found)
    chosen = [table for table in tables if table.name in stale]
    analyze(conn, *chosen)
    return [table.name for table in chosen]


def redact_url(url: str | URL) -> str:
    """The URL as text with any password hidden, safe for logs (even if it doesn't parse)."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        parsed = None
    if parsed is not None and "@" not in (parsed.host or ""):
        return parsed.render_as_string(hide_password=True)
    # Unparseable, or an unescaped "@" in the password: hide up to the last "@".
    return re.sub(r"(//[^/:@]*:)[^/]*@", r"\1***@", str(url))


def _with_driver(url: URL) -> URL:
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


# JSON text keeping non-ASCII characters readable in the database (one reusable encoder).
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()
