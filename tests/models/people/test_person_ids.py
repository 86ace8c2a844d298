"""Bulk person-id writes (leadflow.models.warehouse.bulk.update_rows, as identity uses it)
and classification writes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.people.classification_writes import save_classifications
from leadflow.models.people.classify import Classification
from leadflow.models.records.leads import Stage
from leadflow.models.warehouse.activity_tables import sales_touches
from leadflow.models.warehouse.bulk import update_rows
from leadflow.models.warehouse.people_tables import people

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _touch(touch_id: str, lead_id: str, person: str | None) -> dict[str, object]:
    return {
        "source": "hubspot", "touch_id": touch_id, "lead_id": lead_id, "touch_type": "call",
        "occurred_at": T0, "updated_at": T0, "raw": {}, "row_hash": "x" * 64,
        "first_loaded_at": T0, "last_changed_at": T0, "person_id": person,
    }  # fmt: skip


def test_sets_and_clears_person_ids_by_key_in_batches(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as conn:
        conn.execute(people.insert(), [
            {"person_id": p, "created_at": T0, "updated_at": T0} for p in ("p1", "p2", "p3")
        ])  # fmt: skip
        conn.execute(sales_touches.insert(), [
            _touch("t1", "L1", "p1"), _touch("t2", "L1", "p1"), _touch("t3", "L2", "p1"),
            _touch("t4", "L3", "p3"), _touch("t5", "L4", None),
        ])  # fmt: skip
        rows = [("hubspot", "L1", "p2"), ("hubspot", "L2", None), ("hubspot", "L4", "p3"),
                ("hubspot", "L9", "p1")]  # fmt: skip
        key = ("source", "lead_id")
        count = update_rows(conn, sales_touches, key, ("person_id",), rows, batch=3)
    assert count == 4  # keys given, whatever matched
    with migrated_engine.connect() as conn:
        t = sales_touches
        found = dict(conn.execute(sa.select(t.c.touch_id, t.c.person_id)).all())
    assert found == {"t1": "p2", "t2": "p2", "t3": None, "t4": "p3", "t5": "p3"}


def test_classifications_are_stored_alike_on_both_databases(migrated_engine: Engine) -> None:
    """save_classifications (one UPDATE ... FROM unnest per batch on PostgreSQL) stores
    every classification column as read back, None, integer scores and lists included."""
    later = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    with migrated_engine.begin() as conn:
        conn.execute(people.insert(), [
            {"person_id": p, "created_at": T0, "updated_at": T0} for p in ("p1", "p2")
        ])  # fmt: skip
        results = [
            ("p1", Classification(Stage.QUALIFIED, "mql", "hubspot:lead", 40, 2,
                                  ("channel:paid", "fit:é"), T0, True, (), later), []),
            ("p2", Classification(Stage.COLD, "lead", None, None, 0.25, (), None, True, (),
                                  None), []),
        ]  # fmt: skip
        assert save_classifications(conn, results, later, "r1") == 0
    columns = ("stage", "lifecycle", "raw_stage", "fit", "engagement", "reasons",
               "qualified_at", "lifecycle_at", "classified_at")  # fmt: skip
    with migrated_engine.connect() as conn:
        rows = conn.execute(sa.select(people.c.person_id, *(people.c[c] for c in columns)))
        found = {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}
    assert found["p1"] == {
        "stage": "qualified", "lifecycle": "mql", "raw_stage": "hubspot:lead", "fit": 40,
        "engagement": 2.0, "reasons": ["channel:paid", "fit:é"], "qualified_at": T0,
        "lifecycle_at": later, "classified_at": later,
    }  # fmt: skip
    assert found["p2"] == {
        "stage": "cold", "lifecycle": "lead", "raw_stage": None, "fit": None,
        "engagement": 0.25, "reasons": [], "qualified_at": None, "lifecycle_at": None,
        "classified_at": later,
    }  # fmt: skip
