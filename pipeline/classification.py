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

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from leadflow.models.people.classification_store import read_person_facts
from leadflow.models.people.classification_writes import (
    ClassificationRows,
    classification_rows,
    store_classifications,
)
from leadflow.models.people.classify import classify
from leadflow.models.people.rules import Rules
from leadflow.models.people.transitions import transitions
from leadflow.models.warehouse.engine import without_parallel_plans
from leadflow.pipeline.fan_out import can_fan_out, fan_out

# People from which a second process pays for its start (~1 s to spawn and import).
PARALLEL_FROM = 20_000
# Databases where the workers only read and classify while this process writes (one
# writer at a time).
ONE_WRITER_DIALECTS = frozenset({"sqlite"})


@dataclass(frozen=True)
class ClassificationJob:
    """What every batch of one run is classified with."""

    rules: Rules
    now: datetime
    run_id: str
    replace: bool
    everyone: bool
    # Whether transitions were stored when the run began (else none can be one already).
    transitions_stored: bool = True

    def run(self, conn: Connection, batch: Sequence[str]) -> tuple[int, int]:
        """Classify ``batch`` and store the answers in ``conn``'s transaction: (people
        classified, new transitions)."""
        return self.save(conn, self.classify(conn, batch))

    def classify(self, conn: Connection, batch: Sequence[str]) -> ClassificationRows:
        """Read ``batch``'s facts and classify them (writes nothing): the rows that
        :meth:`save` stores, bound for ``conn``'s driver here (maybe on another core), not
        by the one process that writes them."""
        rules, now = self.rules, self.now
        without_parallel_plans(conn)
        results = []
        for facts in read_person_facts(conn, batch, everyone=self.everyone):
            found = classify(facts, rules, now)
            results.append((facts.person_id, found, transitions(facts.previous, found, now)))
        return classification_rows(conn.dialect.name, results, now, self.run_id)

    def save(self, conn: Connection, found: ClassificationRows) -> tuple[int, int]:
        """Store :meth:`classify`'s rows in ``conn``'s transaction: (people classified,
        new transitions)."""
        added = store_classifications(
            conn, found, replace=self.replace, transitions_stored=self.transitions_stored
        )
        return len(found.person_ids), added


def parallel_worthwhile(engine: Engine, people: int) -> bool:
    """Whether ``people`` are worth classifying on more than one process: enough of them,
    and a warehouse another process can work on (``fan_out.can_fan_out``)."""
    return people >= PARALLEL_FROM and can_fan_out(engine)


def classify_in_parallel(
    engine: Engine, batches: Sequence[Sequence[str]], job: ClassificationJob
) -> tuple[int, int]:
    """Run ``job`` over ``batches`` (one transaction each) on this process and a spawned
    one (``fan_out``); (people classified, new transitions) of all."""
    one_writer = engine.dialect.name in ONE_WRITER_DIALECTS

    def here(batch: Sequence[str]) -> tuple[int, int]:
        with engine.begin() as conn:
            return job.run(conn, batch)

    classified = added = 0
    method = "classify" if one_writer else "run"
    found = fan_out(engine, job, method, batches, here, commit=not one_writer)
    with contextlib.closing(found):
        for result, made_here in found:
            if one_writer and not made_here:  # the worker's answers, written here
                with engine.begin() as conn:
                    result = job.save(conn, result)
            count, new = result
            classified, added = classified + count, added + new
    return classified, added
