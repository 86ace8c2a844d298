"""Idempotent loading of leads, quarantined records and sync state into the warehouse.

Every function takes an open Connection and runs inside the caller's transaction, so the
rows of a batch and the watermark that covers them commit (or roll back) together.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from models.leads import Lead, Rejected
from models.tables import leads as leads_table
from models.tables import quarantine, sync_runs, sync_state
from models.warehouse import unprepared

IN_CHUNK_SIZE = 500
LEAD_FIELDS = tuple(f.name for f in fields(Lead))
LEAD_JSON_FIELDS = ("consent", "custom_fields", "raw")
LEAD_KEY = ("source", "source_lead_id")
# On update, the load timestamps and identity resolution's person_id are left alone.
LEAD_UPDATE_COLUMNS = (
    *(n for n in LEAD_FIELDS if n not in LEAD_KEY),
    "row_hash",
    "last_changed_at",
)
QUARANTINE_KEY = ("source", "account_id", "record_key")

UpdateValue = Callable[[sa.Table, Any], sa.ColumnElement[Any]]
_UPSERT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True, slots=True)
class LoadCounts:
    """What one batch did to the leads and quarantine tables."""

    inserted: int
    updated: int
    unchanged: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where the next incremental sync of one source and account starts."""

    source: str
    account_id: str
    watermark: datetime | None
    cursor: dict[str, Any] | None
    updated_at: datetime


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types: mappings, lists, str, finite numbers, bool, None.

    Datetimes become ISO 8601 (aware ones in UTC), Decimals and non-finite floats strings,
    enums their value, sets sorted lists; anything else its ``str``.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=canonical_json)
    return _json_scalar(value)


def _json_scalar(value: Any) -> Any:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC).isoformat()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value)
    return str(value)  # Decimal keeps its exact digits; other objects their text


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, datetimes as ISO 8601 UTC."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_scalar
    )


# canonical_json for values that are already plain JSON: C speed, and refuses anything else.
_plain_canonical_json = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def sha256_hex(value: Any) -> str:
    """sha256 (hex) of ``value``'s canonical JSON."""
    return _sha256(canonical_json(value))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lead_row(lead: Lead) -> dict[str, Any]:
    """The ``leads`` columns for ``lead`` (JSON-safe), with ``row_hash`` over its content.

    Load timestamps and ``person_id`` are not content: load_batch and identity resolution
    set them.
    """
    row = {name: getattr(lead, name) for name in LEAD_FIELDS}
    stamps = {"created_at": lead.created_at.isoformat(), "updated_at": lead.updated_at.isoformat()}
    try:  # the common case: JSON fields already hold plain JSON
        text = _plain_canonical_json(row | stamps)
    except (TypeError, ValueError):
        for name in LEAD_JSON_FIELDS:
            row[name] = json_safe(row[name])
        text = canonical_json(row | stamps)
    row["row_hash"] = _sha256(text)
    return row


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str],
    *,
    computed: Mapping[str, UpdateValue] | None = None,
) -> None:
    """Insert ``rows`` (one executemany), updating ``update_columns`` where the key exists.

    ``computed`` maps further columns to ``f(table, excluded) -> SQL expression`` for
    updates that depend on the stored row. Rows must share the same keys and be unique
    by ``key_columns``.
    """
    if not rows:
        return
    insert = _UPSERT_INSERTS[conn.dialect.name](table)
    set_ = {name: insert.excluded[name] for name in update_columns}
    set_.update({name: make(table, insert.excluded) for name, make in (computed or {}).items()})
    target = [table.c[name] for name in key_columns]
    if set_:
        statement = insert.on_conflict_do_update(index_elements=target, set_=set_)
    else:
        statement = insert.on_conflict_do_nothing(index_elements=target)
    conn.execute(statement, list(rows))


def load_batch(
    conn: Connection,
    *,
    source: str,
    account_id: str,
    leads: Sequence[Lead],
    rejected: Sequence[Rejected],
    watermark: datetime | None,
    cursor: Mapping[str, Any] | None,
    now: datetime,
) -> LoadCounts:
    """Upsert one batch of leads, quarantine its rejects and save the sync state.

    Leads are deduplicated by natural key (latest ``updated_at``, then last, wins); only
    new or changed leads are written. Runs in the caller's transaction.
    """
    _require_aware(now=now, watermark=watermark)
    rows = [lead_row(lead) for lead in latest_by_key(leads, source)]
    stored = _stored_hashes(conn, source, [row["source_lead_id"] for row in rows])
    new = [row for row in rows if row["source_lead_id"] not in stored]
    changed = [
        row for row in rows if stored.get(row["source_lead_id"], row["row_hash"]) != row["row_hash"]
    ]
    for row in (*new, *changed):
        row.update(first_loaded_at=now, last_changed_at=now)
    upsert(conn, leads_table, [*new, *changed], LEAD_KEY, LEAD_UPDATE_COLUMNS)
    clear_quarantine(conn, source, account_id, [row["source_lead_id"] for row in rows])
    quarantine_records(conn, rejected, now)
    save_sync_state(conn, source, account_id, watermark, cursor, now)
    unchanged = len(rows) - len(new) - len(changed)
    return LoadCounts(len(new), len(changed), unchanged, len(rejected))


