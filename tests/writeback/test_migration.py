"""Migration 0012: downgrading removes exactly the writebacks table (and the later
revisions' changes), upgrading restores it."""

from __future__ import annotations

from alembic import command
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.migrate import alembic_config, current_revision, upgrade
from tests.models.warehouse.schema_check import HEAD, describe, schema_diff
from tests.models.warehouse.test_migration_steps import (
    ROLLUP_INDEX_DIFF,
    TRANSITIONS_INDEX_DIFF,
    _narrow_diff,
)


def test_downgrade_0012_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0011")
    assert current_revision(migrated_engine) == "0011"
    assert sorted(describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [
            ("add_index", "crm_status_changes", "ix_crm_status_changes_source_lead_id_occurred_at"),
            ("add_index", "writebacks", "ix_writebacks_person_id"),
            ("add_index", "writebacks", "ix_writebacks_status"),
            ("add_table", "crm_status_changes", None),
            ("add_table", "sales_decisions", None),
            ("add_table", "writebacks", None),
            *_narrow_diff(events=True),
            *ROLLUP_INDEX_DIFF,
            *TRANSITIONS_INDEX_DIFF,
        ]
    )  # 0013's, 0014's, 0015's and 0016's too
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []
