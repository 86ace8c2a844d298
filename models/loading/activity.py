"""Idempotent loading of activity streams: engagement events, sales touches and sales reps.

Each stream loads like leads: rows are deduplicated within the batch by natural key, only new or
changed rows (by ``row_hash``) are written, in one set-based write through the driver
(``leadflow.models.loading.activity_writers``), and the batch's rejects and watermark commit in the
same (the caller's) transaction. The streams themselves are described in
``leadflow.models.loading.streams``.

Out of scope: a sales touch whose association with a lead was removed on the platform keeps its
stored ``(source, touch_id, lead_id)`` row. A batch only says which leads a touch is on now, not
which it left (a touch left with no lead yields no row at all), so reconciling needs a full re-read
of the touch's associations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.loading.activity_writers import stored_hashes, write_activity
from leadflow.models.loading.leads import LoadCounts, quarantine_records
from leadflow.models.loading.state import save_sync_state
from leadflow.models.loading.streams import STREAMS, ActivityRecord, StreamSpec, stream_spec
from leadflow.models.records.activity import EngagementEvent
from leadflow.models.records.encoding import (
    canonical_json,
    json_safe,
    plain_canonical_json,
    require_aware,
    sha256_text,
)
from leadflow.models.records.leads import Rejected
from leadflow.models.warehouse.tables import sales_touches

EncodedActivity = tuple[Any, ...]
"""A stream's column values in record order (datetimes aware UTC, JSON fields as JSON text
or None), then ``row_hash``: what ``leadflow.models.loading.activity_writers`` writes."""


@dataclass(frozen=True, slots=True)
class _Encoding:
    """Where a stream's values sit in its records and in the text its row_hash covers."""

    names: tuple[str, ...]  # spec.columns
    values: Callable[[Any], tuple[Any, ...]]  # a record's values, in names' order
    stamps: tuple[int, ...]  # positions of the timestamps
    json_fields: tuple[int, ...]  # positions of the JSON fields
    # The hashed object's members in key order: a JSON field's position, or a run of the
    # other fields as (name, position) pairs.
    segments: tuple[int | tuple[tuple[str, int], ...], ...]

    @classmethod
    def of(cls, spec: StreamSpec) -> _Encoding:
        names = spec.columns
        segments: list[int | tuple[tuple[str, int], ...]] = []
        run: list[tuple[str, int]] = []
        for name in sorted(names):
            if name in spec.json_fields:
                segments += [tuple(run), names.index(name)] if run else [names.index(name)]
                run = []
            else:
                run.append((name, names.index(name)))
        if run:
            segments.append(tuple(run))
        return cls(
            names,
            attrgetter(*names),
            tuple(names.index(name) for name in spec.timestamps),
            tuple(names.index(name) for name in spec.json_fields),
            tuple(segments),
        )


_ENCODINGS = {name: _Encoding.of(spec) for name, spec in STREAMS.items()}


def encode_activity(spec: StreamSpec, record: ActivityRecord) -> EncodedActivity:
    """``record``'s column values and ``row_hash`` (see EncodedActivity).

    The hash is the sha256 of the canonical JSON (sorted keys, no whitespace) of every
    field of the record, timestamps as ISO 8601 UTC, so the same instant in another offset
    hashes the same. JSON fields that are not plain JSON (mappings that are not dicts,
    datetimes, Decimals...) are made so with ``json_safe`` first. Each JSON field is
    encoded once: its text is both stored and spliced into the hashed text.
    """
    encoding = _ENCODINGS[spec.name]
    values = list(encoding.values(record))
    hashed = values.copy()
    for i in encoding.stamps:
        values[i] = values[i].astimezone(UTC)
        hashed[i] = values[i].isoformat()
    try:  # the common case: JSON fields already hold plain JSON
        text = _canonical(encoding, hashed, plain_canonical_json, values)
    except (TypeError, ValueError):
        for i in encoding.json_fields:
            hashed[i] = json_safe(hashed[i])
        text = _canonical(encoding, hashed, canonical_json, values)
    return (*values, sha256_text(text))


def _canonical(
    encoding: _Encoding, hashed: list[Any], dumps: Callable[[Any], str], out: list[Any]
) -> str:
    """``dumps`` of the object ``{name: hashed value}``; JSON fields' texts go to ``out``.

    The object is encoded a run of members at a time, which with sorted keys and no
    whitespace is the same text as encoding it whole.
    """
    parts = []
    for segment in encoding.segments:
        if isinstance(segment, int):
            value = hashed[segment]
            json_text = dumps(value)
            parts.append(f'"{encoding.names[segment]}":{json_text}')
            # Python None is SQL NULL, as the tables' JSON type stores it.
            out[segment] = None if value is None else json_text
        else:
            parts.append(dumps({name: hashed[i] for name, i in segment})[1:-1])
    return "{" + ",".join(parts) + "}"


def activity_row(spec: StreamSpec, record: ActivityRecord) -> dict[str, Any]:
    """The table columns for ``record`` (JSON fields as plain JSON values, datetimes in
    UTC), with ``row_hash`` (see encode_activity).

    Load timestamps and ``person_id`` are not content: load_stream and identity
    resolution set them.
    """
    encoded = encode_activity(spec, record)
    row = dict(zip(spec.columns, encoded, strict=False))
    for name in spec.json_fields:  # stdlib json: orjson reads integers past 64 bits as floats
        text = row[name]
        row[name] = None if text is None else json.loads(text)
    row["row_hash"] = encoded[-1]
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
    fresh = [encode_activity(spec, record) for record in _latest_by_key(spec, rows, source)]
    at = [spec.columns.index(name) for name in spec.key[1:]]
    keys = [tuple(row[i] for i in at) for row in fresh]
    stored = stored_hashes(conn, spec, source, keys)
    new = [row for row, key in zip(fresh, keys, strict=True) if key not in stored]
    changed = [
        row for row, key in zip(fresh, keys, strict=True) if stored.get(key, row[-1]) != row[-1]
    ]
    write_activity(conn, spec, [*new, *changed], now)
    quarantine_records(conn, rejected, now)
    save_sync_state(conn, source, state_key, watermark, None, now)
    unchanged = len(fresh) - len(new) - len(changed)
    return LoadCounts(len(new), len(changed), unchanged, len(rejected))


def _latest_by_key(
    spec: StreamSpec, rows: Iterable[ActivityRecord], source: str
) -> list[ActivityRecord]:
    latest: dict[tuple[Any, ...], ActivityRecord] = {}
    key_of, timestamps = attrgetter(*spec.key), spec.timestamps  # every key has 2+ names
    for record in rows:
        if not isinstance(record, spec.record_type):
            raise ValueError(
                f"stream {spec.name!r} loads {spec.record_type.__name__} rows, "
                f"not {type(record).__name__}"
            )
        key = key_of(record)
        if record.source != source:
            raise ValueError(
                f"{spec.name} row {key[1:]!r} is from {record.source!r}, not {source!r}"
            )
        for name in timestamps:
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
