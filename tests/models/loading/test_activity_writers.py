"""The driver-level write path of activity streams (leadflow.models.loading.activity_writers), on both dialects.

load_stream used to write through SQLAlchemy Core's upsert; what it writes now must read
back exactly as that stored it. The round-trip tests store a reference row through Core
beside each loaded row (same content, another id) and compare them column by column, both
through the ``leadflow.models.warehouse.tables`` types and as the driver returns the stored values.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import STREAMS, activity_row, encode_activity
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.records.activity import EngagementEvent, SalesRep, SalesTouch
from leadflow.models.records.encoding import (
    canonical_json,
    json_safe,
    plain_canonical_json,
    sha256_text,
)
from tests.models.loading.activity_write_cases import (
    ACCOUNT,
    ALL_STREAMS,
    ID_FIELD,
    KOLKATA,
    PARIS,
    SOURCE,
    T0,
    VARIANTS,
    full,
    load,
    non_plain,
    read_row,
    store_reference,
)


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
        store_reference(conn, stream, reference, now)
    loaded, loaded_raw = read_row(migrated_engine, stream, "loaded")
    expected, expected_raw = read_row(migrated_engine, stream, "reference")

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
    record = non_plain("sales_touches", "t1")
    plain = [full("sales_touches", f"p{n}") for n in range(3)]
    assert load(migrated_engine, "sales_touches", [*plain, record]) == LoadCounts(4, 0, 0, 0)
    stored, _ = read_row(migrated_engine, "sales_touches", "t1")
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
    load(migrated_engine, stream, [full(stream, "x")])
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
