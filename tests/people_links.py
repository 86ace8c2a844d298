"""Test helpers: whose is a lead or an event, now that a lead's person lives in
``lead_people`` and an email's in ``email_people`` (revision 0014)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from leadflow.models.warehouse.tables import email_people, engagement_events, lead_people, leads


def _rows(bind: Connection | Engine, query: sa.Select[Any]) -> list[Any]:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return list(conn.execute(query))
    return list(bind.execute(query))


def lead_person_ids(bind: Connection | Engine) -> dict[tuple[str, str], str | None]:
    """Every lead's person id (None: the lead has no person), by (source, source_lead_id)."""
    lp = lead_people.c
    on = sa.and_(lp.source == leads.c.source, lp.source_lead_id == leads.c.source_lead_id)
    query = sa.select(leads.c.source, leads.c.source_lead_id, lp.person_id).select_from(
        leads.outerjoin(lead_people, on)
    )
    return {(source, lead_id): pid for source, lead_id, pid in _rows(bind, query)}


def lead_person_id(bind: Connection | Engine, source: str, lead_id: str) -> str | None:
    """One lead's person id (None: none)."""
    return lead_person_ids(bind).get((source, lead_id))


def event_person_ids(bind: Connection | Engine) -> dict[tuple[str, str], str | None]:
    """Every engagement event's person id (its email's), by (source, event_id)."""
    e, ep = engagement_events.c, email_people.c
    query = sa.select(e.source, e.event_id, ep.person_id).select_from(
        engagement_events.outerjoin(email_people, ep.email_match_key == e.email_match_key)
    )
    return {(source, event_id): pid for source, event_id, pid in _rows(bind, query)}


def link_leads(conn: Connection, persons: Mapping[tuple[str, str], str] | Iterable[Any]) -> None:
    """Point leads at people directly (what identity resolution would write): a mapping
    of (source, source_lead_id) to person id, or rows of (source, source_lead_id, person_id)."""
    items = persons.items() if isinstance(persons, Mapping) else persons
    rows = [
        {"source": key[0], "source_lead_id": key[1], "person_id": pid}
        for key, pid in ((tuple(item[:2]), item[2]) if len(item) == 3 else item for item in items)
    ]
    if rows:
        conn.execute(sa.insert(lead_people), rows)
