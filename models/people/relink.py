"""Pointing the warehouse's rows at their people after identity resolution, and recording merges.

Part of saving a resolution (``leadflow.models.people.identity_store.save_identity``): each
function writes only the rows whose person changes, in the caller's transaction, and returns
what moved so that classification knows whom to look at again.

Decisions:
- A lead's person is its ``lead_people`` row; an engagement event's is its
  ``email_match_key``'s ``email_people`` row (the person of the leads with that key; a key
  on several people's leads, or on none, has no row and its events no person), and
  ``sales_touches.person_id`` the touched lead ``(source, lead_id)``, or the HubSpot contact
  it was merged into (``Resolution.aliases``).
- A merged-away person's stage history moves to the person it merged into (unless the
  survivor already has that transition); its ``people`` row goes with every other person
  no lead points at any more (``delete_people_without_leads``).
- ``person_id_map`` keeps every retired id pointing at the person holding its leads now:
  a chain (a into b, later b into c) is resolved to c, and an id in use again leaves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.batches import execute_many, stream
from leadflow.models.people.identity import NaturalKey, Resolution
from leadflow.models.people.identity_lookup import EmailPeople
from leadflow.models.records.encoding import chunks
from leadflow.models.warehouse.activity_tables import sales_touches
from leadflow.models.warehouse.bulk import insert_rows, update_staged
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import (
    email_people,
    lead_people,
    people,
    person_id_map,
    person_merges,
    stage_transitions,
)
from leadflow.models.warehouse.person_links import LEAD_PERSON, lead_person_on, leads_with_people
from leadflow.models.warehouse.upsert import dialect_insert, upsert, written


def repoint_leads(conn: Connection, moves: Iterable[tuple[NaturalKey, str]]) -> int:
    """Write each moved lead's new person (``lead_people``); how many moved."""
    rows = [(source, lead_id, pid) for (source, lead_id), pid in moves]
    names, key = ("source", "source_lead_id", "person_id"), ("source", "source_lead_id")
    insert_rows(conn, lead_people, names, rows, key=key, update=("person_id",))
    return len(rows)


def repoint_placed_leads(conn: Connection, placed: sa.Table, found: int) -> int:
    """Point each lead in ``placed`` (a table of ``source``, ``source_lead_id`` and
    ``person_id``: ``found`` of them are leads) at its person, in one statement into the
    narrow ``lead_people`` (the leads themselves are not rewritten); how many moved. A lead
    left with a person while not in ``placed`` is refused (every lead must be resolved)."""
    lp, p = lead_people.c, placed.c
    held = conn.execute(sa.select(sa.func.count()).select_from(lead_people)).scalar_one()
    names = ("source", "source_lead_id", "person_id")
    insert = dialect_insert(conn, lead_people)
    # WHERE: SQLite would read ON CONFLICT as a join's ON without it
    chosen = sa.select(p.source, p.source_lead_id, p.person_id).where(sa.true())
    statement = insert.from_select(names, chosen)
    if held:  # a first run has nothing to conflict with
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["source", "source_lead_id"],
            set_={"person_id": excluded.person_id},
            where=lp.person_id.is_distinct_from(excluded.person_id),
        )
    count = written(conn, statement)
    total = conn.execute(sa.select(sa.func.count()).select_from(lead_people)).scalar_one()
    if total > found:
        placed_lead = sa.and_(p.source == lp.source, p.source_lead_id == lp.source_lead_id)
        missing = sa.select(p.person_id).where(placed_lead).exists()
        query = sa.select(lp.source, lp.source_lead_id).where(~missing).limit(1)
        key = tuple(conn.execute(query).one())
        raise ValueError(f"lead {key!r} is not in the resolution")
    return count


def repoint_events(
    conn: Connection, email_person: EmailPeople, *, affected: bool = True
) -> tuple[int, set[str]]:
    """Write each email match key's person (``email_people``: what engagement events join
    on; keys on several people's leads have none); how many keys were written or deleted,
    and (with ``affected``) the people who gained or lost a key."""
    ep = email_people.c
    names = ("email_match_key", "person_id")
    if conn.execute(sa.select(ep.email_match_key).limit(1)).first() is None:
        # A first run: nothing to compare with or conflict with; written in key order.
        written = insert_rows(conn, email_people, names, email_person.pairs())
        return written, set(email_person.values()) if affected else set()
    wrong: dict[str, str] = {}
    gone: list[str] = []
    was: list[str] = []
    seen = email_person.stored_keys()
    for key, pid in stream(conn, sa.select(ep.email_match_key, ep.person_id)):
        seen.add(key)
        now_pid = email_person.get(key)
        if now_pid != pid:
            was.append(pid)
            if now_pid is None:
                gone.append(key)
            else:
                wrong[key] = now_pid
    for key in seen.missing():
        wrong[key] = email_person[key]
    del seen
    for chunk in chunks(sorted(gone)):
        conn.execute(email_people.delete().where(ep.email_match_key.in_(chunk)))
    rows = sorted(wrong.items())
    insert_rows(conn, email_people, names, rows, key=names[:1], update=names[1:])
    return len(rows) + len(gone), _people_of(wrong.values(), was) if affected else set()


def release_test_leads(conn: Connection) -> set[str]:
    """Take test leads away from the people they were given (before they were flagged as
    tests); the people who lost one."""
    test = leads.c.is_test == sa.true()
    query = sa.select(LEAD_PERSON).select_from(leads_with_people()).where(test).distinct()
    losers = {row[0] for row in conn.execute(query)}
    if losers:
        on = lead_person_on(leads.c.source, leads.c.source_lead_id)
        flagged = sa.select(leads.c.source).where(test, on)
        conn.execute(lead_people.delete().where(flagged.exists()))
    return losers


def delete_people_without_leads(conn: Connection) -> int:
    """Delete the people no lead points at any more (merged away, renamed, erased, or
    left with test leads only); their history, milestones and SLA evaluations go with them
    (ON DELETE CASCADE). How many were deleted."""
    lead_of = sa.select(LEAD_PERSON).where(people.c.person_id == LEAD_PERSON)
    return conn.execute(people.delete().where(~lead_of.exists())).rowcount


def repoint_touches(
    conn: Connection,
    people_of: Callable[[Set[NaturalKey]], Mapping[NaturalKey, str]],
    aliases: Mapping[NaturalKey, str] | None = None,
    *,
    affected: bool = True,
) -> tuple[int, set[str]]:
    """Point touches at the person of the touched lead (``people_of`` finds the people of
    a set of lead keys; for a lead id that is not a lead, its ``aliases`` entry: a merged
    HubSpot id); how many touched leads were re-pointed, and (with ``affected``) the people
    who gained or lost touches."""
    t = sales_touches
    query = sa.select(t.c.source, t.c.lead_id, t.c.person_id).distinct()
    held = [((source, lead_id), pid) for source, lead_id, pid in stream(conn, query)]
    person_of = people_of({key for key, _ in held})
    wrong: dict[NaturalKey, str | None] = {}
    was: list[str | None] = []
    for key, pid in held:
        now_pid = person_of.get(key)
        if now_pid is None and aliases:
            now_pid = aliases.get(key)
        if now_pid != pid:
            wrong[key] = now_pid
            was.append(pid)
    rows = ((source, lead_id, pid) for (source, lead_id), pid in sorted(wrong.items()))
    update_staged(conn, t, ("source", "lead_id"), ("person_id",), rows)
    return len(wrong), _people_of(wrong.values(), was) if affected else set()


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
