"""Reading the SLA's facts from the warehouse and storing its evaluations and roll-ups.

Qualifications and decisions are the person's ``person_milestones`` (``mql``; ``sql`` and
``rejected``), which classification derives from the facts of the person's leads, so the
SLA is a function of the loaded facts like the people it reads (``stage_transitions`` is
the observed history, for reports, and is not read here); touches are ``sales_touches``
resolved to people. The rep who answers for a person is the owner of their most recently
updated owned lead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from leadflow.models.records.encoding import chunks
from leadflow.models.sla.evaluate import (
    STORED_COLUMNS,
    UNASSIGNED,
    Decision,
    Facts,
    History,
    Qualification,
    StatusGroup,
    Touch,
)
from leadflow.models.sla.rows import COLUMNS, KEY
from leadflow.models.warehouse.activity_tables import sales_reps, sales_touches
from leadflow.models.warehouse.bulk import insert_rows, temp_table
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people, person_milestones
from leadflow.models.warehouse.person_links import LEAD_PERSON, leads_with_people
from leadflow.models.warehouse.reads import one_of
from leadflow.models.warehouse.sla_tables import ROLLUP_COLUMNS, sla_evaluations, sla_results

CONNECTED_OUTCOMES = {("call", "connected"), ("meeting", "completed")}
HISTORY_COLUMNS = ("status", "breach_recorded_at", "breach_run_id", "revised_at",
                   "first_evaluated_at")  # fmt: skip


def read_facts(conn: Connection, person_ids: Collection[str] | None = None) -> list[Facts]:
    """Every qualification in the warehouse (or of ``person_ids``) with its person's
    touches and decisions."""
    ids = None if person_ids is None else sorted(person_ids)
    queries = _fact_queries()
    found = [_select(conn, q.order_by(c, *then), c, ids) for q, c, then in queries]
    return _facts(_teams(conn), *found)


def read_between(conn: Connection, first: str, last: str) -> list[Facts]:
    """The facts of the people whose id is from ``first`` to ``last`` in the database's
    order (a batch of :func:`people_with_sla`): a range read on each table's person index,
    not ``IN`` lists of the batch's ids."""
    found = []
    for query, column, then in _fact_queries():
        between = query.where(column >= first, column <= last).order_by(column, *then)
        found.append(conn.execute(between))
    return _facts(_teams(conn), *found)


def _fact_queries() -> list[tuple[sa.Select[Any], sa.ColumnElement[Any], tuple[Any, ...]]]:
    """The queries :func:`_facts` reads: (query, its person column, its order after it)."""
    m, t = person_milestones, sales_touches
    kinds = ("mql", "sql", "rejected")
    milestones = sa.select(m.c.person_id, m.c.kind, m.c.at).where(m.c.kind.in_(kinds))
    owners = _owned_leads()
    fits = sa.select(people.c.person_id, people.c.fit)
    touches = sa.select(
        t.c.person_id, t.c.source, t.c.touch_id, t.c.occurred_at, t.c.owner_id,
        t.c.direction, t.c.touch_type, t.c.outcome,
    ).where(t.c.person_id.is_not(None))  # fmt: skip
    return [
        (milestones, m.c.person_id, (m.c.at, m.c.kind)),
        (owners, LEAD_PERSON, ()),  # _owners_of compares the leads itself
        (fits, people.c.person_id, ()),
        (touches, t.c.person_id, (t.c.source, t.c.touch_id, t.c.lead_id)),
    ]


def _teams(conn: Connection) -> dict[tuple[str, str], str]:
    query = sa.select(sales_reps.c.source, sales_reps.c.rep_id, sales_reps.c.team)
    return {(source, rep_id): team or UNASSIGNED for source, rep_id, team in conn.execute(query)}


def _facts(
    teams: dict[tuple[str, str], str],
    milestones: Iterable[Any],
    owned: Iterable[Any],
    fitted: Iterable[Any],
    touched: Iterable[Any],
) -> list[Facts]:
    """The facts of the people in these rows (of :func:`_fact_queries`)."""
    owners = _owners_of(owned, teams)
    fits = {person_id: fit for person_id, fit in fitted}
    touches = _touches(touched)
    qualified: set[tuple[str, datetime]] = set()
    decisions: dict[str, list[Decision]] = defaultdict(list)
    for person_id, kind, at in milestones:
        if kind == "mql":
            qualified.add((person_id, at))
        else:
            decisions[person_id].append(Decision(at, accepted=kind == "sql"))
    for items in decisions.values():
        items.sort(key=lambda decision: decision.at)
    starts: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
    for person_id, start in qualified:
        starts[person_id].append((start, False))
    for person_id, made in decisions.items():
        starts[person_id].extend(
            (at, True) for at in unanswered_rejections(starts[person_id], made)
        )
    facts = []
    for person_id in sorted(starts):
        rep_source, rep_id, team = owners.get(person_id, (None, None, UNASSIGNED))
        fit, touch, made = (
            fits.get(person_id),
            touches.get(person_id, ()),
            decisions.get(person_id, ()),
        )
        for start, inferred in sorted(starts[person_id]):
            q = Qualification(person_id, start, fit, rep_id, rep_source, team, inferred)
            facts.append(Facts(q, touch, made))
    return facts


