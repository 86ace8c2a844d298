"""Warehouse I/O for identity resolution: read every lead's match keys, write who is who.

The pure part lives in ``leadflow.models.people.identity``; this module reads its input
(``read_lead_keys``, ``read_previous_person_ids``) and saves its ``Resolution``
(``save_identity``): the people rows and their profiles here, the person ids on leads, events
and touches and the merges in ``leadflow.models.people.relink``. Everything runs in the
caller's transaction; every write is an executemany (or a chunked ``IN``), and only rows
whose value changes are written, so a rerun over unchanged data writes almost nothing.

``people.updated_at`` changes with the profile only (a classification sets
``classified_at``, in ``leadflow.models.people.classification_store``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from sys import intern
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.batches import STREAM_SIZE, plain_times, stream, with_times
from leadflow.models.people.identity import (
    HUBSPOT,
    MERGED_IDS_PROPERTY,
    LeadKeys,
    NaturalKey,
    Resolution,
    contact_key_for,
    parse_merged_ids,
)
from leadflow.models.people.profile import ProfileLead
from leadflow.models.people.profile import person_profile as identity_profile
from leadflow.models.people.relink import (
    repoint_events,
    repoint_leads,
    repoint_touches,
    save_id_map,
    save_merges,
)
from leadflow.models.records.encoding import chunks, require_aware
from leadflow.models.warehouse.bulk import insert_rows, one_of
from leadflow.models.warehouse.engine import analyze
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people

# Columns person_profile fills (PROFILE_GROUPS), all on people too.
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
_PROFILE_LEAD_COLUMNS = ("source", "source_lead_id", "updated_at")
# What a profile is built from: a lead's identity and the profile columns.
_PROFILE_READ = (*_PROFILE_LEAD_COLUMNS, *PROFILE_COLUMNS)


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


def read_lead_keys(conn: Connection) -> list[LeadKeys]:
    """Every real lead's natural key, match keys (HubSpot merged ids and contact ids
    included) and creation time; test leads are not people and are left out."""
    query = (
        sa.select(
            leads.c.source,
            leads.c.source_lead_id,
            leads.c.email_match_key,
            leads.c.phone,
            leads.c.custom_fields[MERGED_IDS_PROPERTY],
            leads.c.created_at,
            leads.c.account_id,
            leads.c.contact_id,
        )
        .where(leads.c.is_test == sa.false())
        .order_by(leads.c.source, leads.c.source_lead_id)
    )
    return [
        LeadKeys(
            intern(source),  # one str per platform, not one per lead (a million leads: 55 MB)
            lead_id,
            email_key,
            phone,
            parse_merged_ids(merged, lead_id) if source == HUBSPOT else (),
            created_at,
            contact_key_for(source, account, contact) if contact else None,
        )
        for source, lead_id, email_key, phone, merged, created_at, account, contact in stream(
            conn, query
        )
    ]


def release_test_leads(conn: Connection) -> set[str]:
    """Take test leads away from the people they were given (before they were flagged as
    tests); the people who lost one."""
    held = leads.c.is_test == sa.true(), leads.c.person_id.is_not(None)
    query = sa.select(leads.c.person_id).where(*held).distinct()
    losers = {row[0] for row in conn.execute(query)}
    if losers:
        conn.execute(leads.update().where(*held).values(person_id=None))
    return losers


def delete_people_without_leads(conn: Connection) -> int:
    """Delete the people no lead points at any more (merged away, renamed, erased, or
    left with test leads only); their history, milestones and SLA evaluations go with them
    (ON DELETE CASCADE). How many were deleted."""
    lead_of = sa.select(leads.c.person_id).where(leads.c.person_id == people.c.person_id)
    return conn.execute(people.delete().where(~lead_of.exists())).rowcount


def read_previous_person_ids(conn: Connection) -> dict[NaturalKey, str]:
    """Last run's person id of every lead that has one."""
    query = sa.select(leads.c.source, leads.c.source_lead_id, leads.c.person_id).where(
        leads.c.person_id.is_not(None)
    )
    return {(intern(source), lead_id): pid for source, lead_id, pid in stream(conn, query)}


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
    released = release_test_leads(conn)
    if changed is None or previous is None:
        return _save_all(conn, resolution, now, run_id, keys, previous, released)
    current = {key: previous.get(key) for key in person_of}
    email_person = _email_person(keys, person_of)
    moved = [key for key, pid in person_of.items() if current[key] != pid]
    scope = {person_of[key] for key in (*changed, *moved) if key in person_of}
    scope.update(old for key in moved if (old := current[key]))
    scope |= released
    mine = [key for key, pid in person_of.items() if pid in scope]
    members: dict[str, list[ProfileLead]] = defaultdict(list)
    selected, times = plain_times(conn, [leads.c[name] for name in columns])
    for chunk in chunks(mine):
        found = sa.tuple_(leads.c.source, leads.c.source_lead_id).in_(chunk)
        for row in conn.execute(sa.select(*selected).where(found)):
            pid = person_of[(row[0], row[1])]
            members[pid].append(ProfileLead._make(with_times(row, times)))
    new, changed_profiles = _save_profiles(conn, members, now)
    moved_count = repoint_leads(conn, ((key, person_of[key]) for key in moved))
    return _finish(
        conn, resolution, now, run_id, email_person, set(members) | released, new,
        changed_profiles, moved_count,
    )  # fmt: skip


