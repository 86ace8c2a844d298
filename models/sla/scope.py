"""Which people an SLA evaluation must look at again: whose SLA facts changed since the last.

An evaluation (rule, person, qualification) is a function of the person's qualifications,
decisions (person_milestones), touches, owner and fit, the rep's team, the settings and
``now``. Met and breached are final for unchanged facts; only a pending one whose deadline
has passed moves with time (one without a deadline, ``sales_acceptance`` waiting for a
decision, waits for a fact). So a run re-evaluates the people who have a pending evaluation
past its deadline, were classified since the last run (qualifications, decisions and fit
come from classification), or have touches or leads (the owner) loaded or changed since
then. Anything else changed (the SLA settings or the default time zone, or any sales rep's
team) re-evaluates everyone, as does a first run.

The marks (the latest ``people.classified_at``, ``sales_touches.last_changed_at``,
``leads.last_changed_at`` and ``sales_reps.last_changed_at`` seen) and the settings'
fingerprint are the ``step_state`` row ``sla``, saved in the evaluation's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.sla.config import SlaSettings
from leadflow.models.warehouse.activity_tables import sales_reps, sales_touches
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people
from leadflow.models.warehouse.person_links import person_ids_where
from leadflow.models.warehouse.sla_tables import sla_evaluations
from leadflow.models.warehouse.state_tables import read_step, save_step, settings_fingerprint

STEP = "sla"
# What each mark watches: (table, column, whether its rows name a person: their own
# person_id, or a lead's through lead_people, ``person_links.people_of_rows``).
MARKS: dict[str, tuple[sa.Table, str, bool]] = {
    "classified": (people, "classified_at", True),
    "touches": (sales_touches, "last_changed_at", True),
    "leads": (leads, "last_changed_at", True),
    "reps": (sales_reps, "last_changed_at", False),
}


def fingerprint(sla: SlaSettings, default_zone: str) -> str:
    """A short hash of what evaluations depend on in the settings."""
    return settings_fingerprint(sla, exclude={"webhook_url", "data_docs_dir"}, extra=default_zone)


def read_marks(conn: Connection) -> dict[str, datetime | None]:
    """The latest instant of each mark's column in the warehouse now."""
    marks = {}
    for name, (table, column, _) in MARKS.items():
        marks[name] = conn.execute(sa.select(sa.func.max(table.c[column]))).scalar()
    return marks


def people_to_evaluate(
    conn: Connection, sla_fingerprint: str, current: dict[str, datetime | None], now: datetime
) -> set[str] | None:
    """The people to evaluate again, or None for everyone (see the module doc).
    ``current`` is :func:`read_marks` now."""
    found = read_step(conn, STEP)
    state: dict[str, Any] = found[1] if found else {}
    if state.get("fingerprint") != sla_fingerprint:
        return None
    seen = {name: _moment(state.get(name)) for name in MARKS}
    people_ids: set[str] = set()
    for name, (table, column, person) in MARKS.items():
        since = seen[name]
        if not person:  # a rep (their team) changed: every evaluation of theirs may move
            if current[name] != since:
                return None
            continue
        if current[name] is None or current[name] == since:
            continue
        changed = table.c[column] > since if since is not None else sa.true()
        people_ids.update(person_ids_where(conn, table, changed))
    e = sla_evaluations
    overdue = sa.and_(e.c.status == "pending", e.c.due_at.is_not(None), e.c.due_at <= now)
    pending = sa.select(e.c.person_id).where(overdue).distinct()
    people_ids.update(row[0] for row in conn.execute(pending))
    return people_ids


def save_marks(
    conn: Connection, marks: dict[str, datetime | None], sla_fingerprint: str, now: datetime
) -> None:
    """Record what this evaluation saw (in its transaction)."""
    state = {name: moment.isoformat() if moment else None for name, moment in marks.items()}
    save_step(conn, STEP, None, {**state, "fingerprint": sla_fingerprint}, now)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
