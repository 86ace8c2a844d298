"""Warehouse I/O for identity resolution and classification: read facts, write results.

The pure parts live in ``leadflow.models.people.identity`` (who is who) and
``leadflow.models.people.classify`` (what stage
they are at); this module only reads their inputs and writes their outputs, in the
caller's transaction. Every write is an executemany (or a chunked ``IN``), and only rows
whose value changes are written, so a rerun over unchanged data writes almost nothing.

Decisions:
- ``engagement_events.person_id`` follows the event's ``email_match_key`` (the person of the
  leads with that key; an event whose key matches no lead has no person), and
  ``sales_touches.person_id`` the touched lead ``(source, lead_id)``, or the HubSpot contact
  it was merged into (``Resolution.aliases``).
- A merged-away person's stage history moves to the person it merged into (unless the
  survivor already has that transition); then its ``people`` row is deleted.
- ``people.updated_at`` changes with the profile only; a classification sets
  ``classified_at``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from sys import intern
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.loading.leads import LEAD_FIELDS
from leadflow.models.people.classify import (
    Classification,
    LeadFacts,
    PersonFacts,
    PreviousState,
    Transition,
)
from leadflow.models.people.identity import (
    HUBSPOT,
    MERGED_IDS_PROPERTY,
    LeadKeys,
    Resolution,
    parse_merged_ids,
)
from leadflow.models.people.identity import person_profile as identity_profile
from leadflow.models.people.person_ids import (
    add_people_postgresql,
    set_person_ids,
    update_classifications_postgresql,
)
from leadflow.models.records.activity import EngagementEvent, SalesTouch
from leadflow.models.records.encoding import chunks, require_aware
from leadflow.models.records.leads import Lead, Stage
from leadflow.models.warehouse.engine import analyze, unprepared
from leadflow.models.warehouse.tables import (
    engagement_events,
    leads,
    people,
    person_merges,
    sales_touches,
    stage_transitions,
)
from leadflow.models.warehouse.upsert import upsert

NaturalKey = tuple[str, str]
STREAM_SIZE = 5_000
# Columns person_profile fills (its _PROFILE_GROUPS), all on people too.
PROFILE_COLUMNS = (
    "email",
    "email_match_key",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "country",
    "city",
)
_PROFILE_LEAD_COLUMNS = ("source", "source_lead_id", "account_id", "created_at", "updated_at")
# What a profile is built from: a lead's identity and the profile columns.
_PROFILE_READ = (*_PROFILE_LEAD_COLUMNS, *PROFILE_COLUMNS)
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


# Only what classification reads of a lead's raw payload (LeadFacts.from_lead: the form's
# name): parsing every lead's whole payload cost more than the rest of its row. SQLite's
# "->" (3.38+) keeps JSON values as JSON; a missing path gives null.
_FORM_OF_RAW = {
    "postgresql": sa.literal_column(
        "json_build_object('form_name', leads.raw -> 'form_name',"
        " 'form', json_build_object('name', leads.raw -> 'form' -> 'name'))",
        type_=sa.JSON,
    ).label("raw"),
    "sqlite": sa.literal_column(
        "json_object('form_name', json(leads.raw -> '$.form_name'),"
        " 'form', json_object('name', json(leads.raw -> '$.form.name')))",
        type_=sa.JSON,
    ).label("raw"),
}


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
    # people an incremental classification must look at for identity's sake.
    affected: frozenset[str] = frozenset()


def _stream(conn: Connection, query: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
    """Rows of ``query``, fetched in chunks (server-side cursor on PostgreSQL)."""
    result = conn.execute(query, execution_options={"yield_per": STREAM_SIZE})
    try:
        yield from result
    finally:
        result.close()


def read_lead_keys(conn: Connection) -> list[LeadKeys]:
    """Every lead's natural key and match keys (HubSpot merged ids included)."""
    query = sa.select(
        leads.c.source,
        leads.c.source_lead_id,
        leads.c.email_match_key,
        leads.c.phone,
        leads.c.custom_fields[MERGED_IDS_PROPERTY],
    ).order_by(leads.c.source, leads.c.source_lead_id)
    return [
        LeadKeys(
            intern(source),  # one str per platform, not one per lead (a million leads: 55 MB)
            lead_id,
            email_key,
            phone,
            parse_merged_ids(merged, lead_id) if source == HUBSPOT else (),
        )
        for source, lead_id, email_key, phone, merged in _stream(conn, query)
    ]


