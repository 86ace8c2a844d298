"""The driver-level write path of activity streams (leadflow.models.loading.activity_writers), on both dialects.

load_stream used to write through SQLAlchemy Core's upsert; what it writes now must read
back exactly as that stored it. The round-trip tests store a reference row through Core
beside each loaded row (same content, another id) and compare them column by column, both
through the ``leadflow.models.warehouse.tables`` types and as the driver returns the stored values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from leadflow.models.loading.activity import STREAMS, activity_row, encode_activity, load_stream
from leadflow.models.loading.activity_writers import stored_hashes, write_activity
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.records.activity import EngagementEvent, SalesRep, SalesTouch
from leadflow.models.records.encoding import (
    canonical_json,
    json_safe,
    plain_canonical_json,
    sha256_text,
)
from leadflow.models.warehouse.tables import people

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SOURCE, ACCOUNT = "hubspot", "portal_1"
PARIS = timezone(timedelta(hours=1))
KOLKATA = timezone(timedelta(hours=5, minutes=30))
LOS_ANGELES = timezone(timedelta(hours=-8))
# The record field that tells a reference row from the loaded one.
ID_FIELD = {"engagement_events": "event_id", "sales_touches": "touch_id", "sales_reps": "rep_id"}
NESTED = {
    "name": "Zoë 東京 🚀",
    "quote": 'say "hi"\n\ttab \\ slash',
    "nested": {"list": [1, -2.5, None, True, False, {"deep": []}], "empty": {}},
    "big": 2**70,
    "tiny": 1e-7,
    "line\u2028sep": "\x1f",
    "none": None,
}


def _full(stream: str, record_id: str) -> Any:
    """Every column set, timestamps in offsets other than UTC, with microseconds."""
    occurred = datetime(2026, 3, 2, 10, 30, 1, 123456, tzinfo=PARIS)
    updated = datetime(2026, 3, 2, 20, 0, 0, 999999, tzinfo=KOLKATA)
    if stream == "engagement_events":
        return EngagementEvent(
            SOURCE, record_id, ACCOUNT, "click", occurred, "email", "Zoë@example.com",
            "zoe@example.com", "email_1", NESTED, {"id": record_id, "payload": NESTED},
        )  # fmt: skip
    if stream == "sales_touches":
        return SalesTouch(
            SOURCE, record_id, "L1", "meeting", occurred, updated, "rep_1", "OUTBOUND",
            "connected", {"id": record_id, "properties": NESTED},
        )  # fmt: skip
    return SalesRep(SOURCE, record_id, updated, "grace@example.com", "Grâce", "Hopper", "EMEA",
                    False, {"id": record_id, "teams": [NESTED]})  # fmt: skip


def _sparse(stream: str, record_id: str) -> Any:
    """Every nullable column None, empty JSON, timestamps west of UTC (another UTC date)."""
    late = datetime(2026, 3, 1, 23, 59, 59, tzinfo=LOS_ANGELES)
    if stream == "engagement_events":
        return EngagementEvent(SOURCE, record_id, ACCOUNT, "open", late, detail={}, raw={})
    if stream == "sales_touches":
        return SalesTouch(SOURCE, record_id, "L2", "call", late, late, raw={})
    return SalesRep(SOURCE, record_id, late, archived=True, raw={})


def _non_plain(stream: str, record_id: str) -> Any:
    """JSON fields that are not plain JSON: json_safe makes them so."""

    class Tier(Enum):
        GOLD = "gold"

    odd = MappingProxyType(
        {
            "amount": Decimal("1.10"),
            "when": datetime(2026, 3, 2, 10, 30, tzinfo=PARIS),
            "tags": {"b", "a"},
            "pair": ("x", 1),
            "nan": math.nan,
            "tier": Tier.GOLD,
            1: "int key",
        }
    )
    return replace(_full(stream, record_id), raw=odd)


VARIANTS = {"full": _full, "sparse": _sparse, "non_plain": _non_plain}
ALL_STREAMS = pytest.mark.parametrize("stream", sorted(STREAMS))


def load(engine: Engine, stream: str, rows: Sequence[Any], now: datetime = T0) -> LoadCounts:
    with engine.begin() as conn:
        return _load(conn, stream, rows, now)


def _load(conn: Connection, stream: str, rows: Sequence[Any], now: datetime = T0) -> LoadCounts:
    return load_stream(
        conn,
        stream=stream,
        source=rows[0].source if rows else SOURCE,
        account_id=ACCOUNT,
        rows=rows,
        rejected=[],
        watermark=None,
        state_key=f"{stream}:{ACCOUNT}",
        now=now,
    )


def _reference(conn: Connection, stream: str, record: Any, now: datetime) -> None:
    """``record`` stored the way the SQLAlchemy Core path did: its values bound by the tables'
    types, JSON fields made plain by json_safe."""
    spec = STREAMS[stream]
    row = {name: getattr(record, name) for name in spec.columns}
    for name in spec.json_fields:
        row[name] = json_safe(row[name])
    row.update(row_hash=activity_row(spec, record)["row_hash"], first_loaded_at=now)
    conn.execute(sa.insert(spec.table), [row | {"last_changed_at": now}])


def _read(engine: Engine, stream: str, record_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored row of ``record_id`` through the table's types, and as the driver reads it."""
    spec = STREAMS[stream]
    table, id_field = spec.table, ID_FIELD[stream]
    with engine.connect() as conn:
        typed = conn.execute(sa.select(table).where(table.c[id_field] == record_id)).mappings()
        untyped = conn.execute(
            sa.text(f"SELECT * FROM {table.name} WHERE {id_field} = :id"), {"id": record_id}
        ).mappings()
        (typed_row,) = typed.all()
        (raw_row,) = untyped.all()
    raw = dict(raw_row)
    for name in spec.json_fields:  # SQLite hands JSON back as its text, psycopg parsed
        if isinstance(raw[name], str):
            raw[name] = json.loads(raw[name])
    return dict(typed_row), raw


