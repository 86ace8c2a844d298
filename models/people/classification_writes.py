"""Warehouse writes for classification: each person's stage, milestones, sales decisions
and new transitions (``save_classifications``), in the caller's transaction. Writes are
executemany (or ``unnest``/COPY on PostgreSQL) and a transition already stored is not written
again, so a rerun adds nothing. A batch's rows can be made where it was classified
(``classification_rows``, maybe another process) and stored by the one writer
(``store_classifications``).

A classification sets ``people.classified_at``, never ``updated_at`` (that is the profile's,
``leadflow.models.people.identity_store``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.classify import Classification
from leadflow.models.people.transitions import Transition
from leadflow.models.records.encoding import chunks, require_aware
from leadflow.models.warehouse.bulk import bound_rows, insert_rows, update_rows
from leadflow.models.warehouse.engine import unprepared
from leadflow.models.warehouse.people_tables import (
    people,
    person_milestones,
    sales_decisions,
    stage_transitions,
)
from leadflow.models.warehouse.reads import one_of

CLASSIFICATION_COLUMNS = (
    "stage",
    "lifecycle",
    "raw_stage",
    "fit",
    "engagement",
    "reasons",
    "qualified_at",
    "lifecycle_at",
    "classified_at",
)
_DECISION_COLUMNS = ("person_id", "decided_at", "source", "lead_id", "field", "decision",
                     "raw_status", "rep_id", "reason", "basis")  # fmt: skip


@dataclass(frozen=True)
class ClassificationRows:
    """A batch's classifications as the rows that store them, each a tuple as the
    database's driver binds it (``bulk.bound_rows``): made where the batch was classified
    (maybe another process, which sends them back as plain tuples; the frozen dataclasses
    they come from cost 27 s of pickling at a million people), stored by
    :func:`store_classifications`."""

    person_ids: list[str]
    people: list[tuple[Any, ...]]  # ("person_id", *CLASSIFICATION_COLUMNS)
    milestones: list[tuple[Any, ...]]  # _MILESTONE_COLUMNS
    decisions: list[tuple[Any, ...]]  # _DECISION_COLUMNS
    transitions: list[tuple[Any, ...]]  # _TRANSITION_COLUMNS


def classification_rows(
    dialect: str,
    results: Sequence[tuple[str, Classification, Sequence[Transition]]],
    now: datetime,
    run_id: str,
) -> ClassificationRows:
    """The rows that store ``results`` (person id, classification, transitions), bound for
    ``dialect``'s driver. Transitions equal in person, lifecycle stage and time are one row;
    decisions not read from a CRM (no ``kind``) are not kept."""
    require_aware(now=now)
    updates = [
        (pid, str(c.stage), c.lifecycle, c.raw_stage, c.fit, c.engagement, list(c.reasons),
         c.qualified_at, c.lifecycle_at, now)
        for pid, c, _ in results
    ]  # fmt: skip
    milestones = [(pid, x.kind, x.at, x.reason) for pid, c, _ in results for x in c.milestones]
    decisions = {
        (pid, x.at, x.source, x.lead_id, x.field): (
            pid, x.at, x.source, x.lead_id, x.field, x.kind, x.raw_status, x.rep_id, x.note,
            x.basis,
        )
        for pid, c, _ in results
        for x in c.decisions
        if x.kind and x.source and x.lead_id and x.field and x.raw_status
    }  # fmt: skip
    transitions = {
        (pid, t.to_lifecycle, t.at): (
            pid, str(t.from_stage) if t.from_stage else None, str(t.to_stage), t.from_lifecycle,
            t.to_lifecycle, t.at, list(t.reasons), run_id, now,
        )
        for pid, _, found in results
        for t in found
    }  # fmt: skip
    return ClassificationRows(
        person_ids=[pid for pid, _, _ in results],
        people=bound_rows(dialect, people, ("person_id", *CLASSIFICATION_COLUMNS), updates),
        milestones=bound_rows(dialect, person_milestones, _MILESTONE_COLUMNS, milestones),
        decisions=bound_rows(dialect, sales_decisions, _DECISION_COLUMNS, list(decisions.values())),
        transitions=bound_rows(
            dialect, stage_transitions, _TRANSITION_COLUMNS, list(transitions.values())
        ),
    )


def store_classifications(
    conn: Connection, rows: ClassificationRows, *, replace: bool, transitions_stored: bool = True
) -> int:
    """Store a batch's :func:`classification_rows` (bound for this database) in the
    caller's transaction: each person's classification, milestones and sales decisions,
    and the transitions not stored yet (same person, lifecycle stage and time). Returns
    how many transitions were new.

    ``replace=False``: no milestone or sales decision of these people is stored yet (see
    :func:`holds_derived_rows`), so theirs are inserted without deleting first.
    ``transitions_stored=False``: no transition was stored when the run began (a first
    classification; its batches hold different people), so none can be one already: they
    are inserted without looking for one (PostgreSQL: copied in binary; 894,138
    transitions at 1M leads)."""
    key = ("person_id",)
    update_rows(conn, people, key, CLASSIFICATION_COLUMNS, rows.people, bound=True)
    if replace:
        for table in (person_milestones, sales_decisions):
            _delete_people(conn, table, rows.person_ids)
    insert_rows(conn, person_milestones, _MILESTONE_COLUMNS, rows.milestones, bound=True)
    insert_rows(conn, sales_decisions, _DECISION_COLUMNS, rows.decisions, bound=True)
    # A transition already stored (same person, lifecycle stage and time) is left alone.
    key = ("person_id", "to_lifecycle", "at") if transitions_stored else ()
    return insert_rows(
        conn, stage_transitions, _TRANSITION_COLUMNS, rows.transitions, key=key, bound=True
    )


def save_classifications(
    conn: Connection,
    results: Sequence[tuple[str, Classification, Sequence[Transition]]],
    now: datetime,
    run_id: str,
    *,
    replace: bool = True,
) -> int:
    """Store each person's classification and add its transitions (a transition already
    stored, same person, lifecycle stage and time, is skipped). Returns how many
    transitions were new. Runs in the caller's transaction: :func:`store_classifications`
    of the :func:`classification_rows` of ``results``."""
    rows = classification_rows(conn.dialect.name, results, now, run_id)
    return store_classifications(conn, rows, replace=replace)


_MILESTONE_COLUMNS = ("person_id", "kind", "at", "reason")
_TRANSITION_COLUMNS = ("person_id", "from_stage", "to_stage", "from_lifecycle",
                       "to_lifecycle", "at", "reasons", "run_id", "recorded_at")  # fmt: skip


def holds_derived_rows(conn: Connection) -> bool:
    """Whether any milestone or sales decision is stored (none before a first
    classification finished a batch: its batches need not delete any)."""
    tables = (person_milestones, sales_decisions)
    return any(conn.execute(sa.select(sa.exists().select_from(t))).scalar() for t in tables)


def _delete_people(conn: Connection, table: sa.Table, person_ids: Sequence[str]) -> None:
    """Delete the rows of ``table`` of ``person_ids``; unprepared: a plan psycopg prepared
    while the table was nearly empty (a scan) made each delete of a 100k-person
    classification slower than the last, 27 of its 42 s."""
    with unprepared(conn):
        for chunk in chunks(person_ids):
            conn.execute(table.delete().where(one_of(conn, table.c.person_id, chunk)))
