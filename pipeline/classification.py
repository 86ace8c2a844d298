"""Classification batches, in this process or on a second core: the warehouse glue, no SQL.

A batch is a run of people classified and stored in one transaction
(``ClassificationJob.run``); batches are independent, so the classification of many
people (``parallel_worthwhile``) runs them on ``WORKERS`` processes: this one and spawned
workers, each opening its own engine from the warehouse URL. Workers take batches from the
end of the list (each holds one running and one waiting), this process from the start, so
neither waits for the other.

- PostgreSQL: a worker reads, classifies and writes whole batches, each in its own
  transaction.
- SQLite: one writer at a time (two processes writing took longer than one: 100k leads
  50-57 s against 28-45 s), so a worker only reads and classifies (WAL readers never wait
  for the writer) and sends the answers back; this process writes every batch, a
  transaction each. A batch reads only its own people's facts and previous state, so what
  other batches write meanwhile does not change its answer.

What a run promises stays the same: each batch commits on its own, so a failure keeps the
batches already done and a rerun finishes the rest; the caller saves the run's state with
its last batch, after :func:`classify_in_parallel` returned (every other batch committed).
A worker's exception is raised here as it was raised there (same type and message; the
worker's traceback is its ``__cause__``), after the batches already handed out finished.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import util
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from leadflow.models.people.classification_store import read_person_facts, save_classifications
from leadflow.models.people.classify import classify
from leadflow.models.people.rules import Rules
from leadflow.models.people.transitions import transitions
from leadflow.models.warehouse.engine import create_engine

# Processes classifying at once (this one included): the cores there are, at most two
# (measured on two cores; a third process would only wait for the database).
WORKERS = min(2, os.cpu_count() or 1)
# People from which a second process pays for its start (~1 s to spawn and import).
PARALLEL_FROM = 20_000
# Databases whose classification runs on several processes, and those where the workers
# only read and classify while this process writes (one writer at a time).
PARALLEL_DIALECTS = frozenset({"postgresql", "sqlite"})
ONE_WRITER_DIALECTS = frozenset({"sqlite"})
Results = list[tuple[str, Any, Any]]


@dataclass(frozen=True)
class ClassificationJob:
    """What every batch of one run is classified with."""

    rules: Rules
    now: datetime
    run_id: str
    replace: bool
    everyone: bool

    def run(self, conn: Connection, batch: Sequence[str]) -> tuple[int, int]:
        """Classify ``batch`` and store the answers in ``conn``'s transaction: (people
        classified, new transitions)."""
        return self.save(conn, self.classify(conn, batch))

    def classify(self, conn: Connection, batch: Sequence[str]) -> Results:
        """Read ``batch``'s facts and classify them (writes nothing): what :meth:`save`
        stores, (person id, classification, transitions) per person."""
        rules, now = self.rules, self.now
        results = []
        for facts in read_person_facts(conn, batch, everyone=self.everyone):
            found = classify(facts, rules, now)
            results.append((facts.person_id, found, transitions(facts.previous, found, now)))
        return results

    def save(self, conn: Connection, results: Results) -> tuple[int, int]:
        """Store :meth:`classify`'s ``results`` in ``conn``'s transaction: (people
        classified, new transitions)."""
        added = save_classifications(conn, results, self.now, self.run_id, replace=self.replace)
        return len(results), added


def parallel_worthwhile(engine: Engine, people: int) -> bool:
    """Whether ``people`` are worth classifying on more than one process: there is a
    second core, enough people, a database of ``PARALLEL_DIALECTS`` that another process
    can open (a server or a file, not an in-memory database or a single shared
    connection), and this process may start others (a daemonic one, such as a
    ``multiprocessing.Pool`` worker, may not)."""
    if WORKERS < 2 or people < PARALLEL_FROM or isinstance(engine.pool, StaticPool):
        return False
    if engine.dialect.name not in PARALLEL_DIALECTS:
        return False
    if multiprocessing.current_process().daemon:
        return False
    database = engine.url.database
    return engine.dialect.name != "sqlite" or (bool(database) and database != ":memory:")


def classify_in_parallel(
    engine: Engine, batches: Sequence[Sequence[str]], job: ClassificationJob
) -> tuple[int, int]:
    """Run ``job`` over ``batches`` (one transaction each) on this process and
    ``WORKERS - 1`` spawned ones; (people classified, new transitions) of all."""
    url = engine.url.render_as_string(hide_password=False)
    one_writer = engine.dialect.name in ONE_WRITER_DIALECTS
    task = _classify if one_writer else _run
    queue = deque(batches)
    classified = added = 0
    pending: set[Future[Any]] = set()
    context = multiprocessing.get_context("spawn")
    workers = max(WORKERS - 1, 1)
    pool = ProcessPoolExecutor(workers, context, initializer=_start, initargs=(url, job))
    try:
        while queue or pending:
            while queue and len(pending) < 2 * workers:  # one running, one waiting each
                pending.add(pool.submit(task, list(queue.pop())))
            if queue:
                with engine.begin() as conn:
                    count, new = job.run(conn, queue.popleft())
                classified, added = classified + count, added + new
                done = {future for future in pending if future.done()}
            else:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                found = future.result()  # a worker's exception is raised here
                if one_writer:  # the worker's answers, written here
                    with engine.begin() as conn:
                        found = job.save(conn, found)
                count, new = found
                classified, added = classified + count, added + new
    except BaseException:
        queue.clear()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return classified, added


_worker: dict[str, Any] = {}


def _start(url: str, job: ClassificationJob) -> None:
    """A worker's start: its own engine on ``url`` (disposed when the worker exits)."""
    engine = create_engine(url)
    util.Finalize(None, engine.dispose, exitpriority=10)
    _worker.update(engine=engine, job=job)


def _run(batch: list[str]) -> tuple[int, int]:
    """One batch in a worker, in its own transaction."""
    engine: Engine = _worker["engine"]
    job: ClassificationJob = _worker["job"]
    with engine.begin() as conn:
        return job.run(conn, batch)


def _classify(batch: list[str]) -> Results:
    """One batch read and classified in a worker (nothing written): its answers."""
    engine: Engine = _worker["engine"]
    job: ClassificationJob = _worker["job"]
    with engine.connect() as conn:
        return job.classify(conn, batch)
