"""Idempotent loading of activity streams: engagement events, sales touches and sales reps.

Each stream loads like leads: rows are deduplicated within the batch by natural key, only
new or changed rows (by ``row_hash``) are written, in one executemany upsert, and the
batch's rejects and watermark commit in the same (the caller's) transaction.

Out of scope: a sales touch whose association with a lead was removed on the platform
keeps its stored ``(source, touch_id, lead_id)`` row. A batch only says which leads a
touch is on now, not which it left (a touch left with no lead yields no row at all), so
reconciling needs a full re-read of the touch's associations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models.activity import EngagementEvent, SalesRep, SalesTouch
from models.leads import Rejected
from models.load import LoadCounts, quarantine_records, save_sync_state
from models.tables import engagement_events, sales_reps, sales_touches
from models.upsert import (
    canonical_json,
    chunks,
    json_safe,
    plain_canonical_json,
    require_aware,
    sha256_text,
    upsert,
)
from models.warehouse import unprepared

ActivityRecord = EngagementEvent | SalesTouch | SalesRep


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """How one activity stream maps onto its table."""

    name: str
    table: sa.Table
    record_type: type[EngagementEvent] | type[SalesTouch] | type[SalesRep]
    key: tuple[str, ...]  # natural key, starting with "source"
    json_fields: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The record's fields, which are also its table's content columns."""
        return tuple(f.name for f in fields(self.record_type))

    @property
    def timestamps(self) -> tuple[str, ...]:
        return tuple(n for n in self.columns if n in ("occurred_at", "updated_at"))

    @property
    def update_columns(self) -> tuple[str, ...]:
        # On update, first_loaded_at and identity resolution's person_id are left alone.
        content = (n for n in self.columns if n not in self.key)
        return (*content, "row_hash", "last_changed_at")


STREAMS: dict[str, StreamSpec] = {
    spec.name: spec
    for spec in (
        StreamSpec(
            "engagement_events",
            engagement_events,
            EngagementEvent,
            ("source", "event_id"),
            ("detail", "raw"),
        ),
        StreamSpec(
            "sales_touches",
            sales_touches,
            SalesTouch,
            ("source", "touch_id", "lead_id"),
            ("raw",),
        ),
        StreamSpec("sales_reps", sales_reps, SalesRep, ("source", "rep_id"), ("raw",)),
    )
}


def stream_spec(stream: str) -> StreamSpec:
    """The spec of ``stream``; ValueError for a stream leadflow does not know."""
    try:
        return STREAMS[stream]
    except KeyError:
        known = ", ".join(sorted(STREAMS))
        raise ValueError(f"unknown stream {stream!r} (known: {known})") from None


def activity_row(spec: StreamSpec, record: ActivityRecord) -> dict[str, Any]:
    """The table columns for ``record`` (JSON-safe, datetimes in UTC), with ``row_hash``.

    The hash covers every field of the record, with timestamps as ISO 8601 UTC (so the
    same instant in another offset hashes the same). Load timestamps and ``person_id``
    are not content: load_stream and identity resolution set them.
    """
    row = {name: getattr(record, name) for name in spec.columns}
    for name in spec.timestamps:
        row[name] = row[name].astimezone(UTC)
    stamps = {name: row[name].isoformat() for name in spec.timestamps}
    try:  # the common case: JSON fields already hold plain JSON
        text = plain_canonical_json(row | stamps)
    except (TypeError, ValueError):
        for name in spec.json_fields:
            row[name] = json_safe(row[name])
        text = canonical_json(row | stamps)
    row["row_hash"] = sha256_text(text)
    return row


