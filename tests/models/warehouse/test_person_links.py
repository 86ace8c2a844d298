"""``people_of_rows`` finds the same people as the join ``person_join`` spells out.

Scope queries (who must be classified or evaluated again) ask it for the people of the fact
rows that changed; it chooses the rows first and looks their people up by key. These tests
hold it to the join's answer on both databases: rows without a person, a person reached by
several rows, rows of another lead or email, and every kind of fact table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.person_links import people_of_rows, person_ids_where, person_join
from leadflow.models.warehouse.tables import (
    crm_status_changes,
    email_people,
    engagement_events,
    lead_people,
    leads,
    people,
    sales_touches,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OLD, NEW = T0, T0 + timedelta(days=3)  # last_changed_at of unchanged and changed rows
SINCE = T0 + timedelta(days=1)


def _stamps(changed_at: datetime) -> dict[str, Any]:
    return {
        "raw": {},
        "row_hash": "0" * 64,
        "first_loaded_at": OLD,
        "last_changed_at": changed_at,
    }


def _fill(engine: Engine) -> None:
    """Six leads (l1-l6), three with a person each, l4 with none; their events, touches and
    status changes, some changed after ``SINCE``."""
    lead_rows = [
        {"source": "hubspot", "source_lead_id": f"l{n}", "account_id": "a",
         "created_at": T0, "updated_at": T0, "is_test": False, "custom_fields": {},
         "email_match_key": f"e{n}@example.com", **_stamps(NEW if n in (1, 4, 5) else OLD)}
        for n in range(1, 7)
    ]  # fmt: skip
    people_rows = {"l1": "p_a", "l2": "p_a", "l3": "p_b", "l5": "p_c", "l6": "p_c"}
    events = [
        {"source": "mailchimp", "event_id": f"ev{n}", "account_id": "list",
         "event_type": "open", "channel": "email", "occurred_at": T0, "detail": {},
         "email_match_key": f"e{n}@example.com", **_stamps(NEW if n % 2 else OLD)}
        for n in range(1, 7)
    ]  # fmt: skip
    events.append({**events[0], "event_id": "ev-none", "email_match_key": None})
    touches = [
        {"source": "hubspot", "touch_id": f"t{n}", "lead_id": f"l{n}", "touch_type": "call",
         "occurred_at": T0, "updated_at": T0, "person_id": people_rows.get(f"l{n}"),
         **_stamps(NEW if n in (2, 4, 6) else OLD)}
        for n in range(1, 7)
    ]  # fmt: skip
    changes = [
        {"source": "hubspot", "change_id": f"c{n}", "lead_id": f"l{n}", "field": "hs_lead_status",
         "occurred_at": T0, "updated_at": T0, **_stamps(NEW if n in (3, 4, 6) else OLD)}
        for n in range(1, 7)
    ]  # fmt: skip
    changes.append({**changes[2], "change_id": "c-other-source", "source": "salesforce"})
    with engine.begin() as conn:
        conn.execute(
            people.insert(),
            [
                {"person_id": pid, "created_at": T0, "updated_at": T0}
                for pid in ("p_a", "p_b", "p_c")
            ],
        )
        conn.execute(leads.insert(), lead_rows)
        conn.execute(
            lead_people.insert(),
            [{"source": "hubspot", "source_lead_id": lead, "person_id": pid}
             for lead, pid in people_rows.items()],
        )  # fmt: skip
        conn.execute(
            email_people.insert(),
            [{"email_match_key": "e1@example.com", "person_id": "p_a"},
             {"email_match_key": "e3@example.com", "person_id": "p_b"},
             {"email_match_key": "e5@example.com", "person_id": "p_c"}],
        )  # fmt: skip
        conn.execute(engagement_events.insert(), events)
        conn.execute(sales_touches.insert(), touches)
        conn.execute(crm_status_changes.insert(), changes)


def _joined(conn: sa.Connection, table: sa.Table, where: Any) -> set[str]:
    joined, person = person_join(table)
    query = sa.select(person).select_from(joined).where(person.is_not(None), where)
    return {row[0] for row in conn.execute(query.distinct())}


def _found(conn: sa.Connection, table: sa.Table, where: Any) -> list[str | None]:
    return [row[0] for row in conn.execute(people_of_rows(table, where))]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (leads, {"p_a", "p_c"}),  # l1, l5 changed; l4 has no person
        (engagement_events, {"p_a", "p_b", "p_c"}),  # ev1, ev3, ev5 (ev-none has no email)
        (sales_touches, {"p_a", "p_c"}),  # t2, t6 (t4's lead has no person)
        (crm_status_changes, {"p_b", "p_c"}),  # c3, c6; salesforce's l3 is no lead
    ],
    ids=lambda value: getattr(value, "name", None),
)
def test_the_people_of_changed_rows_are_the_joins(
    migrated_engine: Engine, table: sa.Table, expected: set[str]
) -> None:
    _fill(migrated_engine)
    changed = table.c.last_changed_at > SINCE
    with migrated_engine.connect() as conn:
        found = _found(conn, table, changed)
        assert {pid for pid in found if pid is not None} == expected
        assert _joined(conn, table, changed) == expected
        assert len(found) == len(set(found)), "each person once"
        assert person_ids_where(conn, table, changed) == expected
        everyone = _found(conn, table, sa.true())
        assert {pid for pid in everyone if pid is not None} == _joined(conn, table, sa.true())
        assert not [pid for pid in _found(conn, table, table.c.last_changed_at > NEW) if pid]
