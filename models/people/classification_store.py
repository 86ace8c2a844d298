"""Warehouse I/O for classification: read what is known about people, write their stages.

The pure part lives in ``leadflow.models.people.classify`` (what stage a person is at) and
``leadflow.models.people.transitions`` (the stage changes); this module reads their input
(``read_person_facts``), in the caller's transaction;
``leadflow.models.people.classification_writes`` stores their output.

A classification sets ``people.classified_at``, never ``updated_at`` (that is the profile's,
``leadflow.models.people.identity_store``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence, Set
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.batches import plain_times, utc
from leadflow.models.people.facts import (
    ROW_FIELDS,
    SIZE_KEYS,
    LeadFacts,
    PersonFacts,
    PreviousState,
)
from leadflow.models.records.activity import EngagementEvent, SalesTouch, StatusChange
from leadflow.models.records.encoding import IN_CHUNK_SIZE, chunks
from leadflow.models.records.leads import Stage
from leadflow.models.warehouse.activity_tables import (
    crm_status_changes,
    engagement_events,
    sales_touches,
)
from leadflow.models.warehouse.engine import unprepared
from leadflow.models.warehouse.indexes import table_empty
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import email_people, people
from leadflow.models.warehouse.person_links import person_join
from leadflow.models.warehouse.reads import one_of

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
_EVENT_KEY = _EVENT_COLUMNS.index("email_match_key")
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
_PREVIOUS = ("stage", "lifecycle", "qualified_at")
_T = TypeVar("_T")


# What classification reads of a lead (LeadFacts.from_row): its plain columns and a few
# members of its JSON payloads, extracted by the database (parsing every lead's whole
# payload cost more than the rest of its row). "->>" gives a member as SQL text/number
# (SQLite 3.38+, PostgreSQL); a missing path gives null.
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
# Plain keys only: spelled into SQL as they are, found in the JSON text as ``"key"``.
assert all(re.fullmatch(r"\w+", k) for _, path in _LEAD_MEMBERS.values() for k in path)


def _member(
    dialect: str, column: str, path: tuple[str, ...], name: str, *, guarded: bool = True
) -> sa.ColumnElement[Any]:
    """The member at ``path`` of a lead's JSON ``column``, as SQL text or number.

    ``guarded``: parsed only when the column's text holds the first key as a JSON string
    (``"key"``) or any ``\\u`` escape (which could spell a key otherwise); else the member
    cannot be there and the value is null without parsing, as the parse would find. Each
    extraction parses the whole text again: a lead's three lookups in its ~600-byte ``raw``
    cost PostgreSQL 4.5 s per 500,000 leads, most of them for payloads without those keys."""
    text = f"leads.{column}::text" if dialect == "postgresql" else f"leads.{column}"
    find = "instr({0}, {1})" if dialect == "sqlite" else "strpos({0}, {1})"
    if dialect == "postgresql":
        *outer, last = path
        chain = "".join(f" -> '{key}'" for key in outer)
        sql = f"leads.{column}{chain} ->> '{last}'"
    else:
        sql = f"leads.{column} ->> '$.{'.'.join(path)}'"
    if guarded:
        holds = find.format(text, f"'\"{path[0]}\"'")
        escaped = find.format(text, "'\\u'")
        sql = f"CASE WHEN {holds} > 0 OR {escaped} > 0 THEN {sql} END"
    return sa.literal_column(sql).label(name)


def _lead_selection(dialect: str) -> list[sa.ColumnElement[Any]]:
    """The ``ROW_FIELDS`` of a lead, in that order."""
    return [
        _member(dialect, *_LEAD_MEMBERS[name], name) if name in _LEAD_MEMBERS else leads.c[name]
        for name in ROW_FIELDS
    ]


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
    found = _Found(conn)
    wanted = set(person_ids)
    with unprepared(conn):
        for chunk in chunks(sorted(wanted), max(len(wanted), 1) if everyone else IN_CHUNK_SIZE):
            found.read(chunk, wanted, everyone)
    return [found.facts(pid) for pid in person_ids if pid in found.previous]


class _Found:
    """The facts read for a batch of people, by person. Rows are built straight from the
    driver's values (SQLite's times parsed by ``batches.utc``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.when: Callable[[Any], Any] = _same if conn.dialect.name == "postgresql" else utc
        self.leads: dict[str, list[LeadFacts]] = defaultdict(list)
        self.events: dict[str, list[EngagementEvent]] = defaultdict(list)
        self.touches: dict[str, list[SalesTouch]] = defaultdict(list)
        self.changes: dict[str, list[StatusChange]] = defaultdict(list)
        self.previous: dict[str, PreviousState | None] = {}

    def read(self, chunk: Sequence[str], wanted: Set[str], span: bool) -> None:
        """Add the rows of the people in ``chunk`` (sorted; with ``span`` read as the range
        from the first to the last and kept if ``wanted``)."""
        conn, when = self.conn, self.when
        rows = partial(_rows, conn, chunk=chunk, wanted=wanted, span=span)
        for row in rows(leads, _lead_selection(conn.dialect.name)):
            self.leads[row[0]].append(LeadFacts.from_row(row[1:], when))
        for row in _events(conn, chunk=chunk, wanted=wanted, span=span):
            self.events[row[0]].append(_event(row, when))
        for row in rows(sales_touches, _columns(sales_touches, _TOUCH_COLUMNS)):
            self.touches[row[0]].append(_touch(row, when))
        for row in _changes(conn, chunk=chunk, wanted=wanted, span=span):
            self.changes[row[0]].append(_change(row, when))
        for pid, stage, lifecycle, qualified_at in rows(people, _columns(people, _PREVIOUS)):
            known = stage is not None and lifecycle is not None
            state = PreviousState(Stage(stage), lifecycle, when(qualified_at)) if known else None
            self.previous[pid] = state

    def facts(self, pid: str) -> PersonFacts:
        """Person ``pid``'s facts, each kind in the order classification reads it."""
        return PersonFacts(
            pid,
            _sorted(self.leads.get(pid), _lead_order),
            _sorted(self.events.get(pid), _event_order),
            _sorted(self.touches.get(pid), _touch_order),
            self.previous[pid],
            (),
            _sorted(self.changes.get(pid), _change_order),
        )


