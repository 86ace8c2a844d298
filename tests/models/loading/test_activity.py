"""Loading engagement events, sales touches and sales reps, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import (
    STREAMS,
    activity_row,
    first_outbound_touches,
    load_stream,
)
from leadflow.models.loading.leads import LoadCounts, read_sync_state
from leadflow.models.records.activity import EngagementEvent, SalesRep, SalesTouch
from leadflow.models.records.leads import Rejected
from leadflow.models.warehouse.tables import (
    engagement_events,
    people,
    quarantine,
    sales_reps,
    sales_touches,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SOURCE, ACCOUNT = "hubspot", "portal_1"
TABLES = {
    "engagement_events": engagement_events,
    "sales_touches": sales_touches,
    "sales_reps": sales_reps,
}


def event(event_id: str = "e1", **overrides: Any) -> EngagementEvent:
    values: dict[str, Any] = {
        "source": SOURCE,
        "event_id": event_id,
        "account_id": ACCOUNT,
        "event_type": "open",
        "occurred_at": T0,
        "email": "ada@example.com",
        "email_match_key": "ada@example.com",
        "campaign_id": "email_1",
        "detail": {"browser": "firefox"},
        "raw": {"id": event_id},
    }
    return EngagementEvent(**(values | overrides))


def touch(touch_id: str = "t1", lead_id: str = "L1", **overrides: Any) -> SalesTouch:
    values: dict[str, Any] = {
        "source": SOURCE,
        "touch_id": touch_id,
        "lead_id": lead_id,
        "touch_type": "call",
        "occurred_at": T0,
        "updated_at": T0,
        "owner_id": "rep_1",
        "direction": "OUTBOUND",
        "outcome": "connected",
        "raw": {"id": touch_id},
    }
    return SalesTouch(**(values | overrides))


def rep(rep_id: str = "rep_1", **overrides: Any) -> SalesRep:
    values: dict[str, Any] = {
        "source": SOURCE,
        "rep_id": rep_id,
        "updated_at": T0,
        "email": f"{rep_id}@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "team": "EMEA",
        "raw": {"id": rep_id},
    }
    return SalesRep(**(values | overrides))


MAKERS = {"engagement_events": event, "sales_touches": touch, "sales_reps": rep}
# A content change per stream, for "updated" counts.
CHANGES: dict[str, dict[str, Any]] = {
    "engagement_events": {"detail": {"browser": "safari"}},
    "sales_touches": {"outcome": "no answer", "updated_at": T0 + timedelta(hours=1)},
    "sales_reps": {"team": "AMER", "updated_at": T0 + timedelta(hours=1)},
}
ALL_STREAMS = pytest.mark.parametrize("stream", sorted(STREAMS))


def load(
    engine: Engine,
    stream: str,
    rows: Sequence[Any],
    rejected: Sequence[Rejected] = (),
    *,
    watermark: datetime | None = None,
    state_key: str | None = None,
    now: datetime = T0,
) -> LoadCounts:
    with engine.begin() as conn:
        return load_stream(
            conn,
            stream=stream,
            source=SOURCE,
            account_id=ACCOUNT,
            rows=rows,
            rejected=rejected,
            watermark=watermark,
            state_key=state_key or f"{stream}:{ACCOUNT}",
            now=now,
        )


def stored(engine: Engine, stream: str) -> dict[tuple[str, ...], dict[str, Any]]:
    table = TABLES[stream]
    key = STREAMS[stream].key
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table)).mappings()
        return {tuple(row[name] for name in key[1:]): dict(row) for row in rows}


def numbered(stream: str, n: int, **overrides: Any) -> Any:
    return MAKERS[stream](f"id{n}", **overrides)


@ALL_STREAMS
def test_first_load_inserts_every_row(migrated_engine: Engine, stream: str) -> None:
    rows = [numbered(stream, n) for n in range(3)]
    assert load(migrated_engine, stream, rows) == LoadCounts(3, 0, 0, 0)
    found = stored(migrated_engine, stream)
    assert len(found) == 3
    row = next(iter(found.values()))
    assert (row["first_loaded_at"], row["last_changed_at"]) == (T0, T0)
    assert len(row["row_hash"]) == 64


@ALL_STREAMS
def test_counts_inserted_updated_unchanged(migrated_engine: Engine, stream: str) -> None:
    load(migrated_engine, stream, [numbered(stream, n) for n in range(3)])
    later = T0 + timedelta(hours=2)
    batch = [
        numbered(stream, 0),
        numbered(stream, 1, **CHANGES[stream]),
        numbered(stream, 2),
        numbered(stream, 3),
    ]
    assert load(migrated_engine, stream, batch, now=later) == LoadCounts(
        inserted=1, updated=1, unchanged=2, quarantined=0
    )
    found = stored(migrated_engine, stream)
    by_id = {key[0]: row for key, row in found.items()}
    assert (by_id["id1"]["first_loaded_at"], by_id["id1"]["last_changed_at"]) == (T0, later)
    assert (by_id["id0"]["first_loaded_at"], by_id["id0"]["last_changed_at"]) == (T0, T0)
    assert by_id["id3"]["first_loaded_at"] == later
    changed_column, changed_value = next(iter(CHANGES[stream].items()))
    assert by_id["id1"][changed_column] == changed_value


@ALL_STREAMS
def test_loading_the_same_rows_again_writes_nothing(migrated_engine: Engine, stream: str) -> None:
    rows = [numbered(stream, n) for n in range(2)]
    load(migrated_engine, stream, rows)
    before = stored(migrated_engine, stream)
    statements: list[str] = []
    sa.event.listen(migrated_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    counts = load(migrated_engine, stream, rows, now=T0 + timedelta(hours=1))
    assert counts == LoadCounts(0, 0, 2, 0)
    assert stored(migrated_engine, stream) == before
    assert not any(f"INSERT INTO {stream}" in s for s in statements)


@ALL_STREAMS
def test_duplicates_in_a_batch_keep_the_last(migrated_engine: Engine, stream: str) -> None:
    first = numbered(stream, 0)
    last = numbered(stream, 0, **CHANGES[stream])
    assert load(migrated_engine, stream, [first, numbered(stream, 1), last]) == LoadCounts(
        2, 0, 0, 0
    )
    found = {key[0]: row for key, row in stored(migrated_engine, stream).items()}
    assert found["id0"]["row_hash"] == activity_row(STREAMS[stream], last)["row_hash"]


@pytest.mark.parametrize("stream", ["sales_touches", "sales_reps"])
def test_an_older_duplicate_later_in_the_batch_does_not_win(
    migrated_engine: Engine, stream: str
) -> None:
    newer = numbered(stream, 0, **CHANGES[stream])  # updated an hour later
    older = numbered(stream, 0)
    load(migrated_engine, stream, [newer, older])
    (row,) = stored(migrated_engine, stream).values()
    assert row["row_hash"] == activity_row(STREAMS[stream], newer)["row_hash"]


def test_a_touch_on_several_leads_is_one_row_per_lead(migrated_engine: Engine) -> None:
    batch = [touch("t1", "L1"), touch("t1", "L2"), touch("t2", "L1")]
    assert load(migrated_engine, "sales_touches", batch) == LoadCounts(3, 0, 0, 0)
    assert set(stored(migrated_engine, "sales_touches")) == {
        ("t1", "L1"),
        ("t1", "L2"),
        ("t2", "L1"),
    }
    # The same touch on a new lead is a new row; the stored ones are unchanged.
    again = [*batch, touch("t1", "L3")]
    assert load(migrated_engine, "sales_touches", again) == LoadCounts(1, 0, 3, 0)


def test_rows_of_other_sources_are_refused(migrated_engine: Engine) -> None:
    for stream, make in MAKERS.items():
        with pytest.raises(ValueError, match="'meta'"):
            load(migrated_engine, stream, [make(source="meta")])
        assert stored(migrated_engine, stream) == {}


def test_rows_of_another_stream_are_refused(migrated_engine: Engine) -> None:
    with pytest.raises(ValueError, match="loads EngagementEvent rows, not SalesRep"):
        load(migrated_engine, "engagement_events", [rep()])


def test_unknown_stream_is_refused(migrated_engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown stream 'deals'"):
        load(migrated_engine, "deals", [])


@pytest.mark.parametrize(
    ("stream", "overrides"),
    [
        pytest.param("engagement_events", {"occurred_at": datetime(2026, 1, 1)}, id="event"),  # noqa: DTZ001
        pytest.param("sales_touches", {"updated_at": datetime(2026, 1, 1)}, id="touch"),  # noqa: DTZ001
        pytest.param("sales_reps", {"updated_at": datetime(2026, 1, 1)}, id="rep"),  # noqa: DTZ001
    ],
)
def test_naive_timestamps_are_refused(
    migrated_engine: Engine, stream: str, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        load(migrated_engine, stream, [MAKERS[stream](**overrides)])
    with pytest.raises(ValueError, match="timezone-aware"):
        load(migrated_engine, stream, [], now=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        load(migrated_engine, stream, [], watermark=datetime(2026, 1, 1))  # noqa: DTZ001
    assert stored(migrated_engine, stream) == {}


def test_timestamps_read_back_aware_utc(migrated_engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 2, 10, 30, tzinfo=paris)  # == T0
    load(migrated_engine, "sales_touches", [touch(occurred_at=local, updated_at=local)])
    (row,) = stored(migrated_engine, "sales_touches").values()
    for name in ("occurred_at", "updated_at", "first_loaded_at", "last_changed_at"):
        assert row[name] == T0
        assert row[name].tzinfo is UTC
    # The same instant in another offset is the same content.
    assert load(migrated_engine, "sales_touches", [touch()]) == LoadCounts(0, 0, 1, 0)


def test_json_round_trips(migrated_engine: Engine) -> None:
    detail = {
        "url": "https://example.com/é?a=1",
        "nested": {"list": [1, 2.5, None, True], "empty": {}},
        "when": T0,  # not JSON: stored as ISO 8601
        "amount": Decimal("1.10"),  # kept exact, as text
    }
    raw = MappingProxyType({"id": "e1", "properties": {"hs_x": None}})
    load(migrated_engine, "engagement_events", [event(detail=detail, raw=raw)])
    (row,) = stored(migrated_engine, "engagement_events").values()
    assert row["detail"] == {
        "url": "https://example.com/é?a=1",
        "nested": {"list": [1, 2.5, None, True], "empty": {}},
        "when": "2026-03-02T09:30:00+00:00",
        "amount": "1.10",
    }
    assert row["raw"] == {"id": "e1", "properties": {"hs_x": None}}
    # Loading the same values again is unchanged, whichever path the hash took.
    again = event(detail=detail, raw=dict(raw))
    assert load(migrated_engine, "engagement_events", [again]) == LoadCounts(0, 0, 1, 0)


def test_reps_keep_archived_and_raw(migrated_engine: Engine) -> None:
    load(migrated_engine, "sales_reps", [rep("r1"), rep("r2", archived=True, team=None)])
    found = stored(migrated_engine, "sales_reps")
    assert (found["r1",]["archived"], found["r2",]["archived"]) == (False, True)
    assert (found["r1",]["team"], found["r2",]["team"]) == ("EMEA", None)
    assert found["r1",]["raw"] == {"id": "r1"}


def test_updates_keep_person_id(migrated_engine: Engine) -> None:
    load(migrated_engine, "engagement_events", [event()])
    with migrated_engine.begin() as conn:
        conn.execute(
            people.insert(),
            {"person_id": "p1", "created_at": T0, "updated_at": T0},
        )
        conn.execute(sa.update(engagement_events).values(person_id="p1"))
    changed = event(detail={"browser": "safari"})
    assert load(migrated_engine, "engagement_events", [changed]) == LoadCounts(0, 1, 0, 0)
    (row,) = stored(migrated_engine, "engagement_events").values()
    assert (row["person_id"], row["detail"]) == ("p1", {"browser": "safari"})


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


def reject(key: str | None, reason: str = "missing occurred_at") -> Rejected:
    return Rejected(SOURCE, ACCOUNT, key, "occurred_at", reason, {"id": key})


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