def read_previous_person_ids(conn: Connection) -> dict[NaturalKey, str]:
    """Last run's person id of every lead that has one."""
    query = sa.select(leads.c.source, leads.c.source_lead_id, leads.c.person_id).where(
        leads.c.person_id.is_not(None)
    )
    return {(intern(source), lead_id): pid for source, lead_id, pid in _stream(conn, query)}


def save_identity(
    conn: Connection,
    resolution: Resolution,
    now: datetime,
    run_id: str,
    *,
    changed: set[NaturalKey] | None = None,
    keys: Sequence[LeadKeys] = (),
    previous: Mapping[NaturalKey, str] | None = None,
) -> IdentityCounts:
    """Write ``resolution``: people profiles, person ids on leads, events and touches,
    merges (then the merged-away people rows are deleted). Runs in the caller's transaction.

    Every lead must be in ``resolution.person_of`` (resolve all of them: read_lead_keys).
    With ``changed`` (the leads loaded or changed since the last run), ``keys`` and
    ``previous`` (what the resolution was made of), only the leads of people who gained,
    lost or changed a lead are read and only their profiles rebuilt; without, every lead
    is read and every profile rebuilt.
    """
    require_aware(now=now)
    person_of = resolution.person_of
    columns = _PROFILE_READ
    if changed is None or previous is None:
        return _save_all(conn, resolution, now, run_id, keys, previous)
    current = {key: previous.get(key) for key in person_of}
    email_person = _email_person(keys, person_of)
    moved = [key for key, pid in person_of.items() if current[key] != pid]
    scope = {person_of[key] for key in (*changed, *moved) if key in person_of}
    scope.update(old for key in moved if (old := current[key]))
    mine = [key for key, pid in person_of.items() if pid in scope]
    members: dict[str, list[Lead]] = defaultdict(list)
    for chunk in chunks(mine):
        found = sa.tuple_(leads.c.source, leads.c.source_lead_id).in_(chunk)
        for row in conn.execute(sa.select(*(leads.c[name] for name in columns)).where(found)):
            pid = person_of[(row[0], row[1])]
            members[pid].append(Lead(**dict(zip(columns, row, strict=True))))
    new, changed_profiles = _save_profiles(conn, members, now)
    moved_count = _repoint_leads(conn, ((key, person_of[key]) for key in moved))
    return _finish(
        conn, resolution, now, run_id, email_person, set(members), new, changed_profiles,
        moved_count,
    )  # fmt: skip


def _save_all(
    conn: Connection,
    resolution: Resolution,
    now: datetime,
    run_id: str,
    keys: Sequence[LeadKeys],
    previous: Mapping[NaturalKey, str] | None,
) -> IdentityCounts:
    """save_identity over every lead, a batch of people at a time: person ids are written
    first, then the leads are read back ordered by person and each batch's profiles built
    and upserted, so a million leads are never held at once."""
    person_of = resolution.person_of
    if previous is None:
        previous = read_previous_person_ids(conn)
    moves = [(key, pid) for key, pid in person_of.items() if previous.get(key) != pid]
    added = _add_people(conn, (pid for _, pid in moves), now)  # leads must point at a row
    analyze(conn, people)  # it may have grown from nothing: profiles are looked up by id
    moved_count = _repoint_leads(conn, moves)
    del moves
    columns = _PROFILE_READ
    email_person = _email_person(keys, person_of)
    from_scan = not keys
    query = sa.select(
        *(leads.c[name] for name in columns), leads.c.person_id, leads.c.email_match_key
    )
    members: dict[str, list[Lead]] = defaultdict(list)
    changed_profiles = 0
    for row in _stream(conn, query.order_by(leads.c.person_id)):
        key, pid = (row[0], row[1]), row[-2]
        if pid is None or person_of.get(key) != pid:
            raise ValueError(f"lead {key!r} is not in the resolution")
        if from_scan and row[-1]:
            email_person[row[-1]] = pid
        if pid not in members and len(members) >= STREAM_SIZE:
            changed_profiles += _save_profiles(conn, members, now, added)[1]
            members.clear()
        members[pid].append(Lead(**dict(zip(columns, row[:-2], strict=True))))
    changed_profiles += _save_profiles(conn, members, now, added)[1]
    return _finish(
        conn, resolution, now, run_id, email_person, set(person_of.values()),
        len(added), changed_profiles, moved_count,
    )  # fmt: skip


