"""The driver-level activity writers over batches, on both dialects: updates keep what
identity resolution set, unchanged rows are left alone, duplicates, several streams and
batches in one transaction, keys past one lookup chunk."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import STREAMS, activity_row, encode_activity
from leadflow.models.loading.activity_writers import stored_hashes, write_activity
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.records.activity import SalesTouch
from leadflow.models.warehouse.tables import email_people, people
from tests.models.loading.activity_write_cases import (
    ALL_STREAMS,
    NESTED,
    SOURCE,
    T0,
    full,
    load,
    load_in,
    read_row,
)
from tests.people_links import event_person_ids


def _touch(touch_id: str, lead_id: str = "L1", **overrides: Any) -> SalesTouch:
    return replace(full("sales_touches", touch_id), lead_id=lead_id, **overrides)


def _set_person(engine: Engine, stream: str) -> None:
    """What identity resolution writes: a touch's own person_id, an event's email's person."""
    with engine.begin() as conn:
        conn.execute(people.insert(), {"person_id": "p1", "created_at": T0, "updated_at": T0})
        if stream == "engagement_events":
            key = full(stream, "a").email_match_key
            conn.execute(email_people.insert(), {"email_match_key": key, "person_id": "p1"})
        else:
            conn.execute(sa.update(STREAMS[stream].table).values(person_id="p1"))


def _person(engine: Engine, stream: str, row: dict[str, Any]) -> str | None:
    """The row's person: an event's through email_people, a touch's own column."""
    if stream == "engagement_events":
        return event_person_ids(engine)[(row["source"], row["event_id"])]
    return row["person_id"]


@pytest.mark.parametrize("stream", ["engagement_events", "sales_touches"])
def test_updates_keep_person_id_and_first_loaded_at(migrated_engine: Engine, stream: str) -> None:
    load(migrated_engine, stream, [full(stream, "a"), full(stream, "b")])
    _set_person(migrated_engine, stream)
    later = T0 + timedelta(days=1)
    changed = replace(full(stream, "a"), raw={"id": "a", "v": 2})
    assert load(migrated_engine, stream, [changed, full(stream, "b")], later) == LoadCounts(
        0, 1, 1, 0
    )
    a, _ = read_row(migrated_engine, stream, "a")
    b, _ = read_row(migrated_engine, stream, "b")
    person_a, person_b = _person(migrated_engine, stream, a), _person(migrated_engine, stream, b)
    assert (person_a, a["raw"], a["first_loaded_at"], a["last_changed_at"]) == (
        "p1",
        {"id": "a", "v": 2},
        T0,
        later,
    )
    assert (person_b, b["first_loaded_at"], b["last_changed_at"]) == ("p1", T0, T0)
    if stream == "engagement_events":  # the re-load left identity's email_people alone
        with migrated_engine.connect() as conn:
            assert conn.execute(sa.select(email_people)).all() == [("zoe@example.com", "p1")]
    assert a["row_hash"] == activity_row(STREAMS[stream], changed)["row_hash"]


@ALL_STREAMS
def test_the_write_leaves_a_stored_row_of_the_same_hash_alone(
    migrated_engine: Engine, stream: str
) -> None:
    """The database-side guard: even when asked to, an unchanged row is not rewritten."""
    spec = STREAMS[stream]
    same, changed = full(stream, "same"), full(stream, "changed")
    load(migrated_engine, stream, [same, changed])
    later = T0 + timedelta(hours=3)
    new_content = replace(changed, raw={"id": "changed", "v": 2})
    rows = [encode_activity(spec, record) for record in (same, new_content)]
    with migrated_engine.begin() as conn:
        write_activity(conn, spec, rows, later)
    kept, _ = read_row(migrated_engine, stream, "same")
    updated, _ = read_row(migrated_engine, stream, "changed")
    assert (kept["first_loaded_at"], kept["last_changed_at"]) == (T0, T0)
    assert (updated["first_loaded_at"], updated["last_changed_at"]) == (T0, later)
    assert updated["raw"] == {"id": "changed", "v": 2}


