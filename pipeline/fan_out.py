"""Batches on two cores: this process and a spawned worker share a list of batches.

A job (classification's, the SLA's) is a picklable object whose methods take a connection
and a batch. :func:`fan_out` hands batches from the end of the list to ``WORKERS - 1``
spawned processes, each with its own engine on the warehouse's URL, which call one method
of the job on each (read-only, or in a transaction of their own that commits); this
process takes batches from the start of the list with ``here``, but only while no worker's
result is ready (storing those may be its main work). Each worker holds one batch running
and two waiting, so it never waits for this process. Every batch's result is yielded as it
is ready, with whether it was made here, for the caller to store. Without ``here`` this
process makes none: ``WORKERS`` workers make them all.

A worker's exception is raised here as it was raised there (same type and message; the
worker's traceback is its ``__cause__``), after the batches already handed out finished.
Close the generator (``contextlib.closing``) when the caller may stop early: the workers
are then shut down, their batches not started cancelled.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import util
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from leadflow.models.warehouse.engine import create_engine

# Processes working at once (this one included): the cores there are, at most two
# (measured on two cores; a third process would only wait for the database).
WORKERS = min(2, os.cpu_count() or 1)
# Batches handed to each worker at once: one running, the others waiting (so a worker
# never waits for this process to hand it the next).
AHEAD = 3
# Databases another process can work on beside this one.
PARALLEL_DIALECTS = frozenset({"postgresql", "sqlite"})


def can_fan_out(engine: Engine) -> bool:
    """Whether batches of ``engine``'s warehouse can go to another process: there is a
    second core, a database of ``PARALLEL_DIALECTS`` that another process can open (a
    server or a file, not an in-memory database or a single shared connection), and this
    process may start others (a daemonic one, such as a ``multiprocessing.Pool`` worker,
    may not)."""
    if WORKERS < 2 or isinstance(engine.pool, StaticPool):
        return False
    if engine.dialect.name not in PARALLEL_DIALECTS:
        return False
    if multiprocessing.current_process().daemon:
        return False
    database = engine.url.database
    return engine.dialect.name != "sqlite" or (bool(database) and database != ":memory:")


def fan_out(
    engine: Engine,
    job: Any,
    method: str,
    batches: Sequence[Sequence[str]],
    here: Callable[[Sequence[str]], Any] | None,
    *,
    commit: bool = False,
) -> Iterator[tuple[Any, bool]]:
    """Each batch's result, (result, made here): ``here(batch)`` in this process, or
    ``job.<method>(conn, batch)`` in a worker, on a connection of its own (in a
    transaction that commits when ``commit``, else read only). Without ``here``, this
    process only takes the results (it has the storing of them to do) and ``WORKERS``
    workers make them all."""
    url = engine.url.render_as_string(hide_password=False)
    queue = deque(batches)
    pending: set[Future[Any]] = set()
    context = multiprocessing.get_context("spawn")
    workers = WORKERS if here is None else max(WORKERS - 1, 1)
    pool = ProcessPoolExecutor(workers, context, initializer=_start, initargs=(url, job))
    try:
        while queue or pending:
            while queue and len(pending) < AHEAD * workers:
                pending.add(pool.submit(_call, method, list(queue.pop()), commit))
            # The workers' results first (storing them may be this process's main work):
            # a batch is made here only while none is ready, so no worker waits for work.
            done = {future for future in pending if future.done()}
            if not done and queue and here is not None:
                yield here(queue.popleft()), True
                continue
            if not done:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                yield future.result(), False  # a worker's exception is raised here
    except BaseException:
        queue.clear()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


_worker: dict[str, Any] = {}


def _start(url: str, job: Any) -> None:
    """A worker's start: its own engine on ``url`` (disposed when the worker exits)."""
    engine = create_engine(url)
    util.Finalize(None, engine.dispose, exitpriority=10)
    _worker.update(engine=engine, job=job)


def _call(method: str, batch: list[str], commit: bool) -> Any:
    """``job.<method>(conn, batch)`` in a worker."""
    engine: Engine = _worker["engine"]
    work = getattr(_worker["job"], method)
    if commit:
        with engine.begin() as conn:
            return work(conn, batch)
    with engine.connect() as conn:
        return work(conn, batch)