def _email_person(keys: Sequence[LeadKeys], person_of: Mapping[NaturalKey, str]) -> dict[str, str]:
    """Each email match key's person (what events are re-pointed by)."""
    return {k.email_match_key: person_of[k.natural_key] for k in keys if k.email_match_key}


def _save_profiles(
    conn: Connection,
    members: Mapping[str, Sequence[Lead]],
    now: datetime,
    added: Collection[str] = (),
) -> tuple[int, int]:
    """Build the profiles of ``members`` (person -> leads), upsert the new and changed ones;
    how many were new and changed. People in ``added`` (bare rows inserted this run) count
    as new."""
    stored = _stored_profiles(conn, sorted(members))
    profiles = [
        {"person_id": pid, **identity_profile(found)} for pid, found in sorted(members.items())
    ]
    new = [row for row in profiles if row["person_id"] not in stored]
    changed = [
        row
        for row in profiles
        if row["person_id"] in stored
        and any(stored[row["person_id"]][name] != row[name] for name in PROFILE_COLUMNS)
    ]
    for row in (*new, *changed):
        row.update(created_at=now, updated_at=now)
    upsert(conn, people, [*new, *changed], ["person_id"], [*PROFILE_COLUMNS, "updated_at"])
    fresh = sum(1 for row in changed if row["person_id"] in added)
    return len(new) + fresh, len(changed) - fresh


def _add_people(conn: Connection, person_ids: Iterable[str], now: datetime) -> set[str]:
    """Insert a bare row (no profile yet) for each of ``person_ids`` not in ``people``;
    the ids inserted."""
    wanted = sorted(set(person_ids))
    if conn.dialect.name == "postgresql":
        # No lookup first: ``people`` grows in this transaction, unanalyzed, and PostgreSQL
        # scanned all of it for each chunk's IN list (0.8 s a chunk near 1M people).
        return add_people_postgresql(conn, wanted, now)
    added: set[str] = set()
    for chunk in chunks(wanted):
        query = sa.select(people.c.person_id).where(people.c.person_id.in_(chunk))
        have = {row[0] for row in conn.execute(query)}
        rows = [
            {"person_id": p, "created_at": now, "updated_at": now} for p in chunk if p not in have
        ]
        if rows:
            conn.execute(people.insert(), rows)
            added.update(row["person_id"] for row in rows)
    return added


def _repoint_leads(conn: Connection, moves: Iterable[tuple[NaturalKey, str]]) -> int:
    """Write each moved lead's new person id; how many moved."""
    rows = ((source, lead_id, pid) for (source, lead_id), pid in moves)
    return set_person_ids(conn, leads, ("source", "source_lead_id"), rows)


def _finish(
    conn: Connection,
    resolution: Resolution,
    now: datetime,
    run_id: str,
    email_person: Mapping[str, str],
    profiled: set[str],
    new: int,
    changed_profiles: int,
    moved: int,
) -> IdentityCounts:
    """Re-point events and touches, record merges; the counts."""
    person_of = resolution.person_of
    events = _repoint_events(conn, email_person)
    touches = _repoint_touches(conn, {**resolution.aliases, **person_of})
    _save_merges(conn, resolution, now, run_id)
    affected = profiled | events | touches
    affected.update(m.into_person for m in resolution.merges)
    return IdentityCounts(
        people=len(set(person_of.values())),
        new_people=new,
        changed_profiles=changed_profiles,
        leads=moved,
        events=len(events),
        touches=len(touches),
        merged=len(resolution.merges),
        affected=frozenset(affected),
    )