def test_duplicate_keys_in_a_batch_keep_the_latest(migrated_engine: Engine) -> None:
    hour = timedelta(hours=1)
    batch = [
        _touch("t1", "L1", updated_at=T0 + hour, outcome="first latest"),
        _touch("t1", "L1", updated_at=T0, outcome="older, later in the batch"),
        _touch("t1", "L2", outcome="another lead"),
        _touch("t1", "L1", updated_at=T0 + hour, outcome="tie, last wins"),
    ]
    assert load(migrated_engine, "sales_touches", batch) == LoadCounts(2, 0, 0, 0)
    with migrated_engine.connect() as conn:
        t = STREAMS["sales_touches"].table
        found = dict(conn.execute(sa.select(t.c.lead_id, t.c.outcome)).all())
    assert found == {"L1": "tie, last wins", "L2": "another lead"}
    # The same batch again: the winners are stored, nothing changes.
    assert load(migrated_engine, "sales_touches", batch, T0 + hour) == LoadCounts(0, 0, 2, 0)


def test_two_streams_and_two_batches_in_one_transaction(migrated_engine: Engine) -> None:
    hour = timedelta(hours=1)
    with migrated_engine.begin() as conn:
        assert load_in(conn, "sales_touches", [_touch("t1"), _touch("t2")]) == LoadCounts(
            2, 0, 0, 0
        )
        assert load_in(conn, "engagement_events", [full("engagement_events", "e1")]) == (
            LoadCounts(1, 0, 0, 0)
        )
        assert load_in(conn, "sales_reps", [full("sales_reps", "r1")]) == LoadCounts(1, 0, 0, 0)
        # A second batch of touches changes t1: the first batch's rows must be gone from
        # the staging table, or t1 would be upserted twice in one statement.
        second = [_touch("t1", updated_at=T0 + hour, outcome="rescheduled"), _touch("t3")]
        assert load_in(conn, "sales_touches", second, T0 + hour) == LoadCounts(1, 1, 0, 0)
        # A third batch must not bring the first's version of t1 back either.
        assert load_in(conn, "sales_touches", [_touch("t4")], T0 + hour) == LoadCounts(1, 0, 0, 0)
    with migrated_engine.connect() as conn:
        for stream, count in (("sales_touches", 4), ("engagement_events", 1), ("sales_reps", 1)):
            table = STREAMS[stream].table
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            assert total == count, stream
    t1, _ = read_row(migrated_engine, "sales_touches", "t1")
    assert (t1["outcome"], t1["first_loaded_at"], t1["last_changed_at"]) == (
        "rescheduled",
        T0,
        T0 + hour,
    )


def test_batches_past_the_lookup_chunks_and_other_sources(migrated_engine: Engine) -> None:
    """1,200 keys (more than one IN chunk), the same ids stored under another source."""
    batch = [_touch(f"t{n}", f"L{lead}") for n in range(600) for lead in (1, 2)]
    other = [replace(row, source="salesforce", outcome="elsewhere") for row in batch[:300]]
    assert load(migrated_engine, "sales_touches", other) == LoadCounts(300, 0, 0, 0)
    assert load(migrated_engine, "sales_touches", batch) == LoadCounts(1200, 0, 0, 0)
    again = [
        replace(row, outcome="changed") if n % 100 == 0 else row for n, row in enumerate(batch)
    ]
    assert load(migrated_engine, "sales_touches", again, T0 + timedelta(hours=1)) == LoadCounts(
        0, 12, 1188, 0
    )
    spec = STREAMS["sales_touches"]
    keys = [("t0", "L1"), ("t599", "L2"), ("t0", "L9")]
    with migrated_engine.connect() as conn:
        found = stored_hashes(conn, spec, SOURCE, keys)
        elsewhere = stored_hashes(conn, spec, "salesforce", keys)
    assert found[("t0", "L1")] == encode_activity(spec, again[0])[-1]
    assert found[("t599", "L2")] == encode_activity(spec, batch[-1])[-1]
    assert ("t0", "L9") not in found
    assert elsewhere[("t0", "L1")] == encode_activity(spec, other[0])[-1]
    assert ("t599", "L2") not in elsewhere


def test_the_encoded_row_is_what_the_writers_expect() -> None:
    spec = STREAMS["engagement_events"]
    record = full("engagement_events", "e1")
    encoded = encode_activity(spec, record)
    assert len(encoded) == len(spec.columns) + 1
    values = dict(zip(spec.columns, encoded, strict=False))
    assert values["occurred_at"] == record.occurred_at
    assert values["occurred_at"].tzinfo is UTC
    assert json.loads(values["detail"]) == NESTED  # JSON as its text, encoded once
    assert encoded[-1] == activity_row(spec, record)["row_hash"]