def latest_by_key(batch: Iterable[Lead], source: str) -> list[Lead]:
    """One lead per natural key: the latest ``updated_at``, ties going to the later one."""
    latest: dict[str, Lead] = {}
    for lead in batch:
        if lead.source != source:
            raise ValueError(
                f"lead {lead.source_lead_id!r} is from {lead.source!r}, not {source!r}"
            )
        seen = latest.get(lead.source_lead_id)
        if seen is None or lead.updated_at >= seen.updated_at:
            latest[lead.source_lead_id] = lead
    return list(latest.values())


def _stored_hashes(conn: Connection, source: str, lead_ids: Sequence[str]) -> dict[str, str]:
    stored: dict[str, str] = {}
    with unprepared(conn):
        for chunk in _chunks(lead_ids):
            query = sa.select(leads_table.c.source_lead_id, leads_table.c.row_hash).where(
                leads_table.c.source == source, leads_table.c.source_lead_id.in_(chunk)
            )
            stored.update(conn.execute(query).all())
    return stored


def _chunks(items: Sequence[str], size: int = IN_CHUNK_SIZE) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def clear_quarantine(
    conn: Connection, source: str, account_id: str, record_keys: Sequence[str]
) -> None:
    """Delete the quarantine rows of records that have now loaded fine."""
    scope = (quarantine.c.source == source) & (quarantine.c.account_id == account_id)
    anything_quarantined = sa.select(sa.literal(1)).where(scope).limit(1)
    if not record_keys or conn.execute(anything_quarantined).first() is None:
        return
    for chunk in _chunks(record_keys):
        conn.execute(sa.delete(quarantine).where(scope, quarantine.c.record_key.in_(chunk)))


def quarantine_key(item: Rejected) -> str:
    """The record's platform key, else ``"sha256:"`` + the hash of its canonical JSON."""
    return item.record_key if item.record_key is not None else "sha256:" + sha256_hex(item.raw)


def quarantine_records(conn: Connection, rejected: Sequence[Rejected], now: datetime) -> None:
    """Upsert rejected records: first_seen_at kept, the rest refreshed, times_seen counted."""
    times = Counter((r.source, r.account_id, quarantine_key(r)) for r in rejected)
    rows = {(r.source, r.account_id, quarantine_key(r)): _quarantine_row(r, now) for r in rejected}
    for key, row in rows.items():
        row["times_seen"] = times[key]
    updates = ("field", "reason", "raw", "last_seen_at")
    computed = {"times_seen": lambda table, new: table.c.times_seen + new.times_seen}
    upsert(conn, quarantine, list(rows.values()), QUARANTINE_KEY, updates, computed=computed)


def _quarantine_row(item: Rejected, now: datetime) -> dict[str, Any]:
    return {
        "source": item.source,
        "account_id": item.account_id,
        "record_key": quarantine_key(item),
        "field": item.field_name,
        "reason": item.reason,
        "raw": json_safe(item.raw),
        "first_seen_at": now,
        "last_seen_at": now,
    }


def save_sync_state(
    conn: Connection,
    source: str,
    account_id: str,
    watermark: datetime | None,
    cursor: Mapping[str, Any] | None,
    now: datetime,
) -> None:
    """Save where the next sync starts; the watermark never moves backwards.

    The stored watermark becomes max(stored, ``watermark``); None leaves it as is. The
    cursor is replaced, so None clears a finished sync's resume token.
    """
    row = {
        "source": source,
        "account_id": account_id,
        "watermark": watermark,
        "cursor": json_safe(cursor),
        "updated_at": now,
    }
    key, updates = ("source", "account_id"), ("cursor", "updated_at")
    upsert(conn, sync_state, [row], key, updates, computed={"watermark": _forward_only})


def _forward_only(table: sa.Table, new: Any) -> sa.ColumnElement[Any]:
    # Both sides were written through UTCDateTime, so on SQLite (where they are text in
    # one fixed format) comparing them orders them by time.
    old = table.c.watermark
    return sa.case(
        (new.watermark.is_(None), old),
        (old.is_(None), new.watermark),
        (new.watermark > old, new.watermark),
        else_=old,
    )


def read_sync_state(conn: Connection, source: str, account_id: str) -> SyncState | None:
    """The saved sync state of ``source`` and ``account_id``, or None before the first sync."""
    query = sa.select(sync_state).where(
        sync_state.c.source == source, sync_state.c.account_id == account_id
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return SyncState(row.source, row.account_id, row.watermark, row.cursor, row.updated_at)


def record_sync_run(conn: Connection, row: Mapping[str, Any]) -> None:
    """Insert or update one ``sync_runs`` row (by run_id, source, account_id)."""
    key = ("run_id", "source", "account_id")
    updates = [name for name in row if name not in key]
    upsert(conn, sync_runs, [dict(row)], key, updates)


def _require_aware(**values: datetime | None) -> None:
    for name, value in values.items():
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