def _same(value: Any) -> Any:
    return value


def _event(row: Sequence[Any], when: Callable[[Any], Any]) -> EngagementEvent:
    _, source, event_id, account, kind, occurred, channel, email, key, campaign = row
    return EngagementEvent(
        source, event_id, account, kind, when(occurred), channel, email, key, campaign
    )


def _touch(row: Sequence[Any], when: Callable[[Any], Any]) -> SalesTouch:
    _, source, touch_id, lead_id, kind, occurred, updated, owner, direction, outcome = row
    return SalesTouch(
        source, touch_id, lead_id, kind, when(occurred), when(updated), owner, direction, outcome
    )


def _change(row: Sequence[Any], when: Callable[[Any], Any]) -> StatusChange:
    _, source, change_id, lead_id, field, occurred, updated, *rest = row
    return StatusChange(source, change_id, lead_id, field, when(occurred), when(updated), *rest)


def _sorted(items: list[_T] | None, key: Callable[[_T], Any]) -> list[_T]:
    """``items`` (a person's rows, the batch's own lists) sorted by ``key`` in place
    (none: a new empty list)."""
    if items is None:
        return []
    if len(items) > 1:
        items.sort(key=key)
    return items


def _lead_order(f: LeadFacts) -> tuple[Any, ...]:
    return (f.source, f.source_lead_id)


def _event_order(e: EngagementEvent) -> tuple[Any, ...]:
    return (e.occurred_at, e.source, e.event_id)


def _touch_order(t: SalesTouch) -> tuple[Any, ...]:
    return (t.occurred_at, t.touch_id)


def _change_order(c: StatusChange) -> tuple[Any, ...]:
    return (c.occurred_at, c.source, c.change_id)


def _columns(table: sa.Table, names: Sequence[str]) -> list[sa.ColumnElement[Any]]:
    return [table.c[name] for name in names]


def _rows(
    conn: Connection,
    table: sa.Table,
    selected: Sequence[sa.ColumnElement[Any]],
    *,
    chunk: Sequence[str],
    wanted: Set[str],
    span: bool,
) -> Iterator[Sequence[Any]]:
    """The person id and ``selected`` values of the rows of the people in ``chunk``
    (sorted; SQLite's times as their stored text); with ``span``, read as the range from
    the first to the last and kept if ``wanted``."""
    columns, _ = plain_times(conn, selected)
    joined, person = person_join(table)
    query = sa.select(person, *columns).select_from(joined)
    return _by_person(conn, query, person, chunk=chunk, wanted=wanted, span=span)


def _events(
    conn: Connection, *, chunk: Sequence[str], wanted: Set[str], span: bool
) -> Iterator[Sequence[Any]]:
    """The engagement events of the people in ``chunk``, by person (their email match
    key's, ``email_people``). PostgreSQL: the people's keys first, then their events by the
    events' key index (``= ANY``). Joined in one query, the planner hash-joined a scan of
    every event for each batch: 740,262 events read per batch of 2,000 people at 1M leads,
    work growing with the square of the warehouse (measured over 60 batches there: the
    server's CPU for these reads 2.8 -> 1.25 s, the same 107,604 rows)."""
    columns = _columns(engagement_events, _EVENT_COLUMNS)
    if conn.dialect.name != "postgresql":
        return _rows(conn, engagement_events, columns, chunk=chunk, wanted=wanted, span=span)
    e = email_people.c
    keys = sa.select(e.email_match_key, e.person_id)
    if span:
        keys = keys.where(e.person_id >= chunk[0], e.person_id <= chunk[-1])
    else:
        keys = keys.where(one_of(conn, e.person_id, chunk))
    person_of = {key: pid for key, pid in conn.execute(keys) if pid in wanted}
    if not person_of:
        return iter(())
    query = sa.select(*columns).where(one_of(conn, columns[_EVENT_KEY], list(person_of)))
    return ((person_of[row[_EVENT_KEY]], *row) for row in conn.execute(query).all())


def _changes(
    conn: Connection, *, chunk: Sequence[str], wanted: Set[str], span: bool
) -> Iterator[Sequence[Any]]:
    """The CRM status changes of the people in ``chunk``, by person (their lead's); none
    read when none is stored (a warehouse of ad platforms only: the join of each batch's
    leads with an empty table cost SQLite 2.4 s of a first classification at 1M)."""
    c = crm_status_changes
    if table_empty(conn, c):
        return iter(())
    columns, _ = plain_times(conn, _columns(c, _CHANGE_COLUMNS))
    joined, person = person_join(c)
    query = sa.select(person, *columns).select_from(joined)
    return _by_person(conn, query, person, chunk=chunk, wanted=wanted, span=span)


def _by_person(
    conn: Connection,
    query: sa.Select[Any],
    person: sa.ColumnElement[Any],
    *,
    chunk: Sequence[str],
    wanted: Set[str],
    span: bool,
) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` (person id first) for the people in ``chunk`` (a range with
    ``span``, of which only the ``wanted``)."""
    if span:
        query = query.where(person >= chunk[0], person <= chunk[-1])
    else:
        query = query.where(one_of(conn, person, chunk))
    # fetched at once: the driver converts a result's rows faster than one by one (iterating
    # the result fetched each row on its own)
    return (row for row in conn.execute(query).all() if row[0] in wanted)


def people_per_stage(conn: Connection) -> dict[str, int]:
    """How many people the warehouse holds per lifecycle stage, by stage name."""
    query = sa.select(people.c.lifecycle, sa.func.count()).group_by(people.c.lifecycle)
    counts = {str(stage): count for stage, count in conn.execute(query).all()}
    return dict(sorted(counts.items()))
