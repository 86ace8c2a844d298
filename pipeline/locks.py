"""The warehouse locks a run takes (``leadflow.models.warehouse.run_lock``), with the
configured wait, and what a refusal or a wait says about them.

A refusal is ``LockHeld`` (a ``RunLocked``): one line naming the lock, the warehouse (its
password masked) and, when it can be found, who holds it: a process on this host (SQLite's
lock file, from ``/proc/locks``) or a PostgreSQL session (``pg_locks``), by number and
since when, never a user name, a client address or a command line.

A process that already holds the sync lock (``leadflow sync`` takes it before it starts the
flow, so it can refuse in one line without starting Prefect) passes it on to what it runs
in the same context: ``sync_lock`` there does not take it a second time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from leadflow.config.settings import Settings
from leadflow.models.warehouse.engine import open_warehouse, redact_url
from leadflow.models.warehouse.run_lock import RunLocked, lock_key, warehouse_lock

# (warehouse URL, lock name) of the locks this context holds.
_HELD: ContextVar[frozenset[tuple[str, str]]] = ContextVar(
    "leadflow_held_locks", default=frozenset()
)


class LockHeld(RunLocked):
    """Another run held a warehouse lock for longer than this one would wait; nothing was
    written. The message is one line, safe to print (no password, no personal data)."""

    def __init__(self, message: str, *, lock: str = "sync", holder: str | None = None) -> None:
        super().__init__(message)
        self.lock, self.holder = lock, holder


def sync_lock(
    settings: Settings, on_wait: Callable[[], None] | None = None
) -> AbstractContextManager[None]:
    """The warehouse's sync lock: a second sync (or import, erasure, people rebuild: each
    loads or rewrites what a sync does) waits ``sync.lock_wait_minutes``, then raises
    ``LockHeld``. ``on_wait`` is called once, before waiting; with a wait of 0, never."""
    return _lock(settings, "sync", on_wait)


def people_lock(
    settings: Settings, wait_minutes: float | None = None
) -> AbstractContextManager[None]:
    """Classification's lock: every flow classifies through it, one at a time, or a stage
    change would be counted twice. ``wait_minutes`` (default ``sync.lock_wait_minutes``):
    0 refuses at once when it is held (the intake's settle pass tries again later)."""
    return _lock(settings, "people", None, wait_minutes)


@contextmanager
def _lock(
    settings: Settings,
    name: str,
    on_wait: Callable[[], None] | None,
    wait_minutes: float | None = None,
) -> Iterator[None]:
    url = settings.warehouse_url
    held = _HELD.get()
    if (url, name) in held:  # this run took it already (leadflow sync, before the flow)
        yield
        return
    minutes = settings.sync.lock_wait_minutes if wait_minutes is None else wait_minutes
    with ExitStack() as stack:
        try:
            stack.enter_context(
                warehouse_lock(
                    url, name, wait_seconds=minutes * 60, on_wait=on_wait if minutes > 0 else None
                )
            )
        except RunLocked:
            raise refusal(url, name, minutes) from None
        token = _HELD.set(held | {(url, name)})
        try:
            yield
        finally:
            _HELD.reset(token)


def refusal(url: str, name: str, minutes: float) -> LockHeld:
    """The ``LockHeld`` of lock ``name`` on warehouse ``url`` after waiting ``minutes``."""
    holder = lock_holder(url, name)
    waited = (
        "not waiting (sync.lock_wait_minutes is 0)"
        if minutes <= 0
        else f"gave up after {minutes:g} min (sync.lock_wait_minutes)"
    )
    return LockHeld(
        f"the {name} lock of warehouse {redact_url(url)} is held by another run"
        f"{f' ({holder})' if holder else ''}: {waited}; nothing was written, "
        "try again when it has ended",
        lock=name,
        holder=holder,
    )


def waiting_message(settings: Settings, name: str = "sync") -> str:
    """What a run says once before it waits for lock ``name`` (one line)."""
    holder = lock_holder(settings.warehouse_url, name)
    return (
        f"the {name} lock of warehouse {redact_url(settings.warehouse_url)} is held by "
        f"another run{f' ({holder})' if holder else ''}: waiting up to "
        f"{settings.sync.lock_wait_minutes:g} min for it to end (sync.lock_wait_minutes)"
    )


def lock_holder(url: str, name: str) -> str | None:
    """Who holds lock ``name`` on warehouse ``url``, when that can be found: "process 123
    on this host, started 09:14:03 UTC" or "PostgreSQL session 4567, since ...". None when
    it cannot be found (another host's process, no permission, no lock held any more)."""
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend == "postgresql":
            return _postgres_holder(url, name)
        if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
            # The file models/warehouse/run_lock.py locks (tests/cli/test_locks.py ties them).
            return _file_holder(Path(f"{parsed.database}.{name}.lock"))
    except Exception:  # best effort: a refusal must not fail for want of a name
        return None
    return None


def _postgres_holder(url: str, name: str) -> str | None:
    key = lock_key(name) & 0xFFFF_FFFF_FFFF_FFFF  # a bigint key is classid:objid, unsigned
    query = sa.text(
        "SELECT l.pid, a.backend_start FROM pg_locks l "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.classid = CAST(:high AS oid) AND l.objid = CAST(:low AS oid) "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    params = {"high": key >> 32, "low": key & 0xFFFF_FFFF}
    with (
        open_warehouse(url, connect_args={"connect_timeout": 5}) as engine,
        engine.connect() as conn,
    ):
        row = conn.execute(query, params).first()
    if row is None:
        return None
    pid, since = row
    return f"PostgreSQL session {pid}" + (f", since {_utc(since)}" if since else "")


def _file_holder(path: Path) -> str | None:
    status = path.stat()
    inode = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()  # 1: FLOCK  ADVISORY  WRITE 10156 fe:00:2146600 0 EOF
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == inode:
            pid = int(fields[4])
            started = _process_start(pid)
            return f"process {pid} on this host" + (f", started {started}" if started else "")
    return None


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), read from /proc (Linux);
    None when unknown (no such process, or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _process_start(pid: int) -> str | None:
    started = process_started(pid)
    return None if started is None else _utc(datetime.fromtimestamp(started, UTC))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
