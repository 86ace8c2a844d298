"""The warehouse side of the writeback: what to consider, and the ledger (``writebacks``).

Reads are set-based; the ledger is written in one statement per step: every task about to
be created is committed as ``pending`` before the CRM is asked (``mark_pending``), and the
outcomes are recorded together afterwards (``record``). A person's contact in a writing
CRM is their most recently updated non-test lead of that CRM's account (``leads``: source
``hubspot`` and the portal id, or ``salesforce`` and the org id), and its owner the
evaluation's rep when that CRM's, else the lead's. A task key is one task whichever CRM it
was written to (``read_ledger`` of tasks reads every CRM's rows); properties are per CRM.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people, person_id_map
from leadflow.models.warehouse.person_links import LEAD_PERSON, leads_with_people
from leadflow.models.warehouse.sla_tables import sla_evaluations
from leadflow.models.warehouse.upsert import upsert
from leadflow.models.warehouse.writeback_tables import writebacks
from leadflow.models.writeback.plan import TASK, Candidate, Ledger, PersonValues

CRM = "hubspot"  # the default writing CRM
_CHUNK = 500


@dataclass(frozen=True)
class Outcome:
    """What happened to one write: ``failed`` counts an attempt (an error, or an unknown
    outcome left ``pending``); ``error`` names status and fields, never a value."""

    kind: str
    key: str
    person_id: str
    status: str
    object_id: str | None = None
    error: str | None = None
    payload_hash: str | None = None
    failed: bool = False


def _contacts(crm: str, account: str) -> sa.Subquery:
    """Each person's latest lead (contact) of ``crm`` in ``account``, and its owner."""
    rank = sa.func.row_number().over(
        partition_by=LEAD_PERSON,
        order_by=(leads.c.updated_at.desc(), leads.c.source_lead_id.desc()),
    )
    ranked = (
        sa.select(
            LEAD_PERSON,
            leads.c.source_lead_id.label("contact_id"),
            leads.c.owner_id,
            rank.label("rank"),
        )
        .select_from(leads_with_people())
        .where(
            leads.c.source == crm,
            leads.c.account_id == account,
            leads.c.is_test.is_(False),
        )
        .subquery()
    )
    return sa.select(ranked).where(ranked.c.rank == 1).subquery()


def read_candidates(
    conn: Connection,
    account: str,
    rules: Sequence[str],
    now: datetime,
    before_minutes: float,
    lookback: timedelta = timedelta(days=7),
    crm: str = CRM,
) -> list[Candidate]:
    """Evaluations of ``rules`` that are breached (due within ``lookback`` before ``now``),
    pending and due within the horizon, or met or breached with a task asked for or created
    for the person; with the person's contact if any."""
    ev, contact = sla_evaluations, _contacts(crm, account)
    horizon = now + timedelta(minutes=before_minutes)
    wanted = sa.or_(
        sa.and_(ev.c.status == "breached", ev.c.due_at >= now - lookback),
        sa.and_(ev.c.status == "pending", ev.c.due_at <= horizon),
    )
    tasked = sa.select(writebacks.c.person_id).where(
        writebacks.c.kind == TASK,  # in any CRM: one task per qualification, wherever
        writebacks.c.status.in_(("created", "pending")),
    )
    # ... or whose task was written under an id the person took over in a merge.
    merged = sa.select(person_id_map.c.person_id).where(person_id_map.c.old_person_id.in_(tasked))
    tasked_person = sa.or_(ev.c.person_id.in_(tasked), ev.c.person_id.in_(merged))
    wanted = sa.or_(wanted, sa.and_(ev.c.status.in_(("met", "breached")), tasked_person))
    owner = sa.case((ev.c.rep_source == crm, ev.c.rep_id), else_=contact.c.owner_id)
    columns = [ev.c.rule, ev.c.person_id, ev.c.clock_start, ev.c.due_at, ev.c.status]
    query = (
        sa.select(*columns, contact.c.contact_id, owner.label("owner_id"), ev.c.rep_source)
        .select_from(ev.outerjoin(contact, contact.c.person_id == ev.c.person_id))
        .where(ev.c.rule.in_(list(rules)), wanted)
        .order_by(ev.c.rule, ev.c.person_id, ev.c.clock_start)
    )
    return [Candidate(*row) for row in conn.execute(query)]


