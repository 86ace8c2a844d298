"""The schema: tables.py and the Alembic migrations agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    upgrade,
)
from leadflow.models.warehouse.schema import UTCDateTime
from leadflow.models.warehouse.tables import metadata
from tests.models.warehouse.schema_check import HEAD, ONLY_POSTGRESQL, TABLES, schema_diff


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
