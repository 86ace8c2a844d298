"""Pointing the warehouse's rows at their people after identity resolution, and recording merges.

Part of saving a resolution (``leadflow.models.people.identity_store.save_identity``): each
function writes only the rows whose person changes, in the caller's transaction, and returns
what moved so that classification knows whom to look at again.

Decisions:
- ``engagement_events.person_id`` follows the event's ``email_match_key`` (the person of the
  leads with that key; an event whose key matches no lead has no person), and
  ``sales_touches.person_id`` the touched lead ``(source, lead_id)``, or the HubSpot contact
  it was merged into (``Resolution.aliases``).
- A merged-away person's stage history moves to the person it merged into (unless the
  survivor already has that transition); its ``people`` row goes with every other person
  no lead points at any more (``identity_store.delete_people_without_leads``).
- ``person_id_map`` keeps every retired id pointing at the person holding its leads now:
  a chain (a into b, later b into c) is resolved to c, and an id in use again leaves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.batches import execute_many, stream
from leadflow.models.people.identity import NaturalKey, Resolution
from leadflow.models.warehouse.activity_tables import engagement_events, sales_touches
from leadflow.models.warehouse.bulk import update_rows, update_staged
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import (
    people,
    person_id_map,
    person_merges,
    stage_transitions,
)
from leadflow.models.warehouse.upsert import upsert


def repoint_leads(conn: Connection, moves: Iterable[tuple[NaturalKey, str]]) -> int:
    """Write each moved lead's new person id; how many moved."""
    rows = ((source, lead_id, pid) for (source, lead_id), pid in moves)
    return update_rows(conn, leads, ("source", "source_lead_id"), ("person_id",), rows)


def repoint_placed_leads(conn: Connection, placed: sa.Table, found: int) -> int:
    """Point each lead in ``placed`` (a table of ``source``, ``source_lead_id`` and
    ``person_id``: ``found`` of them are leads) at its person, in one statement; how many
    moved. A lead left pointing at a person while not in ``placed`` is refused (every lead
    must be resolved)."""
    lead, p = leads.c, placed.c
    same = sa.and_(lead.source == p.source, lead.source_lead_id == p.source_lead_id)
    moved = lead.person_id.is_distinct_from(p.person_id)
    count = conn.execute(leads.update().values(person_id=p.person_id).where(same, moved)).rowcount
    held = lead.person_id.is_not(None)
    if conn.execute(sa.select(sa.func.count()).where(held)).scalar_one() > found:
        missing = sa.select(p.person_id).where(same).exists()
        query = sa.select(lead.source, lead.source_lead_id).where(held, ~missing).limit(1)
        key = tuple(conn.execute(query).one())
        raise ValueError(f"lead {key!r} is not in the resolution")
    return count


def repoint_events(conn: Connection, email_person: Mapping[str, str]) -> set[str]:
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
    for key, pid in stream(conn, query):
        if email_person.get(key) != pid:
            wrong[key] = email_person.get(key)
            was.append(pid)
    update_staged(conn, e, ("email_match_key",), ("person_id",), sorted(wrong.items()))
    return _people_of(wrong.values(), was)


def repoint_touches(
    conn: Connection,
    person_of: Mapping[NaturalKey, str],
    aliases: Mapping[NaturalKey, str] | None = None,
) -> set[str]:
    """Point touches at the person of the touched lead (or, for a lead id that is not a
    lead, of its ``aliases`` entry: a merged HubSpot id); the people who gained or lost
    touches."""
    t = sales_touches
    query = sa.select(t.c.source, t.c.lead_id, t.c.person_id).distinct()
    wrong: dict[NaturalKey, str | None] = {}
    was: list[str | None] = []
    for source, lead_id, pid in stream(conn, query):
        key = (source, lead_id)
        now_pid = person_of.get(key)
        if now_pid is None and aliases:
            now_pid = aliases.get(key)
        if now_pid != pid:
            wrong[key] = now_pid
            was.append(pid)
    rows = ((source, lead_id, pid) for (source, lead_id), pid in sorted(wrong.items()))
    update_staged(conn, t, ("source", "lead_id"), ("person_id",), rows)
    return _people_of(wrong.values(), was)


def _people_of(*groups: Iterable[str | None]) -> set[str]:
    return {pid for group in groups for pid in group if pid}


def save_merges(conn: Connection, resolution: Resolution, now: datetime, run_id: str) -> None:
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
    execute_many(conn, history, params)


def save_id_map(conn: Connection, resolution: Resolution, now: datetime, run_id: str) -> None:
    """Point this run's retired ids (and any id mapped to them) at the people holding their
    leads now; drop the ids in use again. Runs after the people without leads are gone."""
    m = person_id_map
    if resolution.merges:
        chain = (
            m.update()
            .where(m.c.person_id == sa.bindparam("b_from"))
            .values(person_id=sa.bindparam("b_into"), mapped_at=now, run_id=run_id)
        )
        params = [{"b_from": x.from_person, "b_into": x.into_person} for x in resolution.merges]
        execute_many(conn, chain, params)
        rows = [
            {"old_person_id": x.from_person, "person_id": x.into_person, "mapped_at": now,
             "run_id": run_id}
            for x in resolution.merges
        ]  # fmt: skip
        upsert(conn, m, rows, ["old_person_id"], ["person_id", "mapped_at", "run_id"])
    live = sa.select(people.c.person_id).where(people.c.person_id == m.c.old_person_id)
    conn.execute(m.delete().where(live.exists()))
    target = sa.select(people.c.person_id).where(people.c.person_id == m.c.person_id)
    conn.execute(m.delete().where(~target.exists()))  # its people are gone (erased)
