"""The Salesforce connector under the sync (``leadflow.pipeline.source_sync``): touches and
reps land in the warehouse, and a daily-limit stop keeps what was read and says why."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from leadflow.connectors.salesforce.connector import CONNECTOR
from leadflow.connectors.salesforce.errors import DailyLimitReached
from leadflow.connectors.salesforce.sales import REPS_STREAM, TOUCHES_STREAM
from leadflow.models.loading.activity import first_outbound_touches
from leadflow.models.warehouse.activity_tables import sales_reps, sales_touches
from leadflow.models.warehouse.lead_tables import leads, sync_runs, sync_state
from leadflow.pipeline.run import RunContext
from leadflow.pipeline.source_sync import sync_account, sync_stream

ORG = "00D5g0000000001EAA"


def test_touches_and_reps_load_with_a_state_per_object(sandbox, configure, migrated_engine):
    config = configure(sandbox)
    run = RunContext(migrated_engine, "sf-sales")
    reps = sync_stream(CONNECTOR, REPS_STREAM, config, ORG, run)
    touches = sync_stream(CONNECTOR, TOUCHES_STREAM, config, ORG, run)
    assert (reps.status, touches.status) == ("succeeded", "succeeded")
    with migrated_engine.connect() as conn:
        stored_reps = set(conn.execute(sa.select(sales_reps.c.rep_id)).scalars())
        kinds = set(conn.execute(sa.select(sales_touches.c.touch_type)).scalars())
        touched = set(conn.execute(sa.select(sales_touches.c.lead_id)).scalars())
        first = first_outbound_touches(conn, "salesforce")
        states = set(conn.execute(sa.select(sync_state.c.account_id)).scalars())
    assert stored_reps == {row["Id"] for row in sandbox.store.rows("User")}
    assert kinds == {"call", "email", "meeting"}
    assert touched and all(lead_id.startswith("00Q") for lead_id in touched)
    assert first and set(first) <= touched
    assert {"sales_reps:User", "sales_touches:Task", "sales_touches:Event"} <= states


def test_a_daily_limit_stop_keeps_the_pages_read_and_their_watermark(
    sandbox, configure, migrated_engine
):
    sandbox.usage.used = sandbox.usage.max - 1_001  # a page and its campaigns leave 999
    config = configure(sandbox, api_reserve=1_000)
    with pytest.raises(DailyLimitReached):
        sync_account(CONNECTOR, config, ORG, RunContext(migrated_engine, "sf-limit"))
    with migrated_engine.connect() as conn:
        loaded = conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one()
        (state,) = conn.execute(sa.select(sync_state.c.watermark)).scalars()
        status, error = conn.execute(sa.select(sync_runs.c.status, sync_runs.c.error)).one()
    assert 0 < loaded < len(sandbox.store.rows("Lead"))  # one page of 200, not the rest
    assert state is not None  # the next run goes on from the page it stopped after
    assert status == "failed" and "api_reserve" in error and "daily API requests" in error
