"""Concurrent upserts of shared rows on PostgreSQL lock them in key order (no deadlock).

The CI run of the ad-platform sync once failed with ``DeadlockDetected`` on ``campaigns``:
LinkedIn's lead batch and its spend batch, in two transactions at once, upserted the same
campaigns in different orders.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.leads import upsert_campaigns
from leadflow.models.warehouse.lead_tables import campaigns

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

pytestmark = pytest.mark.parametrize(
    "warehouse_url",
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


def _waiting_on_a_lock(engine: Engine, pid: int) -> bool:
    query = sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    with engine.connect() as conn:
        return conn.execute(query, {"pid": pid}).scalar() == "Lock"


def test_shared_campaigns_upserted_in_opposite_orders_do_not_deadlock(
    migrated_engine: Engine,
) -> None:
    # Both campaigns exist, so every later upsert conflicts and locks the stored row.
    with migrated_engine.begin() as conn:
        upsert_campaigns(
            conn, "linkedin", [(None, "c1", "one", None), (None, "c2", None, None)], T0
        )
    errors: list[BaseException] = []
    other_pid: list[int] = []

    def other_transaction() -> None:
        try:
            with migrated_engine.begin() as conn:
                other_pid.append(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
                # Given c2 first: unsorted, it would lock c2, then wait for c1.
                rows = [(None, "c2", "two (b)", None), (None, "c1", "one (b)", None)]
                upsert_campaigns(conn, "linkedin", rows, T0)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    with migrated_engine.begin() as conn:
        upsert_campaigns(conn, "linkedin", [(None, "c1", "one (a)", None)], T0)  # holds c1
        thread = threading.Thread(target=other_transaction)
        thread.start()
        deadline = time.monotonic() + 30
        while not (other_pid and _waiting_on_a_lock(migrated_engine, other_pid[0])):
            assert time.monotonic() < deadline, "the other transaction never waited for c1"
            assert not errors, errors
            time.sleep(0.02)
        # Unsorted, the other transaction would now hold c2: this would deadlock.
        upsert_campaigns(conn, "linkedin", [(None, "c2", "two (a)", None)], T0)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert not errors, errors
    with migrated_engine.connect() as conn:
        query = sa.select(campaigns.c.campaign_id, campaigns.c.campaign_name)
        names = dict(conn.execute(query).tuples().all())
    assert names == {"c1": "one (b)", "c2": "two (b)"}