def _execute_many(conn: Connection, statement: Any, params: Sequence[Mapping[str, Any]]) -> None:
    for chunk in chunks(params, STREAM_SIZE):
        conn.execute(statement, list(chunk))


def _stored_profiles(
    conn: Connection, person_ids: Sequence[str] | None
) -> dict[str, dict[str, Any]]:
    """The stored profiles of ``person_ids`` (None: of everyone)."""
    columns = (people.c.person_id, *(people.c[name] for name in PROFILE_COLUMNS))
    if person_ids is None:
        rows: Iterable[sa.Row[Any]] = _stream(conn, sa.select(*columns))
    else:
        rows = (
            row
            for chunk in chunks(person_ids)
            for row in conn.execute(sa.select(*columns).where(people.c.person_id.in_(chunk)))
        )
    return {row[0]: dict(zip(PROFILE_COLUMNS, row[1:], strict=True)) for row in rows}


def _repoint_events(conn: Connection, email_person: Mapping[str, str]) -> set[str]:
    """Point events at the person of their email match key; the people who gained or lost
    events."""
    e = engagement_events
    query = (
        sa.select(e.c.email_match_key, e.c.person_id)
        .where(e.c.email_match_key.is_not(None))
        .distinct()
    )
    wrong: dict[str, str | None] = {}
    was: list[str | None] = []
    for key, pid in _stream(conn, query):
        if email_person.get(key) != pid:
            wrong[key] = email_person.get(key)
            was.append(pid)
    set_person_ids(conn, e, ("email_match_key",), sorted(wrong.items()))
    return _people_of(wrong.values(), was)


def _repoint_touches(conn: Connection, person_of: Mapping[NaturalKey, str]) -> set[str]:
    """Point touches at the person of the touched lead; the people who gained or lost
    touches."""
    t = sales_touches
    query = sa.select(t.c.source, t.c.lead_id, t.c.person_id).distinct()
    wrong: dict[NaturalKey, str | None] = {}
    was: list[str | None] = []
    for source, lead_id, pid in _stream(conn, query):
        if person_of.get((source, lead_id)) != pid:
            wrong[(source, lead_id)] = person_of.get((source, lead_id))
            was.append(pid)
    rows = ((source, lead_id, pid) for (source, lead_id), pid in sorted(wrong.items()))
    set_person_ids(conn, t, ("source", "lead_id"), rows)
    return _people_of(wrong.values(), was)


def _people_of(*groups: Iterable[str | None]) -> set[str]:
    return {pid for group in groups for pid in group if pid}


def _save_merges(conn: Connection, resolution: Resolution, now: datetime, run_id: str) -> None:
    """Record merges, move the merged-away people's history, then delete their rows."""
    if not resolution.merges:
        return
    rows = [
        {
            "from_person": m.from_person,
            "into_person": m.into_person,
            "reason": m.reason,
            "bridging_key": m.bridging_key,
            "merged_at": now,
            "run_id": run_id,
        }
        for m in resolution.merges
    ]
    upsert(conn, person_merges, rows, ["from_person", "into_person"], [])
    st, other = stage_transitions, stage_transitions.alias("survivor")
    duplicate = (
        sa.select(other.c.id)
        .where(
            other.c.person_id == sa.bindparam("b_into"),
            other.c.to_lifecycle == st.c.to_lifecycle,
            other.c.at == st.c.at,
        )
        .exists()
    )
    history = (
        st.update()
        .where(st.c.person_id == sa.bindparam("b_from"), ~duplicate)
        .values(person_id=sa.bindparam("b_into"))
    )
    params = [{"b_from": m.from_person, "b_into": m.into_person} for m in resolution.merges]
    _execute_many(conn, history, params)
    gone = sorted({m.from_person for m in resolution.merges} - set(resolution.clusters))
    for chunk in chunks(gone):
        # Leftover (duplicate) transitions go with the row (ON DELETE CASCADE on PostgreSQL;
        # deleted explicitly too, in case SQLite foreign keys are off).
        conn.execute(st.delete().where(st.c.person_id.in_(chunk)))
        conn.execute(people.delete().where(people.c.person_id.in_(chunk)))


