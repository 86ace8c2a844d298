"""One run at a time per warehouse: a PostgreSQL advisory lock, or an OS lock on a file
beside an SQLite database.

Two syncs started at once would both load (idempotent) and both classify, so the same
stage change was recorded twice. The lock is held for as long as the run lasts and is
released when its process ends, however it ends: PostgreSQL drops the advisory locks of a
closed session and the kernel drops a dead process's ``flock`` — a SIGKILLed run leaves
nothing behind. Hand-written because both primitives are one call each (PostgreSQL's
``pg_try_advisory_lock``, the standard library's ``fcntl.flock``); polling the non-blocking
form gives a timeout and a "waiting" message without server-side settings.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from leadflow.models.warehouse.engine import open_warehouse, redact_url


class RunLocked(RuntimeError):
    """Another run held the warehouse's lock for longer than this run would wait."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory lock keys are bigint)."""
    digest = hashlib.sha256(f"leadflow:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def warehouse_lock(
    url: str | URL,
    name: str,
    *,
    wait_seconds: float = 0.0,
    poll_seconds: float = 0.5,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse's lock ``name`` for the enclosed block.

    When another process holds it, calls ``on_wait()`` once, then waits up to
    ``wait_seconds`` (0: not at all) before raising ``RunLocked``. Databases that are
    neither PostgreSQL nor an SQLite file (an in-memory SQLite) need no lock.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        acquire = _postgres_lock(parsed, name)
    elif backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        acquire = _file_lock(Path(f"{parsed.database}.{name}.lock"))
    else:
        yield
        return
    deadline, waited = time.monotonic() + wait_seconds, False
    with acquire as try_lock:
        while not try_lock():
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if time.monotonic() >= deadline:
                raise RunLocked(
                    f"another {name} run holds the lock on warehouse {redact_url(url)}; "
                    f"gave up after {wait_seconds:.0f} s (nothing was written)"
                )
            time.sleep(poll_seconds)
        yield


@contextmanager
def _postgres_lock(url: URL, name: str) -> Iterator[Callable[[], bool]]:
    # A session-level lock on a dedicated autocommit connection: no transaction stays open.
    key, held = lock_key(name), False
    with (
        open_warehouse(url, poolclass=NullPool, isolation_level="AUTOCOMMIT") as engine,
        engine.connect() as conn,
    ):

        def try_lock() -> bool:
            nonlocal held
            query = sa.text("SELECT pg_try_advisory_lock(:key)")
            held = bool(conn.execute(query, {"key": key}).scalar())
            return held

        try:
            yield try_lock
        finally:
            if held:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextmanager
def _file_lock(path: Path) -> Iterator[Callable[[], bool]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def try_lock() -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    try:
        yield try_lock
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock
