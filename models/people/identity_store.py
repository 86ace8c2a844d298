"""Warehouse I/O for identity resolution: read every lead's match keys, write who is who.

The pure part lives in ``leadflow.models.people.identity``; this module reads its input
(``read_identity_input``: every lead's keys and last person id in one narrow read through
the driver) and saves its ``Resolution``
(``save_identity``): the people rows and their profiles in
``leadflow.models.people.profile_store``; each lead's person
(``lead_people``), each email's (``email_people``), the person ids on touches and the
merges in ``leadflow.models.people.relink``. Everything runs in the
caller's transaction; only rows whose value changes are written, so a rerun over unchanged
data writes almost nothing.

A full save writes each person's row once, with its profile: every lead's person is staged
in a temporary table first, which the leads are read joined to (in order of person, a batch
of people at a time) and then pointed at their people from, in one ``INSERT ... SELECT``
into the narrow ``lead_people`` (rewriting the wide lead rows had been the largest part of a
first run on PostgreSQL). Bare people rows
inserted before their leads could point at them, then read back and upserted with their
profiles, had made a first run's save at 100k leads take 10.5 s on SQLite (now 5 s).

``people.updated_at`` changes with the profile only (a classification sets
``classified_at``, in ``leadflow.models.people.classification_store``).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from sys import intern
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.batches import stream, utc
from leadflow.models.people.identity import (
    HUBSPOT,
    MERGED_IDS_PROPERTY,
    KeyColumns,
    LeadKeys,
    NaturalKey,
    Resolution,
    contact_key_for,
    parse_merged_ids,
)
from leadflow.models.people.identity_changes import PreviousIds
from leadflow.models.people.identity_keys import anchor_time
from leadflow.models.people.identity_lookup import EmailPeople
from leadflow.models.people.profile_store import (
    profile_people,
)
from leadflow.models.people.relink import (
    delete_people_without_leads,
    release_test_leads,
    repoint_events,
    repoint_leads,
    repoint_placed_leads,
    repoint_touches,
    save_id_map,
    save_merges,
)
from leadflow.models.records.encoding import require_aware
from leadflow.models.warehouse.activity_tables import sales_touches
from leadflow.models.warehouse.bulk import temp_table
from leadflow.models.warehouse.indexes import (
    create_secondary_indexes,
    defer_while_empty,
    table_empty,
)
from leadflow.models.warehouse.people_tables import email_people, lead_people, people
from leadflow.models.warehouse.reads import driver_rows

# The staged person of each lead that profile_people reads the leads joined to.
# (``alone``: the lead is its person's only one.)
_PLACED = [
    *((name, sa.String()) for name in ("source", "source_lead_id", "person_id")),
    ("alone", sa.Boolean()),
]
_PLACED_KEY = ("source", "source_lead_id")


@dataclass(frozen=True, slots=True)
class IdentityCounts:
    """What save_identity wrote."""

    people: int
    new_people: int
    changed_profiles: int
    leads: int
    events: int
    touches: int
    merged: int
    # People whose leads, events or touches moved, or whose profile was (re)built: the
    # people an incremental classification must look at for identity's sake; with
    # ``everyone``, every profile was rebuilt and every person is (``affected`` holds only
    # the released and merged ones).
    affected: frozenset[str] = frozenset()
    everyone: bool = False
    # The tables of lead and email people, touches and people that identity wrote to (what the
    # planner's statistics may have to catch up with).
    wrote: frozenset[str] = frozenset()
    # People's secondary indexes left for the caller to build (``keep_people_unindexed``).
    unbuilt: tuple[sa.Index, ...] = ()


@dataclass(slots=True)
class IdentityInput:
    """What identity resolution reads: every real lead's keys (by column), last run's
    person id of each (None for a lead that has none; ``previous[i]`` is lead ``i``'s), and
    whether any test lead still points at a person."""

    keys: KeyColumns
    previous: PreviousIds
    test_held: bool


def read_identity_input(conn: Connection) -> IdentityInput:
    """Every lead's keys and person id in one narrow, streamed read (see ``read_lead_keys``
    and ``read_previous_person_ids``; test leads only say whether one holds a person)."""
    columns = KeyColumns()
    previous = PreviousIds()
    test_held = False
    for row in _lead_rows(conn):
        if row[-1]:  # a test lead
            test_held = test_held or row[-2] is not None
            continue
        source, lead_id, email_key, phone, merged, created_at, account, contact = row[:8]
        if isinstance(created_at, str):  # SQLite: the text SQLAlchemy stored (naive UTC)
            created_at = utc(created_at)
        columns.append(
            source, lead_id, email_key, phone, _merged_ids(source, merged, lead_id),
            anchor_time(created_at), contact_key_for(source, account, contact) if contact else None,
        )  # fmt: skip
        previous.append(row[-2])
    columns.freeze()
    return IdentityInput(columns, previous, test_held)


def read_lead_keys(conn: Connection) -> list[LeadKeys]:
    """Every real lead's natural key, match keys (HubSpot merged ids and contact ids
    included) and creation time; test leads are not people and are left out."""
    return [_lead_keys(row) for row in _lead_rows(conn) if not row[-1]]


def _lead_rows(conn: Connection) -> Iterator[Any]:
    """Every lead's source, source_lead_id, email_match_key, phone, merged ids (JSON text),
    created_at, account_id, contact_id, person_id and is_test, by natural key, through the
    driver (SQLAlchemy's row processing cost more than the read) a batch at a time."""
    merged = f"json_quote(json_extract(l.custom_fields, '$.\"{MERGED_IDS_PROPERTY}\"'))"
    if conn.dialect.name == "postgresql":
        merged = f"(l.custom_fields -> '{MERGED_IDS_PROPERTY}')::text"
    sql = (
        f"SELECT l.source, l.source_lead_id, l.email_match_key, l.phone, {merged},"
        " l.created_at, l.account_id, l.contact_id, lp.person_id, l.is_test FROM leads l"
        " LEFT JOIN lead_people lp"
        " ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id"
        " ORDER BY l.source, l.source_lead_id"
    )
    return driver_rows(conn, sql, "identity_lead_keys")


def _merged_ids(source: str, merged: str | None, lead_id: str) -> tuple[str, ...]:
    if source == HUBSPOT and merged is not None:
        return parse_merged_ids(json.loads(merged), lead_id)
    return ()


def _lead_keys(row: tuple[Any, ...]) -> LeadKeys:
    source, lead_id, email_key, phone, merged, created_at, account, contact = row[:8]
    source = intern(source)
    if isinstance(created_at, str):  # SQLite: the text SQLAlchemy stored (naive UTC)
        created_at = utc(created_at)
    contact_key = contact_key_for(source, account, contact) if contact else None
    return LeadKeys(
        source, lead_id, email_key, phone, _merged_ids(source, merged, lead_id), created_at,
        contact_key,
    )  # fmt: skip


def read_previous_person_ids(conn: Connection) -> dict[NaturalKey, str]:
    """Last run's person id of every lead that has one."""
    lp = lead_people.c
    query = sa.select(lp.source, lp.source_lead_id, lp.person_id)
    return {(intern(source), lead_id): pid for source, lead_id, pid in stream(conn, query)}


def save_identity(
    conn: Connection,
    resolution: Resolution,
    now: datetime,
    run_id: str,
    *,
    changed: set[NaturalKey] | None = None,
    test_held: bool = True,
    touches_changed: bool = True,
    erased: bool = True,
    keep_people_unindexed: bool = False,
) -> IdentityCounts:
    """Write ``resolution``: people profiles, person ids on leads, events and touches,
    merges (then the merged-away people rows are deleted). Runs in the caller's transaction.

    Every lead must be in the resolution (resolve all of them: read_identity_input).
    With ``changed`` (the leads loaded or changed since the last run) and a resolution made
    with last run's ids (its ``moved``), only the leads of people who gained, lost or
    changed a lead are read and only their profiles rebuilt; without, every lead is read
    and every profile rebuilt (``IdentityCounts.everyone``). ``test_held=False``
    (``read_identity_input`` saw no test lead pointing at a person) skips looking for test
    leads to release.

    When no lead changed, moved or was released and no erasure ran since the last run
    (``erased``: it deletes leads, which ``changed`` cannot show), every lead's person and
    every alias are what the last run wrote (resolve is a function of the leads' keys): the
    email keys' people are not compared again, nor the touches' unless ``touches_changed``
    (a touch was loaded or changed since the last run).

    ``keep_people_unindexed``: a first run into an empty ``people`` leaves its secondary
    indexes unbuilt (``IdentityCounts.unbuilt``) for the caller to build once the people are
    classified (each classification rewrites the indexed ``lifecycle``).
    """
    require_aware(now=now)
    released = release_test_leads(conn) if test_held else set()
    if changed is None or resolution.moved is None:
        return _save_all(conn, resolution, now, run_id, released, keep_people_unindexed)
    moved = [key for key, _ in resolution.moved]
    quiet = not changed and not moved and not released and not erased
    email_person = None if quiet else resolution.email_people()
    scope = set(resolution.people_of({*changed, *moved}).values())
    scope.update(old for _, old in resolution.moved if old)
    scope |= released
    # The leads of those people, staged and joined to (an IN list of 10,000 lead keys per
    # 1% re-sync at 1M had taken SQLite 11.7 s), their profiles rebuilt as a full run's are.
    mine = resolution.leads_of(scope)
    sizes = Counter(mine.values())
    rows = ((source, lead_id, pid, sizes[pid] == 1) for (source, lead_id), pid in mine.items())
    with temp_table(conn, "identity_rebuilt", _PLACED, rows, key=_PLACED_KEY) as placed:
        new, changed_profiles, _ = profile_people(conn, placed, now)
    moves = zip(moved, map(resolution.person_at, resolution.moved_at), strict=True)
    moved_count = repoint_leads(conn, moves)
    return _finish(
        conn, resolution, now, run_id, email_person, set(mine.values()) | released, new,
        changed_profiles, moved_count, bool(released), touches=not quiet or touches_changed,
    )  # fmt: skip


def _save_all(
    conn: Connection,
    resolution: Resolution,
    now: datetime,
    run_id: str,
    released: set[str],
    keep_people_unindexed: bool = False,
) -> IdentityCounts:
    """save_identity over every lead, a batch of people at a time: every lead's person is
    staged in a temporary table, the leads are read joined to it ordered by person, each
    batch's people written once with their profile, then the leads pointed at their people
    in one statement, so a million leads are never held at once.

    Into empty tables (a first run), the secondary indexes of people, lead_people and
    email_people are built once each table is filled, before anything reads by them (1M
    leads, measured apart: SQLite 15.9 -> 6.9 s for people's rows, 7.2 -> 2.5 s and 6.3 ->
    2.2 s for the other two; PostgreSQL's COPY 7.5 -> 2.8 s, 5.8 -> 2.4 s, 4.8 -> 2.3 s)."""
    # Into an empty people table every person written has a lead: none to prune after.
    fresh = table_empty(conn, people)
    deferred = defer_while_empty(conn, people, lead_people, email_people)
    rows = resolution.placed()
    with temp_table(conn, "identity_person_of", _PLACED, rows, key=_PLACED_KEY) as placed:
        new, changed_profiles, found = profile_people(conn, placed, now)
        unbuilt = tuple(deferred.pop(people.name, ()))
        if not keep_people_unindexed:  # else the caller builds them (after classifying)
            create_secondary_indexes(conn, people, unbuilt)
            unbuilt = ()
        moved = repoint_placed_leads(conn, placed, found)
        create_secondary_indexes(conn, lead_people, deferred.pop(lead_people.name, ()))
    counts = _finish(
        conn, resolution, now, run_id, resolution.email_people(), released,
        new, changed_profiles, moved, bool(released),
        email_indexes=deferred.get(email_people.name, ()), everyone=True, prune=not fresh,
    )  # fmt: skip
    return dataclasses.replace(counts, unbuilt=unbuilt)


def _finish(
    conn: Connection,
    resolution: Resolution,
    now: datetime,
    run_id: str,
    email_person: EmailPeople | None,
    profiled: set[str],
    new: int,
    changed_profiles: int,
    moved: int,
    released: bool,
    *,
    touches: bool = True,
    email_indexes: Sequence[sa.Index] = (),
    everyone: bool = False,
    prune: bool = True,
) -> IdentityCounts:
    """Re-point events (unless ``email_person`` is None: unchanged) and touches (unless
    ``touches`` is false), record merges; the counts. ``email_indexes``: email_people's
    deferred indexes, built once its rows are in. ``everyone``: every profile was rebuilt,
    so the people the events and touches moved between are not gathered. ``prune=False``:
    every person has a lead (none is looked for to delete)."""
    events, moved_from = 0, set()
    if email_person is not None:
        events, moved_from = repoint_events(conn, email_person, affected=not everyone)
    create_secondary_indexes(conn, email_people, email_indexes)
    touched, repointed = 0, set()
    if touches:
        touched, repointed = repoint_touches(
            conn, resolution.people_of, resolution.aliases, affected=not everyone
        )
    save_merges(conn, resolution, now, run_id)
    deleted = delete_people_without_leads(conn) if prune else 0
    save_id_map(conn, resolution, now, run_id)
    affected = profiled | moved_from | repointed
    affected.update(m.into_person for m in resolution.merges)
    wrote = {
        lead_people.name: bool(moved or released),
        email_people.name: bool(events),
        sales_touches.name: bool(touched),
        people.name: bool(new or changed_profiles or deleted or resolution.merges),
    }
    return IdentityCounts(
        people=resolution.people_count(),
        new_people=new,
        changed_profiles=changed_profiles,
        leads=moved,
        events=events,
        touches=touched,
        merged=len(resolution.merges),
        affected=frozenset(affected),
        wrote=frozenset(name for name, written in wrote.items() if written),
        everyone=everyone,
    )
