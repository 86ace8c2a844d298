"""The schema: tables.py and the Alembic migrations agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.engine import create_engine, redact_url, unprepared
from leadflow.models.warehouse.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    upgrade,
)
from leadflow.models.warehouse.tables import (
    UTCDateTime,
    campaigns,
    leads,
    metadata,
    stage_transitions,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)

TABLES = {
    "leads",
    "people",
    "sync_state",
    "sync_runs",
    "quarantine",
    "campaigns",
    "ad_spend_daily",
    "engagement_events",
    "sales_touches",
    "sales_reps",
    "person_merges",
    "stage_transitions",
    "sla_evaluations",
    "sla_results",
    "suppression_list",
    "step_state",
}
ACTIVITY_TABLES = {"engagement_events", "sales_touches", "sales_reps"}
HEAD = "0007"
PEOPLE_STAGES_TABLES = {"person_merges", "stage_transitions"}
SLA_TABLES = {"sla_evaluations", "sla_results"}
BI_TABLES = {"suppression_list"}
STATE_TABLES = {"step_state"}  # 0007
PRAGMAS = ("journal_mode", "busy_timeout", "foreign_keys")
ONLY_POSTGRESQL = pytest.mark.parametrize(
    "warehouse_url",
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_migration_creates_all_tables(migrated_engine: Engine) -> None:
    names = set(sa.inspect(migrated_engine).get_table_names())
    assert names == TABLES | {"alembic_version"}
    assert current_revision(migrated_engine) == HEAD


def test_migrated_database_matches_metadata(migrated_engine: Engine) -> None:
    assert schema_diff(migrated_engine) == []


def test_schema_diff_notices_drift(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_leads_phone")
    assert schema_diff(migrated_engine) != []


def test_upgrade_twice_is_a_noop(warehouse_url: str) -> None:
    upgrade(warehouse_url)
    upgrade(warehouse_url)
    engine = create_engine(warehouse_url)
    try:
        assert current_revision(engine) == HEAD
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_fresh_database_has_no_revision(warehouse_url: str) -> None:
    engine = create_engine(warehouse_url)
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_downgrade_to_base_drops_everything(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(sa.inspect(migrated_engine).get_table_names()) == {"alembic_version"}
    upgrade(migrated_engine)
    assert schema_diff(migrated_engine) == []


def test_processes_upgrading_at_once_do_not_race(warehouse_url: str) -> None:
    script = (
        "import sys; from leadflow.models.warehouse.migrate import upgrade; upgrade(sys.argv[1])"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, warehouse_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outcomes = [(p.communicate(timeout=120)[1], p.returncode) for p in processes]
    assert [err.decode() for err, code in outcomes if code != 0] == []
    engine = create_engine(warehouse_url)
    try:
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()


def test_threads_upgrading_at_once_do_not_race(warehouse_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(warehouse_url)
        except BaseException as error:  # collected and asserted on below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@ONLY_POSTGRESQL
def test_postgresql_keeps_comments(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    assert inspector.get_table_comment("leads")["text"] == metadata.tables["leads"].comment
    columns = {c["name"]: c["comment"] for c in inspector.get_columns("leads")}
    assert columns["row_hash"] == metadata.tables["leads"].c.row_hash.comment


def test_constraint_names_follow_the_naming_convention(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    assert inspector.get_pk_constraint("leads")["name"] in ("pk_leads", None)  # SQLite: None
    indexes = {index["name"] for index in inspector.get_indexes("leads")}
    assert {"ix_leads_email_match_key", "ix_leads_source_campaign_id"} <= indexes
    uniques = {u["name"] for u in inspector.get_unique_constraints("quarantine")}
    assert uniques == {"uq_quarantine_source_account_id_record_key"}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_column_is_documented_and_every_timestamp_utc(table: str) -> None:
    columns = metadata.tables[table].columns
    assert metadata.tables[table].comment.startswith("One row per")
    assert [c.name for c in columns if not c.comment] == []
    timestamps = [c for c in columns if isinstance(c.type, sa.DateTime | UTCDateTime)]
    assert all(isinstance(c.type, UTCDateTime) for c in timestamps)
    assert all(c.type.impl.timezone for c in timestamps)


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0002_campaigns_spend_utm.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0003_activity.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0004_people_stages.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0006_bi_views.py").is_file()


@pytest.mark.parametrize(
    "url", ["sqlite:///unused.db", "postgresql://u:p@localhost/db"], ids=["sqlite", "postgresql"]
)
def test_offline_sql_renders_every_table(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head", sql=True)
    sql = capsys.readouterr().out
    assert all(f"CREATE TABLE {name} " in sql for name in TABLES)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "postgresql://lf:s3cret@db:5432/wh", "postgresql://lf:***@db:5432/wh", id="password"
        ),
        pytest.param("postgresql://lf:p@ss@db/wh", "postgresql://lf:***@db/wh", id="unescaped-at"),
        pytest.param("sqlite:///leadflow.db", "sqlite:///leadflow.db", id="no-password"),
    ],
)
def test_redact_url_hides_the_password(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_postgresql_urls_use_psycopg3() -> None:
    engine = create_engine("postgresql://u@localhost/db")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in PRAGMAS]
    engine.dispose()
    assert pragmas == ["wal", 30_000, 1]


def test_sqlite_foreign_keys_are_back_on_after_upgrade(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}", poolclass=sa.pool.StaticPool)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_sqlite_foreign_keys_are_checked_only_when_a_migration_ran(tmp_path: Path) -> None:
    """The full foreign-key check reads every row, so an up-to-date warehouse skips it;
    a migration that ran is still checked."""
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}", poolclass=sa.pool.StaticPool)
    upgrade(engine)
    with engine.connect() as conn:  # a dangling reference no migration made
        conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        conn.execute(stage_transitions.insert(), [{
            "person_id": "p_missing", "to_stage": "cold", "to_lifecycle": "lead", "at": T0,
            "reasons": [], "run_id": "r", "recorded_at": T0,
        }])  # fmt: skip
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys = ON")
    upgrade(engine)  # at head already: nothing ran, nothing checked
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0006")
        conn.commit()
    with pytest.raises(RuntimeError, match="migration broke foreign keys"):
        upgrade(engine)
    engine.dispose()


def test_unprepared_disables_psycopg_prepared_statements(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        driver = conn.connection.driver_connection
        before = getattr(driver, "prepare_threshold", "n/a")
        with unprepared(conn):
            inside = getattr(driver, "prepare_threshold", "n/a")
        after = getattr(driver, "prepare_threshold", "n/a")
    expected = (5, None, 5) if migrated_engine.dialect.name == "postgresql" else ("n/a",) * 3
    assert (before, inside, after) == expected


def test_downgrade_0002_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    assert current_revision(migrated_engine) == "0001"
    # Exactly what 0002 adds is missing (so leads kept its indexes through batch mode).
    assert sorted(_describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [
            *_people_stages_diff(migrated_engine),
            *ADD_0002_DIFF,
            *ACTIVITY_DIFF,
            *SLA_DIFF,
            *BI_DIFF,
            *STATE_DIFF,
        ]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


# What 0002 adds, as schema_diff reports it missing.
ADD_0002_DIFF = [
    ("add_column", "leads", "utm_campaign"),
    ("add_column", "leads", "utm_content"),
    ("add_column", "leads", "utm_medium"),
    ("add_column", "leads", "utm_source"),
    ("add_column", "leads", "utm_term"),
    ("add_column", "sync_runs", "warnings"),
    ("add_index", "ad_spend_daily", "ix_ad_spend_daily_platform_campaign_id_day"),
    ("add_table", "ad_spend_daily", None),
    ("add_table", "campaigns", None),
]


# What 0005 adds, as schema_diff reports it missing.
SLA_DIFF = [
    ("add_index", "sla_evaluations", "ix_sla_evaluations_period_month"),
    ("add_index", "sla_evaluations", "ix_sla_evaluations_period_week"),
    ("add_index", "sla_evaluations", "ix_sla_evaluations_person_id"),
    ("add_index", "sla_evaluations", "ix_sla_evaluations_rule_status"),
    ("add_index", "sla_results", "ix_sla_results_rule_period"),
    ("add_table", "sla_evaluations", None),
    ("add_table", "sla_results", None),
]


# What 0007 adds, as schema_diff reports it missing.
STATE_DIFF = [("add_table", "step_state", None)]


# What 0006 adds, as schema_diff reports it missing (the views are not in the metadata).
BI_DIFF = [
    ("add_column", "people", "email_hash"),
    ("add_table", "suppression_list", None),
]


def test_downgrade_0006_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0005")
    assert current_revision(migrated_engine) == "0005"
    inspector = sa.inspect(migrated_engine)
    assert set(inspector.get_table_names()) == (TABLES - BI_TABLES - STATE_TABLES) | {
        "alembic_version"
    }
    assert inspector.get_view_names() == []
    assert sorted(_describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [*BI_DIFF, *STATE_DIFF]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []
    assert len(sa.inspect(migrated_engine).get_view_names()) == 9


def test_upgrade_from_0005_keeps_rows_and_adds_views(warehouse_url: str) -> None:
    engine = create_engine(warehouse_url)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO people (person_id, created_at, updated_at, lifecycle) "
                    "VALUES ('p1', :t, :t, 'mql')"
                ),
                {"t": t0},
            )
        upgrade(engine)
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT person_id, email_hash, lifecycle FROM v_people"))
            assert [tuple(row) for row in found] == [("p1", None, "mql")]
    finally:
        engine.dispose()


def test_downgrade_0005_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")
    assert current_revision(migrated_engine) == "0004"
    assert set(sa.inspect(migrated_engine).get_table_names()) == (
        TABLES - SLA_TABLES - BI_TABLES - STATE_TABLES
    ) | {"alembic_version"}
    assert sorted(_describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [*SLA_DIFF, *BI_DIFF, *STATE_DIFF]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


@ONLY_POSTGRESQL
def test_postgresql_keeps_sla_comments(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    for name in sorted(SLA_TABLES):
        table = metadata.tables[name]
        assert inspector.get_table_comment(name)["text"] == table.comment
        columns = {c["name"]: c["comment"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.comment for c in table.columns}


# What 0003 adds, as schema_diff reports it missing (sorted).
ACTIVITY_DIFF = [
    ("add_index", "engagement_events", "ix_engagement_events_email_match_key"),
    ("add_index", "engagement_events", "ix_engagement_events_event_type_occurred_at"),
    ("add_index", "engagement_events", "ix_engagement_events_person_id"),
    ("add_index", "sales_touches", "ix_sales_touches_owner_id"),
    ("add_index", "sales_touches", "ix_sales_touches_person_id"),
    ("add_index", "sales_touches", "ix_sales_touches_source_lead_id_occurred_at"),
    ("add_table", "engagement_events", None),
    ("add_table", "sales_reps", None),
    ("add_table", "sales_touches", None),
]


def test_downgrade_0003_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0002")
    assert current_revision(migrated_engine) == "0002"
    assert set(sa.inspect(migrated_engine).get_table_names()) == (
        TABLES - ACTIVITY_TABLES - PEOPLE_STAGES_TABLES - SLA_TABLES - BI_TABLES - STATE_TABLES
    ) | {"alembic_version"}
    # Exactly the activity tables and their indexes are missing; nothing else changed.
    assert sorted(_describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [*ACTIVITY_DIFF, *_people_stages_diff(migrated_engine), *SLA_DIFF, *BI_DIFF, *STATE_DIFF]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


@ONLY_POSTGRESQL
def test_postgresql_keeps_activity_comments(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    for name in sorted(ACTIVITY_TABLES):
        table = metadata.tables[name]
        assert inspector.get_table_comment(name)["text"] == table.comment
        columns = {c["name"]: c["comment"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.comment for c in table.columns}


def test_activity_person_ids_follow_people(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    for name in ("engagement_events", "sales_touches"):
        (fk,) = inspector.get_foreign_keys(name)
        assert (fk["constrained_columns"], fk["referred_table"]) == (["person_id"], "people")
        assert fk["options"].get("ondelete") == "SET NULL"


PEOPLE_STAGES_COLUMNS = (
    "email",
    "job_title",
    "country",
    "city",
    "lifecycle",
    "raw_stage",
    "fit",
    "engagement",
    "reasons",
    "qualified_at",
    "lifecycle_at",
    "classified_at",
)


def _people_stages_diff(engine: Engine) -> list[tuple[str, str, str | None]]:
    """What 0004 adds, as schema_diff reports it missing (comments only on PostgreSQL)."""
    diff = [("add_column", "people", name) for name in PEOPLE_STAGES_COLUMNS]
    diff += [
        ("add_index", "people", "ix_people_lifecycle"),
        ("add_index", "person_merges", "ix_person_merges_into_person"),
        ("add_index", "stage_transitions", "ix_stage_transitions_person_id"),
        ("add_index", "stage_transitions", "ix_stage_transitions_run_id"),
        ("add_table", "person_merges", None),
        ("add_table", "stage_transitions", None),
    ]
    if engine.dialect.name == "postgresql":
        diff += [("modify_comment", "people", "stage"), ("modify_comment", "people", "updated_at")]
    return diff


def test_downgrade_0004_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0003")
    assert current_revision(migrated_engine) == "0003"
    assert set(sa.inspect(migrated_engine).get_table_names()) == (
        TABLES - PEOPLE_STAGES_TABLES - SLA_TABLES - BI_TABLES - STATE_TABLES
    ) | {"alembic_version"}
    assert sorted(_describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [*_people_stages_diff(migrated_engine), *SLA_DIFF, *BI_DIFF, *STATE_DIFF]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


@ONLY_POSTGRESQL
def test_postgresql_keeps_people_stages_comments(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    for name in sorted(PEOPLE_STAGES_TABLES | {"people"}):
        table = metadata.tables[name]
        assert inspector.get_table_comment(name)["text"] == table.comment
        columns = {c["name"]: c["comment"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.comment for c in table.columns}


def test_stage_transitions_are_unique_per_person_lifecycle_and_time(
    migrated_engine: Engine,
) -> None:
    inspector = sa.inspect(migrated_engine)
    uniques = {
        tuple(u["column_names"]) for u in inspector.get_unique_constraints("stage_transitions")
    }
    assert uniques == {("person_id", "to_lifecycle", "at")}
    (fk,) = inspector.get_foreign_keys("stage_transitions")
    assert (fk["referred_table"], fk["options"].get("ondelete")) == ("people", "CASCADE")


def _describe(op: Any) -> tuple[str, str, str | None]:
    if isinstance(op, list):  # column modifications: [(kind, schema, table, column, ...)]
        ((kind, _, table, column, *_),) = op
        return (kind, table, column)
    if op[0] == "add_column":
        return (op[0], op[2], op[3].name)
    if op[0] == "add_index":
        return (op[0], op[1].table.name, op[1].name)
    return (op[0], op[1].name, None)


def test_0002_fills_campaigns_from_existing_leads(warehouse_url: str) -> None:
    engine = create_engine(warehouse_url)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    base = {"account_id": "page_1", "created_at": t0, "is_test": False}
    base |= {"custom_fields": {}, "raw": {}, "row_hash": "x" * 64, "source": "meta"}
    rows = [
        ("1", "c1", "Spring", t0, t0),
        ("2", "c1", "Spring v2", t0 + timedelta(hours=1), t0 + timedelta(days=2)),
        ("3", "c1", None, t0 + timedelta(hours=2), t0 + timedelta(days=1)),
        ("4", "c2", None, t0, t0),
        ("5", None, "No id", t0, t0),
    ]
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(
                leads.insert(),  # without utm_*: only the given columns are inserted
                [
                    base
                    | {"source_lead_id": lead_id, "campaign_id": campaign_id}
                    | {"campaign_name": name, "updated_at": updated, "first_loaded_at": t0}
                    | {"last_changed_at": changed}
                    for lead_id, campaign_id, name, updated, changed in rows
                ],
            )
        upgrade(engine)
        with engine.connect() as conn:
            stored = conn.execute(sa.select(campaigns).order_by(campaigns.c.campaign_id)).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in stored] == [
        ("meta", "c1", None, "Spring v2", None, t0, t0 + timedelta(days=2)),
        ("meta", "c2", None, None, None, t0, t0),
    ]
