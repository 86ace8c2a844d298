"""What the schema tests share: the expected tables, the head revision and the drift check."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.tables import metadata

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
    "person_id_map",
    "person_milestones",
    "stage_transitions",
    "sla_evaluations",
    "sla_results",
    "suppression_list",
    "step_state",
    "intake_inbox",
    "writebacks",
    "crm_status_changes",
    "sales_decisions",
    "lead_people",
    "email_people",
}
HEAD = "0016"
ONLY_POSTGRESQL = pytest.mark.parametrize(
    "warehouse_url",
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def describe(op: Any) -> tuple[str, str, str | None]:
    """One schema_diff operation as (kind, table, column or index name, or None)."""
    if isinstance(op, list):  # column modifications: [(kind, schema, table, column, ...)]
        ((kind, _, table, column, *_),) = op
        return (kind, table, column)
    if op[0] in ("add_column", "remove_column"):
        return (op[0], op[2], op[3].name)
    if op[0] in ("add_index", "remove_index"):
        return (op[0], op[1].table.name, op[1].name)
    if op[0] in ("add_fk", "remove_fk"):
        return (op[0], op[1].parent.name, op[1].name)
    return (op[0], op[1].name, None)
