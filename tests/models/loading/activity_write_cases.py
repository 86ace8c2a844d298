"""What the activity writer tests share: records with every column set, none set, or JSON
that is not plain; loading them, storing a reference row the SQLAlchemy Core way, reading
rows back (``test_activity_writers``, ``test_activity_write_batches``)."""

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

from leadflow.models.loading.activity import STREAMS, activity_row, load_stream
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.records.activity import EngagementEvent, SalesRep, SalesTouch, StatusChange
from leadflow.models.records.encoding import json_safe

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SOURCE, ACCOUNT = "hubspot", "portal_1"
PARIS = timezone(timedelta(hours=1))
KOLKATA = timezone(timedelta(hours=5, minutes=30))
LOS_ANGELES = timezone(timedelta(hours=-8))
# The record field that tells a reference row from the loaded one.
ID_FIELD = {"engagement_events": "event_id", "sales_touches": "touch_id", "sales_reps": "rep_id",
            "crm_status_changes": "change_id"}  # fmt: skip
NESTED = {
    "name": "Zoë 東京 🚀",
    "quote": 'say "hi"\n\ttab \\ slash',
    "nested": {"list": [1, -2.5, None, True, False, {"deep": []}], "empty": {}},
    "big": 2**70,
    "tiny": 1e-7,
    "line\u2028sep": "\x1f",
    "none": None,
}


def full(stream: str, record_id: str) -> Any:
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
    if stream == "crm_status_changes":
        return StatusChange(
            "salesforce", record_id, "00Q1", "Status", occurred, updated, "Closed - Converted",
            "Working - Contacted", "005A", "Zoë's reason", {"Id": record_id, "x": NESTED},
        )  # fmt: skip
    return SalesRep(SOURCE, record_id, updated, "grace@example.com", "Grâce", "Hopper", "EMEA",
                    False, {"id": record_id, "teams": [NESTED]})  # fmt: skip


def sparse(stream: str, record_id: str) -> Any:
    """Every nullable column None, empty JSON, timestamps west of UTC (another UTC date)."""
    late = datetime(2026, 3, 1, 23, 59, 59, tzinfo=LOS_ANGELES)
    if stream == "engagement_events":
        return EngagementEvent(SOURCE, record_id, ACCOUNT, "open", late, detail={}, raw={})
    if stream == "sales_touches":
        return SalesTouch(SOURCE, record_id, "L2", "call", late, late, raw={})
    if stream == "crm_status_changes":
        return StatusChange("salesforce", record_id, "00Q2", "Status", late, late, raw={})
    return SalesRep(SOURCE, record_id, late, archived=True, raw={})


def non_plain(stream: str, record_id: str) -> Any:
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
    return replace(full(stream, record_id), raw=odd)


VARIANTS = {"full": full, "sparse": sparse, "non_plain": non_plain}
ALL_STREAMS = pytest.mark.parametrize("stream", sorted(STREAMS))


def load(engine: Engine, stream: str, rows: Sequence[Any], now: datetime = T0) -> LoadCounts:
    with engine.begin() as conn:
        return load_in(conn, stream, rows, now)


def load_in(conn: Connection, stream: str, rows: Sequence[Any], now: datetime = T0) -> LoadCounts:
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


def store_reference(conn: Connection, stream: str, record: Any, now: datetime) -> None:
    """``record`` stored the way the SQLAlchemy Core path did: its values bound by the tables'
    types, JSON fields made plain by json_safe."""
    spec = STREAMS[stream]
    row = {name: getattr(record, name) for name in spec.columns}
    for name in spec.json_fields:
        row[name] = json_safe(row[name])
    row.update(row_hash=activity_row(spec, record)["row_hash"], first_loaded_at=now)
    conn.execute(sa.insert(spec.table), [row | {"last_changed_at": now}])


def read_row(engine: Engine, stream: str, record_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
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