def people_with_sla(conn: Connection) -> list[str]:
    """Everyone a full evaluation must look at: people with a qualification, a sales
    decision or a stored evaluation (whose qualification may be gone), in the database's
    order of their ids (what :func:`read_between` reads ranges of)."""
    m, e = person_milestones, sla_evaluations
    ids = sa.union(sa.select(m.c.person_id), sa.select(e.c.person_id)).subquery()
    return list(conn.execute(sa.select(ids.c.person_id).order_by(ids.c.person_id)).scalars())


def _select(
    conn: Connection,
    query: sa.Select[Any],
    column: sa.ColumnElement[Any],
    ids: Sequence[str] | None,
) -> Iterator[sa.Row[Any]]:
    """Rows of ``query``; with ``ids``, only those whose ``column`` is one of them (chunked)."""
    if ids is None:
        yield from conn.execute(query)
        return
    for chunk in chunks(ids):
        yield from conn.execute(query.where(one_of(conn, column, chunk)))


def unanswered_rejections(
    starts: Sequence[tuple[datetime, bool]], decisions: Sequence[Decision]
) -> list[datetime]:
    """Rejections that answer no qualification: the first decision after each qualification
    answers it; a rejection answering none is a hand-over whose time was not kept."""
    answered = set()
    for start, _ in starts:
        first = next((d for d in decisions if d.at >= start), None)
        if first is not None:
            answered.add(first)
    return [d.at for d in decisions if not d.accepted and d not in answered]


def _qualifications(conn: Connection, ids: Sequence[str] | None) -> set[tuple[str, datetime]]:
    m = person_milestones
    mql = sa.select(m.c.person_id, m.c.at).where(m.c.kind == "mql")
    return {(person_id, at) for person_id, at in _select(conn, mql, m.c.person_id, ids)}


def everyones_owner(conn: Connection) -> dict[str, tuple[str, str, str]]:
    """person_id -> (rep source, rep id, team) of every person's latest owned lead, from the
    owned leads in the database's order: SQLite reads leads in their order and finds each
    one's person by key, instead of walking people in id order and looking up each one's
    leads (1.9-2.0 -> 1.4-1.5 s at 200,000 leads)."""
    return _owners_of(conn.execute(_owned_leads()), _teams(conn))


def _owned_leads() -> sa.Select[Any]:
    """Each owned lead's person, source and owner, with what orders a person's leads."""
    lead = leads.c
    columns = (LEAD_PERSON, lead.source, lead.owner_id, lead.updated_at, lead.source_lead_id)
    query = sa.select(*columns).select_from(leads_with_people())
    return query.where(lead.owner_id.is_not(None))


def _owners_of(
    rows: Iterable[Any], teams: dict[tuple[str, str], str]
) -> dict[str, tuple[str, str, str]]:
    """Owned leads' rows (``_owned_leads``, in any order): person_id -> (rep source, rep
    id, team) from their latest lead by update, source and id (compared here, not by the
    database's collation, so both databases and every read choose the same)."""
    latest: dict[str, tuple[tuple[Any, str, str], str]] = {}
    for person_id, source, owner_id, updated_at, lead_id in rows:
        at = (updated_at, source, lead_id)
        held = latest.get(person_id)
        if held is None or at > held[0]:
            latest[person_id] = (at, owner_id)
    return {
        person_id: (at[1], owner_id, teams.get((at[1], owner_id), UNASSIGNED))
        for person_id, (at, owner_id) in latest.items()
    }


def _touches(rows: Iterable[Any]) -> dict[str, list[Touch]]:
    seen: set[tuple[str, str, str]] = set()
    touches: dict[str, list[Touch]] = defaultdict(list)
    for person_id, source, touch_id, at, owner, direction, kind, outcome in rows:
        if (person_id, source, touch_id) in seen:  # one activity on two of their leads
            continue
        seen.add((person_id, source, touch_id))
        kind, direction = (kind or "").lower(), (direction or "").lower()
        outbound = owner is not None and (direction == "outbound" or kind == "meeting")
        connected = direction == "inbound" or (kind, (outcome or "").lower()) in CONNECTED_OUTCOMES
        touches[person_id].append(Touch(at, outbound, connected))
    for items in touches.values():
        items.sort(key=lambda touch: touch.at)
    return touches