def _save_all(
    conn: Connection,
    resolution: Resolution,
    now: datetime,
    run_id: str,
    keys: Sequence[LeadKeys],
    previous: Mapping[NaturalKey, str] | None,
    released: set[str],
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
    moved_count = repoint_leads(conn, moves)
    del moves
    columns = _PROFILE_READ
    email_person = _email_person(keys, person_of)
    from_scan, shared = not keys, set[str]()
    selected, times = plain_times(
        conn, [*(leads.c[name] for name in columns), leads.c.person_id, leads.c.email_match_key]
    )
    query = sa.select(*selected)
    members: dict[str, list[ProfileLead]] = defaultdict(list)
    changed_profiles = 0
    query = query.where(leads.c.person_id.is_not(None))  # test leads have none
    for row in stream(conn, query.order_by(leads.c.person_id)):
        key, pid = (row[0], row[1]), row[-2]
        if pid is None or person_of.get(key) != pid:
            raise ValueError(f"lead {key!r} is not in the resolution")
        if from_scan and row[-1] and email_person.setdefault(row[-1], pid) != pid:
            shared.add(row[-1])
        if pid not in members and len(members) >= STREAM_SIZE:
            changed_profiles += _save_profiles(conn, members, now)[1]
            members.clear()
        members[pid].append(ProfileLead._make(with_times(row[:-2], times)))
    changed_profiles += _save_profiles(conn, members, now)[1]
    # Bare rows inserted above get their first profile now: new people, not changes.
    changed_profiles = max(0, changed_profiles - added)
    for email_key in shared:
        del email_person[email_key]
    return _finish(
        conn, resolution, now, run_id, email_person, set(person_of.values()) | released,
        added, changed_profiles, moved_count,
    )  # fmt: skip


def _email_person(keys: Sequence[LeadKeys], person_of: Mapping[NaturalKey, str]) -> dict[str, str]:
    """Each email match key's person (what events are re-pointed by): only keys that
    belong to exactly one person (a role address on several people's leads gives its
    events to none of them, whatever order the leads came in)."""
    found: dict[str, str] = {}
    shared: set[str] = set()
    for k in keys:
        if k.email_match_key:
            pid = person_of[k.natural_key]
            if found.setdefault(k.email_match_key, pid) != pid:
                shared.add(k.email_match_key)
    for key in shared:
        del found[key]
    return found


def _save_profiles(
    conn: Connection, members: Mapping[str, Sequence[ProfileLead]], now: datetime
) -> tuple[int, int]:
    """Build the profiles of ``members`` (person -> leads), upsert the new and changed ones;
    how many were new and changed."""
    stored = _stored_profiles(conn, sorted(members))
    profiles = [(pid, identity_profile(found)) for pid, found in sorted(members.items())]
    new = changed = 0
    rows = []
    for pid, profile in profiles:
        before = stored.get(pid)
        if before is None:
            new += 1
        elif any(before[name] != profile[name] for name in PROFILE_COLUMNS):
            changed += 1
        else:
            continue
        rows.append((pid, *(profile[name] for name in PROFILE_COLUMNS), now, now))
    insert_rows(
        conn, people, ("person_id", *PROFILE_COLUMNS, "created_at", "updated_at"), rows,
        key=("person_id",), update=(*PROFILE_COLUMNS, "updated_at"),
    )  # fmt: skip
    return new, changed


def _add_people(conn: Connection, person_ids: Iterable[str], now: datetime) -> int:
    """Insert a bare row (no profile yet) for each of ``person_ids`` not in ``people``;
    how many were inserted."""
    rows = [(pid, now, now) for pid in sorted(set(person_ids))]
    names = ("person_id", "created_at", "updated_at")
    return insert_rows(conn, people, names, rows, key=("person_id",))


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
    events = repoint_events(conn, email_person)
    touches = repoint_touches(conn, {**resolution.aliases, **person_of})
    save_merges(conn, resolution, now, run_id)
    delete_people_without_leads(conn)
    save_id_map(conn, resolution, now, run_id)
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


def _stored_profiles(
    conn: Connection, person_ids: Sequence[str] | None
) -> dict[str, dict[str, Any]]:
    """The stored profiles of ``person_ids`` (None: of everyone)."""
    columns = (people.c.person_id, *(people.c[name] for name in PROFILE_COLUMNS))
    if person_ids is None:
        rows: Iterable[sa.Row[Any]] = stream(conn, sa.select(*columns))
    else:
        rows = (
            row
            for chunk in chunks(person_ids)
            for row in conn.execute(
                sa.select(*columns).where(one_of(conn, people.c.person_id, chunk))
            )
        )
    return {row[0]: dict(zip(PROFILE_COLUMNS, row[1:], strict=True)) for row in rows}
