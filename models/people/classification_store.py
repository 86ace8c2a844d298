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
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.loading.lead_rows import LEAD_FIELDS
from leadflow.models.people.batches import STREAM_SIZE, execute_many
from leadflow.models.people.classify import Classification, Milestone
from leadflow.models.people.facts import LeadFacts, PersonFacts, PreviousState
from leadflow.models.people.person_ids import update_classifications_postgresql
from leadflow.models.people.transitions import Transition
from leadflow.models.records.activity import EngagementEvent, SalesTouch
from leadflow.models.records.encoding import chunks, require_aware
from leadflow.models.records.leads import Lead, Stage
from leadflow.models.warehouse.activity_tables import engagement_events, sales_touches
from leadflow.models.warehouse.engine import unprepared
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people, person_milestones, stage_transitions
from leadflow.models.warehouse.upsert import upsert

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
        execute_many(conn, statement, updates)
    save_milestones(conn, [(pid, c.milestones) for pid, c, _ in results])
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


def save_milestones(conn: Connection, found: Sequence[tuple[str, Sequence[Milestone]]]) -> None:
    """Replace the milestones of each person in ``found`` with theirs (derived data: the
    classification of the same facts always writes the same rows)."""
    m = person_milestones
    for chunk in chunks([pid for pid, _ in found]):
        conn.execute(m.delete().where(m.c.person_id.in_(chunk)))
    rows = [
        {"person_id": pid, "kind": x.kind, "at": x.at, "reason": x.reason}
        for pid, items in found
        for x in items
    ]
    for chunk in chunks(rows, STREAM_SIZE):
        conn.execute(m.insert(), chunk)


def _count_transitions(conn: Connection, run_id: str) -> int:
    query = sa.select(sa.func.count()).where(stage_transitions.c.run_id == run_id)
    return conn.execute(query.select_from(stage_transitions)).scalar_one()


def people_per_stage(conn: Connection) -> dict[str, int]:
    """How many people the warehouse holds per lifecycle stage, by stage name."""
    query = sa.select(people.c.lifecycle, sa.func.count()).group_by(people.c.lifecycle)
    counts = {str(stage): count for stage, count in conn.execute(query).all()}
    return dict(sorted(counts.items()))
