"""Which people a classification run must look at: those whose facts changed since the last one.

Classification is a pure function of a person's facts (leads, events, touches), the rules
and ``now``. Between two runs its answer can change only when:

- one of the person's facts was loaded or changed (``last_changed_at`` after the previous
  run's fact watermark: the largest ``last_changed_at`` it saw);
- identity moved a lead, event or touch to or from the person (``save_identity`` says who,
  and ``mark_for_classification`` clears their ``classified_at`` in identity's transaction,
  so a run that fails after identity leaves them to the next);
- a fact dated after the previous run's ``now`` is no longer in the future (classification
  ignores what happens after ``now``);
- the rules changed (then everyone is classified);
- time passed: engagement decays. Stage, lifecycle and ``qualified_at`` do not move on time
  alone (a score can only first cross its threshold at an event, and stages only move
  forward), but the stored ``engagement`` score and its reasons age, so a person with a
  non-zero score is rescored once their classification is older than ``rescore_after``.

The state (fact watermark, rules fingerprint, last ``now``) is the ``step_state`` row
``classification``, saved in the transaction of the last batch, so a run that fails part
way leaves the watermark where it was and the next run redoes what is left. Every flow
that loads facts holds the warehouse's sync lock while it loads and classifies
(``leadflow import`` and the ``import-csv`` flow too), so no load commits behind the
watermark while it is read, and a later load carries a later stamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.people.rules import Rules
from leadflow.models.records.encoding import chunks
from leadflow.models.warehouse.activity_tables import (
    crm_status_changes,
    engagement_events,
    sales_touches,
)
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people
from leadflow.models.warehouse.person_links import person_ids_where
from leadflow.models.warehouse.privacy_tables import suppression_list
from leadflow.models.warehouse.state_tables import read_step, save_step, settings_fingerprint

STEP = "classification"
FACT_TABLES = (leads, engagement_events, sales_touches, crm_status_changes)
# The column dating each fact: a fact dated after ``now`` is ignored until ``now`` passes it.
FACT_DATES = {"leads": "created_at", "engagement_events": "occurred_at",
              "sales_touches": "occurred_at", "crm_status_changes": "occurred_at"}  # fmt: skip


@dataclass(frozen=True)
class ScopeState:
    """What the previous classification run saw."""

    watermark: datetime | None
    rules: str | None
    now: datetime | None


# Bumped when what classification reads of the facts changes (2: Meta's form names reach
# the form_name hand-raisers; 3: CRM status history and sales_decisions), so warehouses
# classified before are classified again.
READER_VERSION = 3


def rules_fingerprint(rules: Rules) -> str:
    """A short hash of the rules and of ``READER_VERSION``: a different one means every
    person is classified again."""
    return f"{settings_fingerprint(rules)}.{READER_VERSION}"


def read_state(conn: Connection) -> ScopeState | None:
    """The previous run's state, or None when no run finished (classify everyone)."""
    found = read_step(conn, STEP)
    if found is None:
        return None
    watermark, state = found
    seen_now = state.get("now")
    return ScopeState(
        watermark=watermark,
        rules=state.get("rules"),
        now=datetime.fromisoformat(seen_now) if seen_now else None,
    )


def save_state(conn: Connection, watermark: datetime | None, rules: str, now: datetime) -> None:
    """Record what this run saw (in the caller's transaction, after its last batch)."""
    save_step(conn, STEP, watermark, {"rules": rules, "now": now.isoformat()}, now)


def fact_watermark(conn: Connection) -> datetime | None:
    """The latest ``last_changed_at`` of any fact: the next run looks after it."""
    latest = [
        conn.execute(sa.select(sa.func.max(t.c.last_changed_at))).scalar() for t in FACT_TABLES
    ]
    found = [moment for moment in latest if moment is not None]
    return max(found, default=None)


def touches_changed_since(conn: Connection, since: datetime) -> bool:
    """Whether a sales touch was loaded or changed after ``since`` (its person is identity's
    to set)."""
    changed = sa.exists().where(sales_touches.c.last_changed_at > since)
    return bool(conn.execute(sa.select(changed)).scalar())


def erased_since(conn: Connection, since: datetime) -> bool:
    """Whether an erasure ran after ``since`` (it deletes leads, which no later change
    dates; each adds ``suppression_list`` rows at its time)."""
    erased = sa.exists().where(suppression_list.c.suppressed_at > since)
    return bool(conn.execute(sa.select(erased)).scalar())


def changed_lead_keys(conn: Connection, since: datetime) -> set[tuple[str, str]]:
    """Leads loaded or changed after ``since``."""
    query = sa.select(leads.c.source, leads.c.source_lead_id).where(leads.c.last_changed_at > since)
    return {(source, lead_id) for source, lead_id in conn.execute(query)}


def people_to_classify(
    conn: Connection,
    state: ScopeState,
    now: datetime,
    rescore_after: timedelta,
) -> set[str]:
    """People whose classification may differ from the stored one (see the module doc)."""
    found: set[str] = set()
    for table in FACT_TABLES:
        dated = table.c[FACT_DATES[table.name]]
        when = []
        if state.watermark is not None:
            when.append(table.c.last_changed_at > state.watermark)
        if state.now is not None:
            when.append(sa.and_(dated > state.now, dated <= now))
        if when:
            found.update(person_ids_where(conn, table, sa.or_(*when)))
    p = people.c
    stale = sa.and_(p.engagement > 0, p.classified_at < now - rescore_after)
    query = sa.select(p.person_id).where(sa.or_(p.classified_at.is_(None), stale))
    found.update(_ids(conn, query))
    return found


def mark_for_classification(conn: Connection, person_ids: Iterable[str] | None) -> None:
    """Clear ``classified_at`` of ``person_ids`` (people identity just changed; None:
    everyone), in the identity's transaction: if classification then fails, the next run
    still finds them (``classified_at`` null), though identity will have nothing left to
    move."""
    p = people.c
    if person_ids is None:
        conn.execute(people.update().where(p.classified_at.is_not(None)).values(classified_at=None))
        return
    for chunk in chunks(sorted(set(person_ids))):
        statement = people.update().where(p.person_id.in_(chunk), p.classified_at.is_not(None))
        conn.execute(statement.values(classified_at=None))


def qualified_count(conn: Connection) -> int:
    """People qualified now (stage ``qualified``), classified this run or before."""
    query = sa.select(sa.func.count()).where(people.c.stage == "qualified")
    return conn.execute(query.select_from(people)).scalar_one()


def _ids(conn: Connection, query: sa.Select[Any]) -> Iterable[str]:
    return (row[0] for row in conn.execute(query))
