"""Warehouse I/O for people's profiles: read each person's leads, build the profile
(``leadflow.models.people.profile``, the pure part), write the people rows that are new or
changed. Part of saving a resolution (``leadflow.models.people.identity_store``), in the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.batches import STREAM_SIZE, plain_times, with_times
from leadflow.models.people.profile import ProfileLead, profile_values
from leadflow.models.records.encoding import chunks
from leadflow.models.records.leads import PROFILE_GROUPS
from leadflow.models.warehouse.bulk import insert_rows
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people
from leadflow.models.warehouse.reads import driver_rows, one_of

# Columns person_profile fills (PROFILE_GROUPS, in order), all on people too.
PROFILE_COLUMNS = tuple(name for group in PROFILE_GROUPS for name in group)
_PROFILE_LEAD_COLUMNS = ("source", "source_lead_id", "updated_at")
# What a profile is built from: a lead's identity and the profile columns.
PROFILE_READ = (*_PROFILE_LEAD_COLUMNS, *PROFILE_COLUMNS)


def profile_people(
    conn: Connection, placed: sa.Table, now: datetime, scan: dict[str, str] | None
) -> tuple[int, int, int]:
    """Build and save the profile of every person in ``placed``, reading their leads joined
    to it in order of person; how many people were new, how many profiles changed, and how
    many leads were read. With ``scan``, each email match key's person is gathered into it
    (keys shared by several people left out)."""
    p = placed.c
    selected, times = plain_times(conn, [*(leads.c[name] for name in PROFILE_READ), p.person_id])
    joined = leads.join(placed, _placed_lead(placed))
    query = sa.select(*selected).select_from(joined).order_by(p.person_id)
    stored = conn.execute(sa.select(people.c.person_id).limit(1)).first() is not None
    members: dict[str, list[ProfileLead]] = {}
    shared: set[str] = set()
    new = changed = found = 0
    email_at = PROFILE_READ.index("email_match_key")
    for row in driver_rows(conn, query, "identity_profile_leads"):
        pid, email_key = row[-1], row[email_at]
        if scan is not None and email_key and scan.setdefault(email_key, pid) != pid:
            shared.add(email_key)
        group = members.get(pid)
        if group is None:
            if len(members) >= STREAM_SIZE:
                counts = save_profiles(conn, _timed(members, times), now, stored=stored)
                new, changed = new + counts[0], changed + counts[1]
                members.clear()
            members[pid] = group = []
        group.append(ProfileLead._make(row[:-1]))
        found += 1
    counts = save_profiles(conn, _timed(members, times), now, stored=stored)
    for email_key in shared if scan is not None else ():
        del scan[email_key]
    return new + counts[0], changed + counts[1], found


def _placed_lead(placed: sa.Table) -> sa.ColumnElement[bool]:
    """A lead and its row in ``placed`` (the staged person of each lead)."""
    return sa.and_(
        leads.c.source == placed.c.source, leads.c.source_lead_id == placed.c.source_lead_id
    )


def _timed(
    members: dict[str, list[ProfileLead]], times: Sequence[int]
) -> dict[str, list[ProfileLead]]:
    """``members`` with SQLite's timestamps parsed where a person has several leads (a
    profile compares its leads' update times; one lead's needs no parsing)."""
    if times:
        for group in members.values():
            if len(group) > 1:
                group[:] = [ProfileLead._make(with_times(lead, times)) for lead in group]
    return members


def save_profiles(
    conn: Connection,
    members: Mapping[str, Sequence[ProfileLead]],
    now: datetime,
    *,
    stored: bool = True,
) -> tuple[int, int]:
    """Build the profiles of ``members`` (person -> leads), upsert the new and changed ones;
    how many were new and changed. ``stored=False``: no person has a row yet (people is
    empty), none is read."""
    before_all = _stored_profiles(conn, sorted(members)) if stored else {}
    new = changed = 0
    rows = []
    for pid, found in sorted(members.items()):
        profile = profile_values(found)
        before = before_all.get(pid)
        if before is None:
            new += 1
        elif before != profile:
            changed += 1
        else:
            continue
        rows.append((pid, *profile, now, now))
    names = ("person_id", *PROFILE_COLUMNS, "created_at", "updated_at")
    if not stored:  # all new: no conflict to look for
        insert_rows(conn, people, names, rows)
    else:
        update = (*PROFILE_COLUMNS, "updated_at")
        insert_rows(conn, people, names, rows, key=("person_id",), update=update)
    return new, changed


def _stored_profiles(conn: Connection, person_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The stored profiles (``PROFILE_COLUMNS``' values) of ``person_ids``."""
    columns = (people.c.person_id, *(people.c[name] for name in PROFILE_COLUMNS))
    found = {}
    for chunk in chunks(person_ids):
        query = sa.select(*columns).where(one_of(conn, people.c.person_id, chunk))
        found.update((row[0], tuple(row[1:])) for row in conn.execute(query))
    return found