def load_stream(
    conn: Connection,
    *,
    stream: str,
    source: str,
    account_id: str,
    rows: Sequence[ActivityRecord],
    rejected: Sequence[Rejected],
    watermark: datetime | None,
    state_key: str,
    now: datetime,
) -> LoadCounts:
    """Upsert one batch of ``stream`` rows, quarantine its rejects and save the watermark.

    ``stream`` is "engagement_events", "sales_touches" or "sales_reps" (else ValueError);
    every row must be of that stream's record type and from ``source``, with aware
    timestamps (else ValueError, before anything is written). Rows are deduplicated by
    natural key: the latest ``updated_at`` wins, ties (and engagement events, which have
    none) going to the later row. Only new or changed rows are written; stored rows of
    an unchanged key keep their ``last_changed_at``. Rejects go to ``quarantine`` under
    their own source and account (``account_id`` is not otherwise used: rows are checked
    against ``source`` only, and quarantine entries are not cleared when a record later
    loads, since stream record keys may collide with lead keys). The watermark is saved
    under ``(source, state_key)`` in ``sync_state`` (never moving back; cursor cleared).
    Runs in the caller's transaction.
    """
    spec = stream_spec(stream)
    require_aware(now=now, watermark=watermark)
    fresh = [activity_row(spec, record) for record in _latest_by_key(spec, rows, source)]
    stored = _stored_hashes(conn, spec, source, fresh)
    new = [row for row in fresh if _natural_key(spec, row) not in stored]
    changed = [
        row
        for row in fresh
        if stored.get(_natural_key(spec, row), row["row_hash"]) != row["row_hash"]
    ]
    for row in (*new, *changed):
        row.update(first_loaded_at=now, last_changed_at=now)
    upsert(conn, spec.table, [*new, *changed], spec.key, spec.update_columns)
    quarantine_records(conn, rejected, now)
    save_sync_state(conn, source, state_key, watermark, None, now)
    unchanged = len(fresh) - len(new) - len(changed)
    return LoadCounts(len(new), len(changed), unchanged, len(rejected))


def _natural_key(spec: StreamSpec, row: dict[str, Any]) -> tuple[str, ...]:
    """The key without ``source`` (one source per batch)."""
    return tuple(row[name] for name in spec.key[1:])


def _latest_by_key(
    spec: StreamSpec, rows: Iterable[ActivityRecord], source: str
) -> list[ActivityRecord]:
    latest: dict[tuple[Any, ...], ActivityRecord] = {}
    for record in rows:
        if not isinstance(record, spec.record_type):
            raise ValueError(
                f"stream {spec.name!r} loads {spec.record_type.__name__} rows, "
                f"not {type(record).__name__}"
            )
        key = tuple(getattr(record, name) for name in spec.key)
        if record.source != source:
            raise ValueError(
                f"{spec.name} row {key[1:]!r} is from {record.source!r}, not {source!r}"
            )
        for name in spec.timestamps:
            if getattr(record, name).utcoffset() is None:
                raise ValueError(
                    f"{spec.name} row {key[1:]!r}: {name} must be timezone-aware, "
                    f"got {getattr(record, name)!r}"
                )
        seen = latest.get(key)
        if seen is None or _not_older(record, seen):
            latest[key] = record
    return list(latest.values())


def _not_older(record: ActivityRecord, seen: ActivityRecord) -> bool:
    """Whether ``record`` may replace ``seen`` (same key, later in the batch)."""
    if isinstance(record, EngagementEvent) or isinstance(seen, EngagementEvent):
        return True  # events are never updated: the later one wins
    return record.updated_at >= seen.updated_at


def _stored_hashes(
    conn: Connection, spec: StreamSpec, source: str, rows: Sequence[dict[str, Any]]
) -> dict[tuple[str, ...], str]:
    """Stored row hashes by natural key (without source), looked up by the key's first id.

    For sales touches that fetches every stored lead of the batch's touches: a superset
    of the batch's keys, which is harmless.
    """
    table, rest = spec.table, spec.key[1:]
    ids = sorted({row[rest[0]] for row in rows})
    stored: dict[tuple[str, ...], str] = {}
    with unprepared(conn):
        for chunk in chunks(ids):
            query = sa.select(*(table.c[name] for name in rest), table.c.row_hash).where(
                table.c.source == source, table.c[rest[0]].in_(chunk)
            )
            stored.update({tuple(found[:-1]): found[-1] for found in conn.execute(query)})
    return stored


def first_outbound_touches(conn: Connection, source: str) -> dict[str, datetime]:
    """Each lead's earliest outbound sales touch: ``lead_id -> occurred_at`` (aware UTC).

    A touch counts when a rep owns it (``owner_id`` not null) and it is outbound
    (``direction`` "outbound", any case) or a meeting (``touch_type`` "meeting", any
    case, whatever its direction or outcome). Inbound touches, calls and emails without a
    direction, and touches no rep owns don't count; connectors map platform directions
    to "outbound"/"inbound". Leads without such a touch are absent. Read-only; served by
    the (source, lead_id, occurred_at) index.
    """
    t = sales_touches
    outbound = sa.or_(
        sa.func.lower(t.c.direction) == "outbound", sa.func.lower(t.c.touch_type) == "meeting"
    )
    query = (
        sa.select(t.c.lead_id, sa.func.min(t.c.occurred_at))
        .where(t.c.source == source, t.c.owner_id.is_not(None), outbound)
        .group_by(t.c.lead_id)
    )
    return {lead_id: first for lead_id, first in conn.execute(query)}