def read_person_facts(conn: Connection, person_ids: Sequence[str]) -> list[PersonFacts]:
    """Everything classification needs about ``person_ids`` (in that order; unknown ids
    get no facts): their leads, engagement events, sales touches and stored state.

    Raw payloads are not read (events and touches come with empty ``raw`` and ``detail``),
    except the form name in a lead's ``raw``, the only part classification reads."""
    found_leads: dict[str, list[LeadFacts]] = defaultdict(list)
    found_events: dict[str, list[EngagementEvent]] = defaultdict(list)
    found_touches: dict[str, list[SalesTouch]] = defaultdict(list)
    previous: dict[str, PreviousState | None] = {}
    form = _FORM_OF_RAW["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    with unprepared(conn):
        for chunk in chunks(sorted(set(person_ids))):
            for pid, values in _rows(conn, leads, LEAD_FIELDS, chunk, raw=form):
                found_leads[pid].append(LeadFacts.from_lead(Lead(**_plain(values))))
            for pid, values in _rows(conn, engagement_events, _EVENT_COLUMNS, chunk):
                found_events[pid].append(EngagementEvent(**_plain(values)))
            for pid, values in _rows(conn, sales_touches, _TOUCH_COLUMNS, chunk):
                found_touches[pid].append(SalesTouch(**_plain(values)))
            query = sa.select(
                people.c.person_id, people.c.stage, people.c.lifecycle, people.c.qualified_at
            ).where(people.c.person_id.in_(chunk))
            for pid, stage, lifecycle, qualified_at in conn.execute(query):
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
        )
        for pid in person_ids
        if pid in previous
    ]


def _rows(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[str],
    person_ids: Sequence[str],
    *,
    raw: sa.ColumnElement[Any] | None = None,
) -> Iterable[tuple[str, dict[str, Any]]]:
    """``columns`` of the rows of ``person_ids``; ``raw`` selected in place of that column."""
    selected = (raw if name == "raw" and raw is not None else table.c[name] for name in columns)
    query = sa.select(table.c.person_id, *selected).where(table.c.person_id.in_(person_ids))
    for row in conn.execute(query):
        yield row[0], dict(zip(columns, row[1:], strict=True))


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON columns stored as NULL come back as None where the records expect a mapping."""
    for name in ("custom_fields", "raw", "detail"):
        if name in values and values[name] is None:
            values[name] = {}
    return values


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
        {
            "b_person": pid,
            "stage": str(c.stage),
            "lifecycle": c.lifecycle,
            "raw_stage": c.raw_stage,
            "fit": c.fit,
            "engagement": c.engagement,
            "reasons": list(c.reasons),
            "qualified_at": c.qualified_at,
            "lifecycle_at": c.lifecycle_at,
            "classified_at": now,
        }
        for pid, c, _ in results
    ]
    if conn.dialect.name == "postgresql":
        update_classifications_postgresql(conn, updates)
    else:
        statement = people.update().where(people.c.person_id == sa.bindparam("b_person"))
        _execute_many(conn, statement, updates)
    rows = {
        (pid, t.to_lifecycle, t.at): {
            "person_id": pid,
            "from_stage": str(t.from_stage) if t.from_stage else None,
            "to_stage": str(t.to_stage),
            "from_lifecycle": t.from_lifecycle,
            "to_lifecycle": t.to_lifecycle,
            "at": t.at,
            "reasons": list(t.reasons),
            "run_id": run_id,
            "recorded_at": now,
        }
        for pid, _, found in results
        for t in found
    }
    if not rows:
        return 0
    before = _count_transitions(conn, run_id)
    for chunk in chunks(list(rows.values()), STREAM_SIZE):
        upsert(conn, stage_transitions, chunk, ["person_id", "to_lifecycle", "at"], [])
    return _count_transitions(conn, run_id) - before


def _count_transitions(conn: Connection, run_id: str) -> int:
    query = sa.select(sa.func.count()).where(stage_transitions.c.run_id == run_id)
    return conn.execute(query.select_from(stage_transitions)).scalar_one()