def read_history(
    conn: Connection,
    person_ids: Collection[str] | None = None,
    *,
    between: tuple[str, str] | None = None,
) -> dict[tuple[str, str, datetime], History]:
    """Every stored evaluation's history (or those of ``person_ids``, or of the people from
    ``between[0]`` to ``between[1]`` as :func:`read_between` reads them), with its stored
    columns (to skip unchanged rows)."""
    e = sla_evaluations
    where = {name: i for i, name in enumerate(STORED_COLUMNS)}
    picks = [where[name] for name in HISTORY_COLUMNS]
    query = sa.select(e.c.rule, e.c.person_id, e.c.clock_start, *(e.c[c] for c in STORED_COLUMNS))
    history = {}
    ids = None if person_ids is None else sorted(person_ids)
    if between is not None:
        query = query.where(e.c.person_id >= between[0], e.c.person_id <= between[1])
    for rule, person_id, start, *rest in _select(conn, query, e.c.person_id, ids):
        stored = tuple(rest)
        history[(rule, person_id, start)] = History(*(stored[i] for i in picks), stored=stored)
    return history


def store_evaluations(
    conn: Connection,
    rows: Sequence[tuple[Any, ...]],
    stale: Iterable[tuple[str, str, datetime]],
    *,
    new: bool = False,
    bound: bool = False,
) -> None:
    """Upsert ``rows`` (this run's new or changed evaluations, tuples in ``COLUMNS``
    order; ``bound``: as the driver binds them) and delete those whose qualification
    is gone. ``new``: the table was empty when the run began, so no row of it can
    conflict: the rows are only inserted (PostgreSQL: copied in binary straight into the
    table)."""
    update = [name for name in COLUMNS if name not in (*KEY, "first_evaluated_at")]
    e = sla_evaluations
    if new:
        insert_rows(conn, e, COLUMNS, rows, bound=bound)
    elif rows and conn.dialect.name == "postgresql":
        # Copied in binary to a temporary table, then one upsert from it: half the
        # server's time of an upsert from arrays.
        columns = [(name, e.c[name].type) for name in COLUMNS]
        with temp_table(conn, "staged_sla_evaluations", columns, rows, bound=bound) as staged:
            query = sa.select(*(staged.c[name] for name in COLUMNS))
            insert = postgresql.insert(e).from_select(COLUMNS, query)
            excluded = insert.excluded
            upsert = insert.on_conflict_do_update(
                index_elements=KEY, set_={name: excluded[name] for name in update}
            )
            conn.execute(upsert)
    else:  # through the driver: SQLAlchemy's executemany cost 12 s of 16 s at 100k
        insert_rows(conn, e, COLUMNS, rows, key=KEY, update=update, bound=bound)
    gone = [{"r": rule, "p": person_id, "s": start} for rule, person_id, start in stale]
    if gone:  # one executemany, not a statement per row
        match = (e.c.rule == sa.bindparam("r"), e.c.person_id == sa.bindparam("p"),
                 e.c.clock_start == sa.bindparam("s"))  # fmt: skip
        conn.execute(e.delete().where(*match), gone)


def store_results(conn: Connection, rows: Sequence[dict[str, Any]], run_id: str) -> None:
    """Replace the roll-ups of ``run_id`` (a re-run of the same run is idempotent)."""
    conn.execute(sla_results.delete().where(sla_results.c.run_id == run_id))
    for batch in chunks(list(rows), 5000):
        conn.execute(sla_results.insert(), list(batch))


def status_groups(conn: Connection) -> list[StatusGroup]:
    """The stored evaluations counted by what the roll-ups read (one GROUP BY)."""
    return [
        StatusGroup(rule, month, week, status, team, rep_id, rep_source, count)
        for rule, status, month, week, team, rep_id, rep_source, count in conn.execute(
            status_groups_query()
        )
    ]


def status_groups_query() -> sa.Select[Any]:
    """``status_groups``' GROUP BY, in the order of the index that holds its columns
    (ROLLUP_COLUMNS): SQLite counts from the index alone, in its order."""
    columns = [sla_evaluations.c[name] for name in ROLLUP_COLUMNS]
    return sa.select(*columns, sa.func.count()).group_by(*columns)


def all_qualifications(conn: Connection, *, teams: bool = True) -> list[Qualification]:
    """Every qualification with its team (what the volume roll-ups count); with
    ``teams=False`` (no per-team target to count for) every one unassigned, and no lead's
    owner read (1.9 of 3.4 s at 200,000 leads)."""
    owners = everyones_owner(conn) if teams else {}
    found = []
    for person_id, start in sorted(_qualifications(conn, None)):
        rep_source, rep_id, team = owners.get(person_id, (None, None, UNASSIGNED))
        found.append(Qualification(person_id, start, None, rep_id, rep_source, team))
    return found
