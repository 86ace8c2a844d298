"""What an activity batch commits besides its rows (the watermark, quarantined records, all
or nothing) and the reads of stored touches, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import (
    STREAMS,
    activity_row,
    first_outbound_touches,
    load_stream,
)
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.loading.state import read_sync_state
from leadflow.models.warehouse.tables import quarantine, sales_touches
from tests.models.loading.activity_cases import (
    ACCOUNT,
    ALL_STREAMS,
    SOURCE,
    T0,
    event,
    load,
    numbered,
    reject,
    stored,
    touch,
)


def test_watermark_is_saved_under_the_state_key(migrated_engine: Engine) -> None:
    load(migrated_engine, "sales_touches", [touch()], watermark=T0, state_key="sales_touches:p1")
    earlier = T0 - timedelta(days=1)
    load(migrated_engine, "sales_touches", [], watermark=earlier, state_key="sales_touches:p1")
    with migrated_engine.connect() as conn:
        state = read_sync_state(conn, SOURCE, "sales_touches:p1")
        assert read_sync_state(conn, SOURCE, ACCOUNT) is None
    assert state is not None and (state.watermark, state.cursor) == (T0, None)  # never back


@ALL_STREAMS
def test_rollback_leaves_no_rows_rejects_or_watermark(migrated_engine: Engine, stream: str) -> None:
    with migrated_engine.connect() as conn:
        transaction = conn.begin()
        counts = load_stream(
            conn,
            stream=stream,
            source=SOURCE,
            account_id=ACCOUNT,
            rows=[numbered(stream, 0)],
            rejected=[reject("bad")],
            watermark=T0,
            state_key="k",
            now=T0,
        )
        assert counts == LoadCounts(1, 0, 0, 1)
        assert read_sync_state(conn, SOURCE, "k") is not None  # same transaction
        transaction.rollback()
    assert stored(migrated_engine, stream) == {}
    with migrated_engine.connect() as conn:
        assert read_sync_state(conn, SOURCE, "k") is None
        assert conn.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar() == 0


def test_rejected_rows_go_to_quarantine(migrated_engine: Engine) -> None:
    rejected = [reject("bad1"), reject("bad2"), reject("bad1", "still bad")]
    counts = load(migrated_engine, "engagement_events", [event()], rejected)
    assert counts == LoadCounts(1, 0, 0, 3)
    later = T0 + timedelta(hours=1)
    load(migrated_engine, "engagement_events", [], [reject("bad2")], now=later)
    with migrated_engine.connect() as conn:
        rows = conn.execute(sa.select(quarantine).order_by(quarantine.c.record_key)).mappings()
        found = {r["record_key"]: r for r in rows}
    assert set(found) == {"bad1", "bad2"}
    assert (found["bad1"]["reason"], found["bad1"]["times_seen"]) == ("still bad", 2)
    assert (found["bad2"]["first_seen_at"], found["bad2"]["last_seen_at"]) == (T0, later)
    assert found["bad2"]["times_seen"] == 2
    assert (found["bad1"]["source"], found["bad1"]["account_id"]) == (SOURCE, ACCOUNT)


def test_first_outbound_touches(migrated_engine: Engine) -> None:
    hour = timedelta(hours=1)
    batch = [
        # L1: an inbound call first, then outbound ones: the earliest outbound counts.
        touch("t1", "L1", direction="INBOUND", occurred_at=T0),
        touch("t2", "L1", direction="OUTBOUND", occurred_at=T0 + 3 * hour),
        touch("t3", "L1", direction="outbound", occurred_at=T0 + 2 * hour),
        # L2: only inbound, or no direction on a call: no outbound touch.
        touch("t4", "L2", direction="INBOUND"),
        touch("t5", "L2", direction=None, touch_type="email"),
        # L3: a meeting counts whatever its direction.
        touch("t6", "L3", direction=None, touch_type="meeting", occurred_at=T0 + hour),
        touch("t7", "L3", direction="Outbound", occurred_at=T0 + 5 * hour),
        # L6: an outbound call or a meeting no rep owns doesn't count.
        touch("t10", "L6", owner_id=None),
        touch("t11", "L6", owner_id=None, touch_type="meeting", direction=None),
        # One touch on two leads counts for both.
        touch("t8", "L4", occurred_at=T0 + 4 * hour),
        touch("t8", "L5", occurred_at=T0 + 4 * hour),
    ]
    load(migrated_engine, "sales_touches", batch)
    with migrated_engine.begin() as conn:
        load_stream(
            conn,
            stream="sales_touches",
            source="salesforce",
            account_id="org",
            rows=[touch("t9", "L1", source="salesforce", occurred_at=T0 - hour)],
            rejected=[],
            watermark=None,
            state_key="sales_touches:org",
            now=T0,
        )
    with migrated_engine.connect() as conn:
        first = first_outbound_touches(conn, SOURCE)
        other = first_outbound_touches(conn, "salesforce")
        none = first_outbound_touches(conn, "meta")
    assert first == {
        "L1": T0 + 2 * hour,
        "L3": T0 + hour,
        "L4": T0 + 4 * hour,
        "L5": T0 + 4 * hour,
    }
    assert all(value.tzinfo is UTC for value in first.values())
    assert (other, none) == ({"L1": T0 - hour}, {})


def test_activity_row_is_content_only() -> None:
    spec = STREAMS["sales_touches"]
    row = activity_row(spec, touch())
    assert set(row) == {c.name for c in sales_touches.columns} - {
        "person_id",
        "first_loaded_at",
        "last_changed_at",
    }
    assert activity_row(spec, replace(touch(), raw={"id": "t1"}))["row_hash"] == row["row_hash"]
    assert activity_row(spec, touch(outcome="busy"))["row_hash"] != row["row_hash"]