def read_people(conn: Connection, account: str, crm: str = CRM) -> list[PersonValues]:
    """Classified people with a contact of ``crm`` in ``account``: their stage, scores and
    reasons."""
    contact = _contacts(crm, account)
    values = [people.c.stage, people.c.fit, people.c.engagement, people.c.reasons]
    query = (
        sa.select(people.c.person_id, contact.c.contact_id, *values)
        .join(contact, contact.c.person_id == people.c.person_id)
        .where(people.c.stage.is_not(None))
        .order_by(people.c.person_id)
    )
    return [PersonValues(*row) for row in conn.execute(query)]


def read_ledger(
    conn: Connection, kind: str, keys: Iterable[str], crm: str | None = None
) -> dict[str, Ledger]:
    """The ``writebacks`` rows of ``kind`` for ``keys``: of ``crm``, or (None) of any CRM
    (tasks: a key written to one CRM is never written to another)."""
    wb, found, wanted = writebacks, {}, sorted(set(keys))
    for start in range(0, len(wanted), _CHUNK):
        columns = [wb.c.status, wb.c.object_id, wb.c.attempts, wb.c.payload_hash, wb.c.updated_at]
        query = sa.select(wb.c.key, *columns, wb.c.crm).where(
            wb.c.kind == kind, wb.c.key.in_(wanted[start : start + _CHUNK])
        )
        if crm is not None:
            query = query.where(wb.c.crm == crm)
        found.update({row.key: Ledger(*row) for row in conn.execute(query.order_by(wb.c.crm))})
    return found


def read_former_ids(conn: Connection, person_ids: Iterable[str]) -> dict[str, list[str]]:
    """The person ids each of ``person_ids`` took over in merges (``person_id_map``)."""
    found: dict[str, list[str]] = {}
    wanted = sorted(set(person_ids))
    m = person_id_map.c
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = sa.select(m.person_id, m.old_person_id).where(m.person_id.in_(chunk))
        for person_id, old in conn.execute(query.order_by(m.old_person_id)):
            found.setdefault(person_id, []).append(old)
    return found


def mark_pending(
    conn: Connection, keys: Sequence[tuple[str, str]], now: datetime, crm: str = CRM
) -> None:
    """Record ``(key, person_id)`` tasks of ``crm`` as pending before they are created (the
    caller commits first): a crash after the request leaves a row to resolve by search."""
    rows = [_row(crm, TASK, key, person_id, "pending", now) for key, person_id in keys]
    # The row follows its person: a key written before a merge now names the survivor.
    upsert(conn, writebacks, rows, ("crm", "kind", "key"), ("person_id", "status", "updated_at"))


def record(conn: Connection, outcomes: Sequence[Outcome], now: datetime, crm: str = CRM) -> None:
    """Record the outcomes of one step's writes to ``crm`` (one statement per kind of
    change)."""
    for failed in (False, True):
        rows = [
            _row(
                crm, o.kind, o.key, o.person_id, o.status, now, o.object_id, o.error, o.payload_hash
            )
            | {"attempts": 1 if failed else 0}
            for o in outcomes
            if o.failed is failed
        ]
        update = ["person_id", "status", "object_id", "last_error", "updated_at"]
        update += [] if failed else ["payload_hash"]
        computed: dict[str, Any] = {}
        if failed:  # keep a known object id and hash; count the attempt
            computed["attempts"] = lambda table, new: table.c.attempts + 1
            computed["object_id"] = lambda table, new: sa.func.coalesce(
                new.object_id, table.c.object_id
            )
            update.remove("object_id")
        upsert(conn, writebacks, rows, ("crm", "kind", "key"), update, computed=computed)


def _row(
    crm: str,
    kind: str,
    key: str,
    person_id: str,
    status: str,
    now: datetime,
    object_id: str | None = None,
    error: str | None = None,
    payload_hash: str | None = None,
) -> dict[str, Any]:
    return {
        "crm": crm, "kind": kind, "key": key, "person_id": person_id, "object_id": object_id,
        "status": status, "attempts": 0, "last_error": error, "payload_hash": payload_hash,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def ledger_rows(conn: Connection, kind: str | None = None) -> list[dict[str, Any]]:
    """Every ``writebacks`` row (of ``kind``), for the summary and tests."""
    query = sa.select(writebacks).order_by(writebacks.c.kind, writebacks.c.key)
    if kind is not None:
        query = query.where(writebacks.c.kind == kind)
    return [dict(row._mapping) for row in conn.execute(query)]