@ALL_STREAMS
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_columns_read_back_as_the_sqlalchemy_path_stored_them(
    migrated_engine: Engine, stream: str, variant: str
) -> None:
    record = VARIANTS[variant](stream, "loaded")
    reference = replace(record, **{ID_FIELD[stream]: "reference"})
    now = datetime(2026, 3, 3, 1, 2, 3, 4, tzinfo=KOLKATA)
    assert load(migrated_engine, stream, [record], now) == LoadCounts(1, 0, 0, 0)
    with migrated_engine.begin() as conn:
        _reference(conn, stream, reference, now)
    loaded, loaded_raw = _read(migrated_engine, stream, "loaded")
    expected, expected_raw = _read(migrated_engine, stream, "reference")

    spec = STREAMS[stream]
    assert set(loaded) == {c.name for c in spec.table.columns}
    differ = {ID_FIELD[stream], "row_hash"}
    for name in set(loaded) - differ:
        assert loaded[name] == expected[name], name
        assert type(loaded[name]) is type(expected[name]), name
        assert loaded_raw[name] == expected_raw[name], name  # the stored value itself
    assert loaded["row_hash"] == activity_row(spec, record)["row_hash"]
    assert loaded.get("person_id") is None  # sales_reps have none
    for name in (*spec.timestamps, "first_loaded_at", "last_changed_at"):
        assert loaded[name].tzinfo is UTC
        assert loaded[name] == getattr(record, name, now)
    for name in spec.json_fields:
        assert loaded[name] == json_safe(getattr(record, name))


def test_a_non_plain_json_value_is_stored_as_json_safe_makes_it(migrated_engine: Engine) -> None:
    record = _non_plain("sales_touches", "t1")
    plain = [_full("sales_touches", f"p{n}") for n in range(3)]
    assert load(migrated_engine, "sales_touches", [*plain, record]) == LoadCounts(4, 0, 0, 0)
    stored, _ = _read(migrated_engine, "sales_touches", "t1")
    assert stored["raw"] == {
        "amount": "1.10",
        "when": "2026-03-02T09:30:00+00:00",
        "tags": ["a", "b"],
        "pair": ["x", 1],
        "nan": "nan",
        "tier": "gold",
        "1": "int key",
    }
    # The same content again, whichever way the hash was taken, is unchanged.
    again = [*plain, replace(record, raw=dict(record.raw))]
    assert load(migrated_engine, "sales_touches", again, T0 + timedelta(hours=1)) == LoadCounts(
        0, 0, 4, 0
    )


