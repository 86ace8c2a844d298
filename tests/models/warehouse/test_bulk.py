"""Bulk writes through the driver store what SQLAlchemy would, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.bulk import (
    bound_rows,
    insert_rows,
    temp_table,
    update_rows,
    update_staged,
)
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


def test_inserts_without_a_key_store_what_an_upsert_does(migrated_engine: Engine) -> None:
    """Without a key, PostgreSQL copies the rows in binary: the same values come back."""
    names = ("person_id", "created_at", "updated_at", "engagement", "reasons", "qualified_at",
             "fit", "first_name")  # fmt: skip
    later = T0.astimezone(ELSEWHERE) + timedelta(hours=1)
    rows = [("p1", T0, T0, 2, ["a:b", "c"], later, 7, "Ada"),
            ("p2", T0, T0, None, "just text", None, None, None)]  # fmt: skip
    with migrated_engine.begin() as conn:
        assert insert_rows(conn, people, names, rows, batch=1) == 2
        again = [("q" + pid[1:], *rest) for pid, *rest in rows]
        assert insert_rows(conn, people, names, again, key=("person_id",)) == 2
        query = sa.select(*(people.c[n] for n in names)).order_by(people.c.person_id)
        stored = [tuple(row[1:]) for row in conn.execute(query)]
        same = sa.select(sa.func.count()).where(people.c.qualified_at == later)
        assert conn.execute(same.select_from(people)).scalar_one() == 2
    copied, upserted = stored[:2], stored[2:]
    assert copied == upserted
    assert copied[0][2:] == (2.0, ["a:b", "c"], later, 7, "Ada") and copied[1][3] == "just text"


@pytest.mark.parametrize("key", [(), ("person_id",)], ids=["insert", "upsert"])
def test_rows_bound_elsewhere_store_what_the_values_do(
    migrated_engine: Engine, key: tuple[str, ...]
) -> None:
    """``bound_rows`` (made in another process) then ``bound=True``, copied or upserted,
    and staged in a temporary table: the rows read back as the plain values' rows do."""
    names = ("person_id", "created_at", "updated_at", "engagement", "reasons", "qualified_at",
             "fit", "first_name")  # fmt: skip
    later = T0.astimezone(ELSEWHERE) + timedelta(hours=1)
    rows = [("p1", T0, T0, 2, ["a:b", "c"], later, 7, "Ada"),
            ("p2", T0, T0, None, {"n": 1, "ok": True}, None, None, None)]  # fmt: skip
    dialect = migrated_engine.dialect.name
    bound = bound_rows(dialect, people, names, rows)
    assert bound_rows(dialect, people, names, []) == []
    columns = [(name, people.c[name].type) for name in names]
    with migrated_engine.begin() as conn:
        assert insert_rows(conn, people, names, bound, key=key, bound=True) == 2
        again = [("q" + pid[1:], *rest) for pid, *rest in rows]
        assert insert_rows(conn, people, names, again, key=key) == 2
        with temp_table(conn, "staged", columns, bound, bound=True) as staged:
            copied = conn.execute(sa.select(staged).order_by(staged.c.person_id)).all()
        query = sa.select(*(people.c[n] for n in names)).order_by(people.c.person_id)
        stored = [tuple(row[1:]) for row in conn.execute(query)]
        same = sa.select(sa.func.count()).where(people.c.qualified_at == later)
        assert conn.execute(same.select_from(people)).scalar_one() == 2
    assert stored[:2] == stored[2:] == [tuple(row[1:]) for row in copied]
    assert stored[1][3] == {"n": 1, "ok": True} and stored[0][4] == later


def test_staged_rows_update_every_row_of_a_shared_key_and_go_away(
    migrated_engine: Engine,
) -> None:
    names = ("person_id", "created_at", "updated_at", "email_match_key")
    with migrated_engine.begin() as conn:
        insert_rows(conn, people, ("person_id", "created_at", "updated_at"), [("p9", T0, T0)])
        rows = [("p1", T0, T0, "a@x.io"), ("p2", T0, T0, "a@x.io"), ("p3", T0, T0, "b@x.io"),
                ("p4", T0, T0, "c@x.io")]  # fmt: skip
        insert_rows(conn, people, names, rows)
        given = [("a@x.io", "Ada"), ("b@x.io", None), ("z@x.io", "Zed")]
        assert update_staged(conn, people, ("email_match_key",), ("first_name",), given) == 3
        assert update_staged(conn, people, ("email_match_key",), ("last_name",), []) == 0
        found = dict(conn.execute(sa.select(people.c.person_id, people.c.first_name)).all())
        columns = [("k", sa.String()), ("n", sa.Integer())]
        with temp_table(conn, "staged_test", columns, [("a", 1), ("b", 2)], key=("k",)) as t:
            assert t.info["rows"] == 2
            assert conn.execute(sa.select(sa.func.sum(t.c.n))).scalar_one() == 3
        with temp_table(conn, "staged_test", columns, [("c", 5)], key=("k",)) as t:
            assert conn.execute(sa.select(sa.func.sum(t.c.n))).scalar_one() == 5
        with pytest.raises(sa.exc.DBAPIError):
            conn.exec_driver_sql("SELECT count(*) FROM staged_test")
    assert found == {"p1": "Ada", "p2": "Ada", "p3": None, "p4": None, "p9": None}


def test_json_lists_are_encoded_as_json_dumps_does() -> None:
    from leadflow.models.warehouse.bulk import _json_texts

    values = [["fit:a", "x"], [], ["fit:a", "x"], ["é\u2028\"\\"], [1], [True], ["1"], [1.0],
              [0.0], [-0.0], ["a", None], [["a"]], [{"a": 1}], ["a"], ["a", "a"], ["x", "fit:a"],
              None, ("a",), ["é\u2028\"\\"], [True], [1]]  # fmt: skip
    assert _json_texts(values) == [None if v is None else json.dumps(v) for v in values]
