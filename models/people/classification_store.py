"""Warehouse I/O for classification: read what is known about people, write their stages.

The pure part lives in ``leadflow.models.people.classify`` (what stage a person is at) and
``leadflow.models.people.transitions`` (the stage changes); this module reads their input
(``read_person_facts``) and stores their output (``save_classifications``), in the caller's
transaction. Writes are executemany (or ``unnest`` on PostgreSQL) and a transition already
stored is not written again, so a rerun adds nothing.

A classification sets ``people.classified_at``, never ``updated_at`` (that is the profile's,
``leadflow.models.people.identity_store``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.batches import plain_times, with_times
from leadflow.models.people.classify import Classification, Milestone
from leadflow.models.people.facts import (
    SIZE_KEYS,
    LeadFacts,
    PersonFacts,
    PreviousState,
    SalesDecision,
)
from leadflow.models.people.transitions import Transition
from leadflow.models.records.activity import EngagementEvent, SalesTouch, StatusChange
from leadflow.models.records.encoding import IN_CHUNK_SIZE, chunks, require_aware
from leadflow.models.records.leads import Stage
from leadflow.models.warehouse.activity_tables import (
    crm_status_changes,
    engagement_events,
    sales_touches,
)
from leadflow.models.warehouse.bulk import insert_rows, one_of, update_rows
from leadflow.models.warehouse.engine import unprepared
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import (
    people,
    person_milestones,
    sales_decisions,
    stage_transitions,
)

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
_EVENT_COLUMNS = (
    "source",
    "event_id",
    "account_id",
    "event_type",
    "occurred_at",
    "channel",
    "email",
    "email_match_key",
    "campaign_id",
)
_TOUCH_COLUMNS = (
    "source",
    "touch_id",
    "lead_id",
    "touch_type",
    "occurred_at",
    "updated_at",
    "owner_id",
    "direction",
    "outcome",
)
_CHANGE_COLUMNS = ("source", "change_id", "lead_id", "field", "occurred_at", "updated_at",
                   "new_value", "old_value", "changed_by", "reason")  # fmt: skip
_DECISION_COLUMNS = ("person_id", "decided_at", "source", "lead_id", "field", "decision",
                     "raw_status", "rep_id", "reason", "basis")  # fmt: skip


# What classification reads of a lead (LeadFacts.from_columns): its plain columns and a few
# members of its JSON payloads, extracted by the database (parsing every lead's whole
# payload cost more than the rest of its row). "->>" gives a member as SQL text/number
# (SQLite 3.38+, PostgreSQL); a missing path gives null.
_LEAD_COLUMNS = ("source", "source_lead_id", "created_at", "updated_at", "utm_source",
                 "utm_medium", "utm_campaign", "campaign_id", "is_organic", "form_id",
                 "source_stage", "job_title", "company", "country", "email",
                 "owner_id")  # fmt: skip
_LEAD_MEMBERS = {  # name: (column, path)
    "form_name": ("custom_fields", ("form_name",)),
    "raw_form_name": ("raw", ("form_name",)),
    "raw_form": ("raw", ("form", "name")),  # LinkedIn attaches its form as ``form``
    "raw_meta_form": ("raw", ("leadflow_form", "name")),  # Meta's connector: FORM_KEY
    "lead_status": ("custom_fields", ("hs_lead_status",)),
    "crm_status": ("custom_fields", ("Status",)),  # Salesforce's Lead.Status
    "analytics_source": ("custom_fields", ("hs_analytics_source",)),
    **{key: ("custom_fields", (key,)) for key in SIZE_KEYS},
}


def _member(dialect: str, column: str, path: tuple[str, ...], name: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        *outer, last = path
        chain = "".join(f" -> '{key}'" for key in outer)
        sql = f"leads.{column}{chain} ->> '{last}'"
    else:
        sql = f"leads.{column} ->> '$.{'.'.join(path)}'"
    return sa.literal_column(sql).label(name)


def _lead_selection(dialect: str) -> list[sa.ColumnElement[Any]]:
    members = [_member(dialect, col, path, name) for name, (col, path) in _LEAD_MEMBERS.items()]
    return [*(leads.c[name] for name in _LEAD_COLUMNS), *members]


def read_person_facts(
    conn: Connection, person_ids: Sequence[str], *, everyone: bool = False
) -> list[PersonFacts]:
    """Everything classification needs about ``person_ids`` (in that order; unknown ids
    get no facts): their leads, engagement events, sales touches and stored state.

    Raw payloads are not read (events and touches come with empty ``raw`` and ``detail``),
    except the form name in a lead's ``raw``, the only part classification reads.

    ``everyone``: the ids are a run of consecutive people of the sorted list of all people
    (a full classification's batch), so each table is read by one index range from the
    first id to the last instead of an id list (rows of anyone else are dropped anyway)."""
    found_leads: dict[str, list[LeadFacts]] = defaultdict(list)
    found_events: dict[str, list[EngagementEvent]] = defaultdict(list)
    found_touches: dict[str, list[SalesTouch]] = defaultdict(list)
    found_changes: dict[str, list[StatusChange]] = defaultdict(list)
    previous: dict[str, PreviousState | None] = {}
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    selection = _lead_selection(dialect)
    names = [column.name for column in selection]
    wanted = set(person_ids)
    with unprepared(conn):
        for chunk in chunks(sorted(wanted), max(len(wanted), 1) if everyone else IN_CHUNK_SIZE):
            rows = partial(_rows, conn, chunk=chunk, wanted=wanted, span=everyone)
            for pid, values in rows(leads, selection):
                found_leads[pid].append(
                    LeadFacts.from_columns(dict(zip(names, values, strict=True)))
                )
            selected = [engagement_events.c[name] for name in _EVENT_COLUMNS]
            for pid, values in rows(engagement_events, selected):
                found_events[pid].append(EngagementEvent(*values))
            selected = [sales_touches.c[name] for name in _TOUCH_COLUMNS]
            for pid, values in rows(sales_touches, selected):
                found_touches[pid].append(SalesTouch(*values))
            for pid, values in _changes(conn, chunk=chunk, wanted=wanted, span=everyone):
                found_changes[pid].append(StatusChange(*values))
            selected = [people.c.stage, people.c.lifecycle, people.c.qualified_at]
            for pid, (stage, lifecycle, qualified_at) in rows(people, selected):
                known = stage is not None and lifecycle is not None
                previous[pid] = (
                    PreviousState(Stage(stage), lifecycle, qualified_at) if known else None
                )
    return [
        PersonFacts(
            person_id=pid,
            leads=sorted(found_leads[pid], key=lambda f: (f.source, f.source_lead_id)),
            events=sorted(found_events[pid], key=lambda e: (e.occurred_at, e.source, e.event_id)),
            touches=sorted(found_touches[pid], key=lambda t: (t.occurred_at, t.touch_id)),
            previous=previous[pid],
            status_changes=sorted(
                found_changes[pid], key=lambda c: (c.occurred_at, c.source, c.change_id)
            ),
        )
        for pid in person_ids
        if pid in previous
    ]


def _rows(
    conn: Connection,
    table: sa.Table,
    selected: Sequence[sa.ColumnElement[Any]],
    *,
    chunk: Sequence[str],
    wanted: Collection[str],
    span: bool,
) -> Iterable[tuple[str, tuple[Any, ...]]]:
    """The ``selected`` values of the rows of the people in ``chunk`` (sorted), by person
    (SQLite's times parsed by ``batches.utc``); with ``span``, read as the range from the
    first to the last and kept if ``wanted``."""
    columns, times = plain_times(conn, selected)
    person = table.c.person_id
    query = sa.select(person, *columns)
    return _by_person(conn, query, person, times, chunk=chunk, wanted=wanted, span=span)


def _changes(
    conn: Connection, *, chunk: Sequence[str], wanted: Collection[str], span: bool
) -> Iterable[tuple[str, tuple[Any, ...]]]:
    """The CRM status changes of the people in ``chunk``, by person (through their lead)."""
    c = crm_status_changes
    columns, times = plain_times(conn, [c.c[name] for name in _CHANGE_COLUMNS])
    on_lead = sa.and_(leads.c.source == c.c.source, leads.c.source_lead_id == c.c.lead_id)
    person = leads.c.person_id
    query = sa.select(person, *columns).select_from(c.join(leads, on_lead))
    return _by_person(conn, query, person, times, chunk=chunk, wanted=wanted, span=span)


def _by_person(
    conn: Connection,
    query: sa.Select[Any],
    person: sa.ColumnElement[Any],
    times: Any,
    *,
    chunk: Sequence[str],
    wanted: Collection[str],
    span: bool,
) -> Iterable[tuple[str, tuple[Any, ...]]]:
    """Run ``query`` for the people in ``chunk`` (a range with ``span``), by person."""
    if span:
        query = query.where(person >= chunk[0], person <= chunk[-1])
    else:
        query = query.where(one_of(conn, person, chunk))
    for row in conn.execute(query):
        if row[0] in wanted:
            yield row[0], with_times(row[1:], times)


def save_classifications(
    conn: Connection,
    results: Sequence[tuple[str, Classification, Sequence[Transition]]],
    now: datetime,
    run_id: str,
) -> int:
    """Store each person's classification and add its transitions (a transition already
    stored, same person, lifecycle stage and time, is skipped). Returns how many
    transitions were new. Runs in the caller's transaction."""
    require_aware(now=now)
    updates = [
        (pid, str(c.stage), c.lifecycle, c.raw_stage, c.fit, c.engagement, list(c.reasons),
         c.qualified_at, c.lifecycle_at, now)
        for pid, c, _ in results
    ]  # fmt: skip
    update_rows(conn, people, ("person_id",), CLASSIFICATION_COLUMNS, updates)
    save_milestones(conn, [(pid, c.milestones) for pid, c, _ in results])
    save_decisions(conn, [(pid, c.decisions) for pid, c, _ in results])
    rows = {
        (pid, t.to_lifecycle, t.at): (
            pid, str(t.from_stage) if t.from_stage else None, str(t.to_stage), t.from_lifecycle,
            t.to_lifecycle, t.at, list(t.reasons), run_id, now,
        )
        for pid, _, found in results
        for t in found
    }  # fmt: skip
    # A transition already stored (same person, lifecycle stage and time) is left alone.
    return insert_rows(
        conn, stage_transitions, _TRANSITION_COLUMNS, list(rows.values()),
        key=("person_id", "to_lifecycle", "at"),
    )  # fmt: skip


_TRANSITION_COLUMNS = ("person_id", "from_stage", "to_stage", "from_lifecycle",
                       "to_lifecycle", "at", "reasons", "run_id", "recorded_at")  # fmt: skip


def save_milestones(conn: Connection, found: Sequence[tuple[str, Sequence[Milestone]]]) -> None:
    """Replace the milestones of each person in ``found`` with theirs (derived data: the
    classification of the same facts always writes the same rows)."""
    m = person_milestones
    for chunk in chunks([pid for pid, _ in found]):
        conn.execute(m.delete().where(one_of(conn, m.c.person_id, chunk)))
    rows = [(pid, x.kind, x.at, x.reason) for pid, items in found for x in items]
    insert_rows(conn, m, ("person_id", "kind", "at", "reason"), rows)


def save_decisions(conn: Connection, found: Sequence[tuple[str, Sequence[SalesDecision]]]) -> None:
    """Replace the CRM sales decisions of each person in ``found`` with theirs (derived
    data, like the milestones); decisions not read from a CRM (no ``kind``) are not kept."""
    d = sales_decisions
    for chunk in chunks([pid for pid, _ in found]):
        conn.execute(d.delete().where(one_of(conn, d.c.person_id, chunk)))
    rows = {
        (pid, x.at, x.source, x.lead_id, x.field): (
            pid, x.at, x.source, x.lead_id, x.field, x.kind, x.raw_status, x.rep_id, x.note,
            x.basis,
        )
        for pid, items in found
        for x in items
        if x.kind and x.source and x.lead_id and x.field and x.raw_status
    }  # fmt: skip
    insert_rows(conn, d, _DECISION_COLUMNS, list(rows.values()))


def people_per_stage(conn: Connection) -> dict[str, int]:
    """How many people the warehouse holds per lifecycle stage, by stage name."""
    query = sa.select(people.c.lifecycle, sa.func.count()).group_by(people.c.lifecycle)
    counts = {str(stage): count for stage, count in conn.execute(query).all()}
    return dict(sorted(counts.items()))