@ALL_STREAMS
def test_json_columns_hold_json_not_a_string_of_it(migrated_engine: Engine, stream: str) -> None:
    load(migrated_engine, stream, [_full(stream, "x")])
    spec = STREAMS[stream]
    typeof = (
        "json_typeof({}::json)"
        if migrated_engine.dialect.name == "postgresql"
        else ("json_type({})")
    )
    with migrated_engine.connect() as conn:
        for name in spec.json_fields:
            kind = conn.execute(sa.text(f"SELECT {typeof.format(name)} FROM {spec.table.name}"))
            assert kind.scalar_one() == "object", name
        quoted = conn.execute(sa.text(f"SELECT raw FROM {spec.table.name}")).scalar_one()
    if isinstance(quoted, str):  # SQLite: the text itself keeps non-ASCII as is
        assert "東京" in quoted


def test_row_hash_is_the_format_stored_rows_have() -> None:
    """Hashes of the SQLAlchemy Core path (else every stored row would look changed)."""
    touch = SalesTouch(
        SOURCE, "t1", "L1", "call", T0, T0, "rep_1", "OUTBOUND", "connected",
        {"id": "t1", "props": {"é": [1, 2.5, None]}},
    )  # fmt: skip
    event = EngagementEvent(
        SOURCE, "e1", ACCOUNT, "click", T0, detail={"url": "https://x/é"}, raw={"id": "e1"}
    )
    rep = SalesRep(SOURCE, "r1", T0, archived=True, raw={"id": "r1"})
    assert [
        encode_activity(STREAMS["sales_touches"], touch)[-1],
        encode_activity(STREAMS["engagement_events"], event)[-1],
        encode_activity(STREAMS["sales_reps"], rep)[-1],
    ] == [
        "ddf950168aff9f97be01f7db6a9bd4d08ad845ffdcde7558c3bad38e8ed75df6",
        "17aa06a167bc65042d881c6d300bc146dfdb69fb0cc203199b8ab9d8b61c4805",
        "91e18f57673e28d72255f537a65126039b550b4fb950ac3de4c2c2f531bbec1e",
    ]
    # Another offset of the same instants is the same content.
    local = replace(touch, occurred_at=T0.astimezone(PARIS), updated_at=T0.astimezone(KOLKATA))
    assert encode_activity(STREAMS["sales_touches"], local) == encode_activity(
        STREAMS["sales_touches"], touch
    )


def _hash_as_before(stream: str, record: Any) -> str:
    """row_hash as the SQLAlchemy Core path took it: the whole row's canonical JSON at once."""
    spec = STREAMS[stream]
    row = {name: getattr(record, name) for name in spec.columns}
    row |= {name: row[name].astimezone(UTC).isoformat() for name in spec.timestamps}
    try:
        text = plain_canonical_json(row)
    except (TypeError, ValueError):
        text = canonical_json(row | {name: json_safe(row[name]) for name in spec.json_fields})
    return sha256_text(text)


@ALL_STREAMS
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"n": [1e-7, 1e16, 0.1, -0.0, 2**70]}, id="numbers"),
        pytest.param({10: "a", 9: "b"}, id="int-keys"),
        pytest.param({10: "a", "when": T0.astimezone(PARIS)}, id="int-keys-and-datetime"),
        pytest.param({"nan": math.inf}, id="infinity"),
        pytest.param({"s": '\x00\x7f\u2028\\"東京\U0001f680'}, id="escapes"),
        pytest.param(MappingProxyType({"raw": {"raw": 1}}), id="mapping-proxy"),
    ],
)
def test_row_hash_matches_the_whole_row_encoding(stream: str, raw: Any) -> None:
    for make in VARIANTS.values():
        record = replace(make(stream, "x"), raw=raw)
        assert encode_activity(STREAMS[stream], record)[-1] == _hash_as_before(stream, record)


