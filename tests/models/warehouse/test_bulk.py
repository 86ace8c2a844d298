"""Bulk writes through the driver store what SQLAlchemy would, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.bulk import insert_rows, update_rows
from leadflow.models.warehouse.people_tables import people, stage_transitions

T0 = datetime(2026, 3, 2, 9, 30, 15, 250_000, tzinfo=UTC)
ELSEWHERE = timezone(timedelta(hours=-5))


def test_inserts_skip_or_update_conflicts_and_count_what_they_wrote(
    migrated_engine: Engine,
) -> None:
    names = ("person_id", "first_name", "created_at", "updated_at")
    with migrated_engine.begin() as conn:
        rows = [("p1", "Ada", T0, T0), ("p2", None, T0, T0)]
        assert insert_rows(conn, people, names, rows, key=("person_id",), batch=1) == 2
        again = [("p1", "Bo", T0, T0), ("p3", "Cy", T0, T0)]
        assert insert_rows(conn, people, names, again, key=("person_id",)) == 1  # p1 kept
        assert insert_rows(conn, people, names, [("p2", "Di", T0, T0)], key=("person_id",),
                           update=("first_name",)) == 1  # fmt: skip
        found = dict(conn.execute(sa.select(people.c.person_id, people.c.first_name)).all())
    assert found == {"p1": "Ada", "p2": "Di", "p3": "Cy"}


def test_times_json_and_floats_read_back_as_written(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as conn:
        insert_rows(conn, people, ("person_id", "created_at", "updated_at"), [("p1", T0, T0)])
        later = T0.astimezone(ELSEWHERE) + timedelta(hours=1)
        columns = ("engagement", "reasons", "qualified_at", "fit")
        update_rows(conn, people, ("person_id",), columns, [("p1", 2, ["a:b", "c"], later, 7)])
        update_rows(conn, people, ("person_id",), ("first_name",), [("nobody", "x")])
        row = conn.execute(sa.select(people).where(people.c.person_id == "p1")).mappings().one()
        # Compared in SQL against a value SQLAlchemy binds: the stored text must agree.
        same = sa.select(sa.func.count()).where(people.c.qualified_at == later)
        assert conn.execute(same.select_from(people)).scalar_one() == 1
    assert row["qualified_at"] == later and row["qualified_at"].utcoffset() == timedelta(0)
    assert (row["engagement"], row["reasons"], row["fit"]) == (2.0, ["a:b", "c"], 7)


def test_a_conflict_key_with_an_autoincrement_id(migrated_engine: Engine) -> None:
    names = ("person_id", "to_stage", "to_lifecycle", "at", "reasons", "run_id", "recorded_at")
    with migrated_engine.begin() as conn:
        insert_rows(conn, people, ("person_id", "created_at", "updated_at"), [("p1", T0, T0)])
        row = ("p1", "qualified", "mql", T0, [], "r1", T0)
        key = ("person_id", "to_lifecycle", "at")
        assert insert_rows(conn, stage_transitions, names, [row], key=key) == 1
        assert insert_rows(conn, stage_transitions, names, [row], key=key) == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(stage_transitions)).scalar() == 1


def test_naive_times_are_refused(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as conn, pytest.raises(ValueError, match="naive"):
        naive = T0.replace(tzinfo=None)
        insert_rows(conn, people, ("person_id", "created_at", "updated_at"), [("p", naive, T0)])
