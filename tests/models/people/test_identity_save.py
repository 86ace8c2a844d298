"""A full identity save (``identity_store.save_identity`` without ``changed``): people rows
written once with their profiles, leads re-pointed from a staged table, what it counts and
what it refuses, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.leads import load_batch
from leadflow.models.people import identity_store
from leadflow.models.people.identity import resolve
from leadflow.models.people.identity_store import (
    read_lead_keys,
    read_previous_person_ids,
    save_identity,
)
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse import indexes
from leadflow.models.warehouse.people_tables import email_people, lead_people, people
from tests.people_links import lead_person_ids

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _lead(lead_id: str, **kw: Any) -> Lead:
    values: dict[str, Any] = {
        "source": "meta", "source_lead_id": lead_id, "account_id": "a1", "created_at": T0,
        "updated_at": T0, "raw": {"id": lead_id},
    }  # fmt: skip
    return Lead(**(values | kw))


def _load(engine: Engine, batch: list[Lead]) -> None:
    with engine.begin() as conn:
        load_batch(
            conn, source="meta", account_id="a1", leads=batch, rejected=[], watermark=None,
            cursor=None, now=T0,
        )  # fmt: skip


def _save(engine: Engine, now: datetime, run_id: str) -> Any:
    with engine.begin() as conn:
        keys = read_lead_keys(conn)
        resolution = resolve(keys, read_previous_person_ids(conn))
        return save_identity(conn, resolution, now, run_id)


def _people(engine: Engine) -> dict[str, tuple[Any, ...]]:
    columns = (people.c.email_match_key, people.c.first_name, people.c.updated_at)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(people.c.person_id, *columns)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_a_second_full_save_counts_new_people_and_changed_profiles(
    migrated_engine: Engine,
) -> None:
    _load(migrated_engine, [
        _lead("m1", email_match_key="a@x.io", first_name="Ada"),
        _lead("m2", email_match_key="b@x.io", first_name="Bo"),
    ])  # fmt: skip
    first = _save(migrated_engine, T0, "r1")
    assert (first.people, first.new_people, first.changed_profiles, first.leads) == (2, 2, 0, 2)
    later = T0 + timedelta(hours=1)
    _load(migrated_engine, [
        _lead("m2", email_match_key="b@x.io", first_name="Bob", updated_at=later),
        _lead("m3", email_match_key="c@x.io", first_name="Cy"),
    ])  # fmt: skip
    second = _save(migrated_engine, later, "r2")
    assert (second.people, second.new_people, second.changed_profiles, second.leads) == (
        3, 1, 1, 1,
    )  # fmt: skip
    found = sorted(_people(migrated_engine).values(), key=str)
    assert found == [
        ("a@x.io", "Ada", T0), ("b@x.io", "Bob", later), ("c@x.io", "Cy", later),
    ]  # fmt: skip
    again = _save(migrated_engine, later + timedelta(hours=1), "r3")
    assert (again.new_people, again.changed_profiles, again.leads) == (0, 0, 0)


def test_a_lead_left_out_of_the_resolution_is_refused(migrated_engine: Engine) -> None:
    _load(migrated_engine, [_lead("m1", email_match_key="a@x.io"), _lead("m2")])
    _save(migrated_engine, T0, "r1")
    with migrated_engine.connect() as conn:
        partial = resolve([k for k in read_lead_keys(conn) if k.source_lead_id == "m1"])
    with pytest.raises(ValueError, match="'m2'"), migrated_engine.begin() as conn:
        save_identity(conn, partial, T0, "r2")
    # The failed save left nothing behind: the next one runs and writes nothing new.
    assert _save(migrated_engine, T0, "r3").leads == 0
    assert None not in lead_person_ids(migrated_engine).values()


PEOPLE_TABLES = (people, lead_people, email_people)


def _indexes(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {
            t.name: sorted(i["name"] for i in inspector.get_indexes(t.name)) for t in PEOPLE_TABLES
        }


def _declared() -> dict[str, list[str]]:
    return {t.name: sorted(str(i.name) for i in t.indexes) for t in PEOPLE_TABLES}


def test_a_first_save_builds_the_indexes_once_each_table_is_filled(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(migrated_engine, [
        _lead("m1", email_match_key="a@x.io", phone="+14155550101"),
        _lead("m2", email_match_key="b@x.io"),
    ])  # fmt: skip
    built: dict[str, list[str]] = {}
    create = identity_store.create_secondary_indexes

    def spy(conn: Any, table: sa.Table, found: Any) -> None:
        names = sorted(str(index.name) for index in found)
        if names:
            present = {index["name"] for index in sa.inspect(conn).get_indexes(table.name)}
            rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            assert not present & set(names) and rows == 2  # filled without them
            built[table.name] = names
        create(conn, table, found)

    monkeypatch.setattr(identity_store, "create_secondary_indexes", spy)
    _save(migrated_engine, T0, "r1")
    # Only into empty tables: a second save defers nothing.
    assert built == _declared()
    built.clear()
    _load(migrated_engine, [_lead("m3", email_match_key="c@x.io")])
    _save(migrated_engine, T0 + timedelta(hours=1), "r2")
    assert built == {}
    assert _indexes(migrated_engine) == _declared()


def test_a_first_save_that_fails_leaves_the_indexes_in_place(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(migrated_engine, [_lead("m1", email_match_key="a@x.io")])

    def fails(*_: Any, **__: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(identity_store, "repoint_events", fails)
    with pytest.raises(RuntimeError, match="went away"):
        _save(migrated_engine, T0, "r1")
    assert _indexes(migrated_engine) == _declared()  # the drop was rolled back with the rows
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(people)).scalar_one() == 0
    monkeypatch.undo()
    assert _save(migrated_engine, T0, "r2").new_people == 1


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)  # table locks
def test_a_people_table_someone_reads_keeps_its_indexes_for_the_run(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(migrated_engine, [_lead("m1", email_match_key="a@x.io")])
    monkeypatch.setattr(indexes, "DROP_LOCK_SECONDS", 0.2)
    settings: list[str] = []
    defer = identity_store.defer_while_empty

    def spy(conn: Any, *tables: sa.Table) -> Any:
        found = defer(conn, *tables)
        settings.append(conn.exec_driver_sql("SHOW lock_timeout").scalar_one())
        return found

    monkeypatch.setattr(identity_store, "defer_while_empty", spy)
    with migrated_engine.connect() as reader, reader.begin():
        reader.execute(sa.select(people.c.person_id)).all()  # holds people's share lock
        with migrated_engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '7s'")
            keys = read_lead_keys(conn)
            resolution = resolve(keys, read_previous_person_ids(conn))
            # The reader does block a drop:
            with pytest.raises(sa.exc.OperationalError), conn.begin_nested():
                conn.exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
                conn.exec_driver_sql("DROP INDEX ix_people_phone")
            conn.exec_driver_sql("SET LOCAL lock_timeout = '7s'")
            counts = save_identity(conn, resolution, T0, "r1")
    assert counts.new_people == 1
    assert settings == ["7s"]  # the transaction's own lock timeout, after the drops
    assert _indexes(migrated_engine) == _declared()


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)  # table locks
def test_a_reader_of_two_people_tables_is_not_deadlocked_by_a_first_save(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BI query holding lead_people and then asking for people, while a first save
    defers the indexes of both: the save must not wait for one while holding the other
    (PostgreSQL's deadlock check, after 1 s, would abort one of the two)."""
    _load(migrated_engine, [_lead("m1", email_match_key="a@x.io")])
    monkeypatch.setattr(indexes, "DROP_LOCK_SECONDS", 3.0)  # longer than deadlock_timeout
    deferring = threading.Event()
    defer = identity_store.defer_while_empty

    def spy(conn: Any, *tables: sa.Table) -> Any:
        deferring.set()
        return defer(conn, *tables)

    monkeypatch.setattr(identity_store, "defer_while_empty", spy)
    saved: list[Any] = []
    failed: list[BaseException] = []

    def first_save() -> None:
        try:
            saved.append(_save(migrated_engine, T0, "r1"))
        except BaseException as error:  # reported by the test below
            failed.append(error)

    with migrated_engine.connect() as reader, reader.begin():
        reader.execute(sa.select(lead_people.c.person_id)).all()  # lead_people's share lock
        thread = threading.Thread(target=first_save)
        thread.start()
        assert deferring.wait(30)
        time.sleep(0.3)  # the save is asking for the tables' locks now
        reader.execute(sa.select(people.c.person_id)).all()  # and now people's
    thread.join(60)
    assert failed == []
    assert saved[0].new_people == 1
    assert _indexes(migrated_engine) == _declared()


# One lead each (distinct emails): groups whole, partly empty, empty-text only, or missing.
ONE_LEAD_FIELDS = [
    {"first_name": "", "last_name": "Lovelace", "company": "0", "city": ""},
    {"first_name": "", "last_name": None, "job_title": "CTO", "country": "DE"},
    {"phone": "+14155550101", "first_name": "Ada", "country": "", "city": "Köln"},
    {"company": "", "job_title": "", "city": None},
]


def test_one_lead_profiles_written_in_the_database_match_profile_values(
    migrated_engine: Engine,
) -> None:
    """People with one lead get their profile from one INSERT ... SELECT; it must be
    exactly what ``profile_values`` builds from that lead, first save and later ones."""
    from leadflow.models.people.profile import ProfileLead, profile_values
    from leadflow.models.people.profile_store import PROFILE_COLUMNS, PROFILE_READ
    from leadflow.models.warehouse.lead_tables import leads

    batch = [
        _lead(f"m{i}", email=f"p{i}@x.io", email_match_key=f"p{i}@x.io", **fields)
        for i, fields in enumerate(ONE_LEAD_FIELDS)
    ]
    _load(migrated_engine, [*batch, _lead("m9", email_match_key="p0@x.io", first_name="Al")])

    def check() -> None:
        with migrated_engine.connect() as conn:
            read = [leads.c[name] for name in PROFILE_READ]
            found = {row[1]: ProfileLead(*row) for row in conn.execute(sa.select(*read))}
            lead_ids = {row[0]: row[1] for row in conn.execute(
                sa.select(lead_people.c.person_id, lead_people.c.source_lead_id)
                .where(lead_people.c.source_lead_id != "m9")
            )}  # fmt: skip
            stored = conn.execute(
                sa.select(people.c.person_id, *(people.c[name] for name in PROFILE_COLUMNS))
            ).all()
        singles = {pid: tuple(rest) for pid, *rest in stored if lead_ids.get(pid) != "m0"}
        assert len(singles) == len(ONE_LEAD_FIELDS) - 1
        for pid, profile in singles.items():
            assert profile == profile_values([found[lead_ids[pid]]]), lead_ids[pid]

    first = _save(migrated_engine, T0, "r1")
    assert (first.people, first.new_people, first.changed_profiles, first.leads) == (4, 4, 0, 5)
    check()
    later = T0 + timedelta(hours=1)
    _load(migrated_engine, [
        _lead("m1", email="p1@x.io", email_match_key="p1@x.io", first_name="Bo",
              updated_at=later),
        _lead("m3", email="p3@x.io", email_match_key="p3@x.io", company="", job_title="",
              city=None),
    ])  # fmt: skip
    second = _save(migrated_engine, later, "r2")
    assert (second.new_people, second.changed_profiles) == (0, 1)
    check()