def _touch(touch_id: str, lead_id: str = "L1", **overrides: Any) -> SalesTouch:
    return replace(_full("sales_touches", touch_id), lead_id=lead_id, **overrides)


def _set_person(engine: Engine, stream: str) -> None:
    with engine.begin() as conn:
        conn.execute(people.insert(), {"person_id": "p1", "created_at": T0, "updated_at": T0})
        conn.execute(sa.update(STREAMS[stream].table).values(person_id="p1"))


@pytest.mark.parametrize("stream", ["engagement_events", "sales_touches"])
def test_updates_keep_person_id_and_first_loaded_at(migrated_engine: Engine, stream: str) -> None:
    load(migrated_engine, stream, [_full(stream, "a"), _full(stream, "b")])
    _set_person(migrated_engine, stream)
    later = T0 + timedelta(days=1)
    changed = replace(_full(stream, "a"), raw={"id": "a", "v": 2})
    assert load(migrated_engine, stream, [changed, _full(stream, "b")], later) == LoadCounts(
        0, 1, 1, 0
    )
    a, _ = _read(migrated_engine, stream, "a")
    b, _ = _read(migrated_engine, stream, "b")
    assert (a["person_id"], a["raw"], a["first_loaded_at"], a["last_changed_at"]) == (
        "p1",
        {"id": "a", "v": 2},
        T0,
        later,
    )
    assert (b["person_id"], b["first_loaded_at"], b["last_changed_at"]) == ("p1", T0, T0)
    assert a["row_hash"] == activity_row(STREAMS[stream], changed)["row_hash"]


@ALL_STREAMS
def test_the_write_leaves_a_stored_row_of_the_same_hash_alone(
    migrated_engine: Engine, stream: str
) -> None:
    """The database-side guard: even when asked to, an unchanged row is not rewritten."""
    spec = STREAMS[stream]
    same, changed = _full(stream, "same"), _full(stream, "changed")
    load(migrated_engine, stream, [same, changed])
    later = T0 + timedelta(hours=3)
    new_content = replace(changed, raw={"id": "changed", "v": 2})
    rows = [encode_activity(spec, record) for record in (same, new_content)]
    with migrated_engine.begin() as conn:
        write_activity(conn, spec, rows, later)
    kept, _ = _read(migrated_engine, stream, "same")
    updated, _ = _read(migrated_engine, stream, "changed")
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
        assert _load(conn, "sales_touches", [_touch("t1"), _touch("t2")]) == LoadCounts(2, 0, 0, 0)
        assert _load(conn, "engagement_events", [_full("engagement_events", "e1")]) == (
            LoadCounts(1, 0, 0, 0)
        )
        assert _load(conn, "sales_reps", [_full("sales_reps", "r1")]) == LoadCounts(1, 0, 0, 0)
        # A second batch of touches changes t1: the first batch's rows must be gone from
        # the staging table, or t1 would be upserted twice in one statement.
        second = [_touch("t1", updated_at=T0 + hour, outcome="rescheduled"), _touch("t3")]
        assert _load(conn, "sales_touches", second, T0 + hour) == LoadCounts(1, 1, 0, 0)
        # A third batch must not bring the first's version of t1 back either.
        assert _load(conn, "sales_touches", [_touch("t4")], T0 + hour) == LoadCounts(1, 0, 0, 0)
    with migrated_engine.connect() as conn:
        for stream, count in (("sales_touches", 4), ("engagement_events", 1), ("sales_reps", 1)):
            table = STREAMS[stream].table
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            assert total == count, stream
    t1, _ = _read(migrated_engine, "sales_touches", "t1")
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
    record = _full("engagement_events", "e1")
    encoded = encode_activity(spec, record)
    assert len(encoded) == len(spec.columns) + 1
    values = dict(zip(spec.columns, encoded, strict=False))
    assert values["occurred_at"] == record.occurred_at
    assert values["occurred_at"].tzinfo is UTC
    assert json.loads(values["detail"]) == NESTED  # JSON as its text, encoded once
    assert encoded[-1] == activity_row(spec, record)["row_hash"]
