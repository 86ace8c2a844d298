"""The data-quality suite on SQLite and PostgreSQL: each check fails on a seeded bad row, by id."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leadflow.models.warehouse.tables import email_people, lead_people, sla_evaluations

from .conftest import NOW

CHECKS = [
    ("lead_keys_unique", "leads"),
    ("lead_has_email_or_phone", "leads"),
    ("lead_created_not_in_future", "leads"),
    ("person_id_unique", "people"),
    ("lifecycle_known", "people"),
    ("stage_known", "people"),
    ("lead_person_known", "lead_people"),
    ("email_person_known", "email_people"),
    ("sla_status_known", "sla_evaluations"),
]


def outcome(report, name):
    [found] = [q for q in report.quality if q.expectation == name]
    return found


def failing(report):
    return {
        q.expectation: (q.unexpected_count, q.sample_ids) for q in report.quality if not q.success
    }


def _drop_primary_key(engine, table):
    """Let the test seed a duplicate key, which the warehouse's primary key would refuse."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table} CASCADE")
        return
    # SQLite cannot drop a primary key: rebuild the table without it. Foreign keys off, and
    # the legacy rename, which leaves the views that read the table alone.
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        conn.exec_driver_sql("PRAGMA legacy_alter_table = ON")
        conn.exec_driver_sql(f"CREATE TABLE {table}_loose AS SELECT * FROM {table}")
        conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql(f"ALTER TABLE {table}_loose RENAME TO {table}")
        conn.commit()
        conn.exec_driver_sql("PRAGMA legacy_alter_table = OFF")
        conn.exec_driver_sql("PRAGMA foreign_keys = ON")


def test_every_check_passes_on_clean_data_with_unclassified_people(warehouse):
    warehouse.leads({"id": "l1"}, {"id": "l2", "email": None, "phone": "+15550100"})
    warehouse.people("p1", stage="qualified", lifecycle="mql")
    warehouse.people("p2")  # not classified yet: null stage and lifecycle are allowed
    links = [("l1", "p1"), ("l2", "p2")]
    warehouse.insert(
        lead_people,
        [{"source": "meta", "source_lead_id": lead, "person_id": pid} for lead, pid in links],
    )
    warehouse.insert(email_people, [{"email_match_key": "l1@example.com", "person_id": "p1"}])
    warehouse.evaluations("first_touch", {"p1": "met", "p2": "pending"})

    report = warehouse.check()

    assert [(q.expectation, q.table) for q in report.quality] == CHECKS
    assert failing(report) == {}
    assert report.failed() == []


def test_lead_without_email_or_phone(warehouse):
    warehouse.leads(
        {"id": "ok", "email": None, "phone": "+15550100"},
        {"id": "none", "email": None},
        {"id": "blank", "email": "", "phone": ""},
    )

    report = warehouse.check()

    assert failing(report) == {"lead_has_email_or_phone": (2, ["meta:blank", "meta:none"])}
    assert report.failed() == ["quality:lead_has_email_or_phone"]


def test_lead_created_in_the_future_beyond_the_clock_skew(warehouse):
    skew = timedelta(minutes=5)
    warehouse.leads(
        {"id": "at-limit", "created_at": NOW + skew},
        {"id": "past-limit", "created_at": NOW + skew + timedelta(microseconds=1)},
        {"id": "next-day", "created_at": NOW + timedelta(days=1)},
    )

    report = warehouse.check()

    assert failing(report) == {
        "lead_created_not_in_future": (2, ["meta:next-day", "meta:past-limit"])
    }


def test_duplicate_lead_keys(warehouse, migrated_engine):
    _drop_primary_key(migrated_engine, "leads")
    warehouse.leads({"id": "l1"}, {"id": "l2"})
    warehouse.leads({"id": "l2"})

    report = warehouse.check()

    assert failing(report) == {"lead_keys_unique": (1, ["meta:l2"])}  # keys, not rows


