"""Migration 0012: downgrading removes exactly the writebacks table, upgrading restores it."""

from __future__ import annotations

from alembic import command
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.migrate import alembic_config, current_revision, upgrade
from tests.models.warehouse.schema_check import HEAD, describe, schema_diff


def test_downgrade_0012_and_upgrade_again(migrated_engine: Engine) -> None:
    assert HEAD == "0012"
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0011")
    assert current_revision(migrated_engine) == "0011"
    assert sorted(describe(op) for op in schema_diff(migrated_engine)) == [
        ("add_index", "writebacks", "ix_writebacks_person_id"),
        ("add_index", "writebacks", "ix_writebacks_status"),
        ("add_table", "writebacks", None),
    ]
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []
