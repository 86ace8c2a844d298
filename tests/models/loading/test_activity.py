"""Loading engagement events, sales touches and sales reps, on SQLite and PostgreSQL: counts,
duplicates, refusals, timestamps and JSON."""

from __future__ import annotations

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
)
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.warehouse.tables import email_people, people
from tests.models.loading.activity_cases import (
    ALL_STREAMS,
    CHANGES,
    MAKERS,
    SOURCE,
    T0,
    event,
    load,
    numbered,
    rep,
    stored,
    touch,
)
from tests.people_links import event_person_ids


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
        conn.execute(
            email_people.insert(), {"email_match_key": "ada@example.com", "person_id": "p1"}
        )
    changed = event(detail={"browser": "safari"})
    assert load(migrated_engine, "engagement_events", [changed]) == LoadCounts(0, 1, 0, 0)
    (row,) = stored(migrated_engine, "engagement_events").values()
    # The re-load rewrote the event and left identity's email_people row alone: the event
    # still resolves to its person.
    assert row["detail"] == {"browser": "safari"}
    assert event_person_ids(migrated_engine) == {(SOURCE, "e1"): "p1"}
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(email_people)).all() == [("ada@example.com", "p1")]
