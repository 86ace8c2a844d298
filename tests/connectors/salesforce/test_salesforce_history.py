"""LeadHistory → crm_status_changes → sales decisions, against the sandbox org."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from leadflow.connectors.base import LeadContext
from leadflow.connectors.salesforce.connector import CONNECTOR
from leadflow.connectors.salesforce.history import HISTORY, HISTORY_STREAM, change_rows
from leadflow.connectors.salesforce.soql import rest_query
from leadflow.models.warehouse.tables import crm_status_changes
from leadflow.pipeline.run import RunContext
from leadflow.pipeline.source_sync import sync_stream

ORG = "00D5g0000000001EAA"
CONTEXT = LeadContext(source="salesforce", account_id=ORG)


def test_the_query_reads_status_and_conversion_rows_by_created_date() -> None:
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert rest_query(HISTORY, at) == (
        "SELECT Id, LeadId, Field, OldValue, NewValue, CreatedDate, CreatedById, IsDeleted "
        "FROM LeadHistory WHERE Field IN ('Status', 'leadConverted') AND "
        "CreatedDate >= 2026-12-01T09:00:00Z ORDER BY CreatedDate ASC, Id ASC"
    )


def test_a_history_row_maps_to_a_status_change() -> None:
    row = {"attributes": {"type": "LeadHistory"}, "Id": "0175g00000AbCdEAAA",
           "LeadId": "00Q5g00000XyZaBEAV", "Field": "Status", "OldValue": "Open - Not Contacted",
           "NewValue": "Working - Contacted", "CreatedDate": "2026-12-01T09:30:00.000+0000",
           "CreatedById": "0055g00000QwErTAAV"}  # fmt: skip
    (change,) = change_rows(row, CONTEXT)
    assert (change.change_id, change.lead_id, change.field) == (row["Id"], row["LeadId"], "Status")
    assert (change.old_value, change.new_value) == ("Open - Not Contacted", "Working - Contacted")
    assert change.occurred_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert change.changed_by == row["CreatedById"] and "attributes" not in change.raw
    converted = change_rows({**row, "Field": "leadConverted", "OldValue": None,
                             "NewValue": None}, CONTEXT)[0]  # fmt: skip
    assert (converted.field, converted.old_value, converted.new_value) == (
        "IsConverted", "false", "true",
    )  # fmt: skip


def test_the_stream_loads_each_change_once_and_then_only_new_ones(
    sandbox, configure, migrated_engine
) -> None:
    config = configure(sandbox, lookback_minutes=0)
    first = sync_stream(CONNECTOR, HISTORY_STREAM, config, ORG, RunContext(migrated_engine, "h1"))
    tracked = [r for r in sandbox.store.rows("LeadHistory") if r["Field"] == "Status"]
    lead = sandbox.records("Lead")[0]
    later = max(r["CreatedDate"] for r in tracked) + timedelta(hours=1)
    sandbox.store.update("Lead", lead["Id"], {"Status": "Closed - Not Converted"}, later)
    second = sync_stream(CONNECTOR, HISTORY_STREAM, config, ORG, RunContext(migrated_engine, "h2"))
    with migrated_engine.connect() as conn:
        stored = conn.execute(
            sa.select(crm_status_changes.c.change_id, crm_status_changes.c.new_value)
        ).all()
    assert first.status == second.status == "succeeded"
    assert len(tracked) > 0 and first.inserted == len(tracked)  # 'created' rows not read
    assert second.inserted == 1  # the window starts at the watermark: the rest unchanged
    assert len(stored) == len(tracked) + 1
    assert "Closed - Not Converted" in {value for _, value in stored}