def test_duplicate_person_ids(warehouse, migrated_engine):
    _drop_primary_key(migrated_engine, "people")
    warehouse.people("p1", "p2")
    sqlite = migrated_engine.dialect.name == "sqlite"
    with migrated_engine.connect() as conn:
        if sqlite:  # SQLite refuses rows in a table foreign keys reference by a non-unique key
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        conn.execute(
            sa.text(
                "INSERT INTO people (person_id, created_at, updated_at) SELECT person_id, created_at, updated_at FROM people WHERE person_id = 'p2'"
            )
        )
        conn.commit()
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys = ON")

    report = warehouse.check()

    assert failing(report) == {"person_id_unique": (1, ["p2"])}


@pytest.mark.parametrize(
    ("column", "check"),
    [
        pytest.param("lifecycle", "lifecycle_known", id="lifecycle"),
        pytest.param("stage", "stage_known", id="stage"),
    ],
)
def test_unknown_stage_values(warehouse, column, check):
    warehouse.people("good", **{column: "qualified" if column == "stage" else "sql"})
    warehouse.people("bad", **{column: "customer"})
    warehouse.people("unclassified")

    report = warehouse.check()

    assert failing(report) == {check: (1, ["bad"])}


def test_lead_and_email_people_pointing_at_nothing(warehouse):
    """The narrow person tables have no foreign keys: a row whose lead is gone (or is a test
    lead) or whose person is gone is reported, by lead key or person id, never by email."""
    warehouse.leads({"id": "l1"}, {"id": "t1", "is_test": True})
    warehouse.people("p1")
    rows = [("l1", "p1"), ("l2", "p1"), ("t1", "p1"), ("l1x", "gone")]
    warehouse.insert(
        lead_people,
        [{"source": "meta", "source_lead_id": lead, "person_id": pid} for lead, pid in rows],
    )
    keys = [("l1@example.com", "p1"), ("old@example.com", "gone")]
    warehouse.insert(
        email_people, [{"email_match_key": key, "person_id": pid} for key, pid in keys]
    )

    report = warehouse.check()

    assert failing(report) == {
        "lead_person_known": (3, ["meta:l1x", "meta:l2", "meta:t1"]),
        "email_person_known": (1, ["gone"]),
    }
    assert "example.com" not in repr(report.quality)


def test_unknown_sla_status(warehouse, migrated_engine):
    warehouse.evaluations("first_touch", {"p1": "met", "p2": "met"})
    with migrated_engine.begin() as conn:
        if migrated_engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "ALTER TABLE sla_evaluations DROP CONSTRAINT ck_sla_evaluations_status"
            )
        else:
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        conn.execute(
            sla_evaluations.update()
            .where(sla_evaluations.c.person_id == "p2")
            .values(status="late")
        )

    report = warehouse.check()

    assert failing(report) == {"sla_status_known": (1, ["first_touch:p2"])}


def test_quality_failures_are_warnings_unless_asked_otherwise(warehouse):
    warehouse.people("bad", stage="hot")

    default = warehouse.check()
    strict = warehouse.check(quality_severity="critical")

    assert default.failed("critical") == []
    assert default.failed("warning") == ["quality:stage_known"]
    assert strict.failed("critical") == ["quality:stage_known"]


def test_counts_are_complete_while_sample_ids_are_capped(warehouse):
    warehouse.leads(*({"id": f"l{i:02d}", "email": None} for i in range(25)))
    warehouse.people(*(f"p{i:02d}" for i in range(25)), stage="hot")

    report = warehouse.check()

    for name in ("lead_has_email_or_phone", "stage_known"):
        found = outcome(report, name)
        assert found.unexpected_count == 25
        assert len(found.sample_ids) == 20
        assert found.sample_ids == sorted(found.sample_ids)
    assert set(outcome(report, "lead_has_email_or_phone").sample_ids) < {
        f"meta:l{i:02d}" for i in range(25)
    }
