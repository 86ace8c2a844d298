"""The sync state: where the next incremental sync of each partition starts.

One ``sync_state`` row per (source, partition key): the watermark (never moving back) and
an optional resume cursor. Loads save it in the same transaction as the rows it covers
(``save_sync_state``); a sync reads every row of its source once, before it extracts
(``read_sync_states``), and hands the connector a lookup built from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.records.encoding import json_safe
from leadflow.models.warehouse.tables import sync_state
from leadflow.models.warehouse.upsert import upsert


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where the next incremental sync of one source and account starts."""

    source: str
    account_id: str
    watermark: datetime | None
    cursor: dict[str, Any] | None
    updated_at: datetime


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
    return None if row is None else _state(row)


def read_sync_states(conn: Connection, source: str) -> dict[str, SyncState]:
    """Every saved sync state of ``source``, by partition key (``account_id``): one query.

    What a sync reads before it extracts, so that no query runs while a connector pages.
    """
    query = sa.select(sync_state).where(sync_state.c.source == source)
    return {row.account_id: _state(row) for row in conn.execute(query)}


def _state(row: Any) -> SyncState:
    return SyncState(row.source, row.account_id, row.watermark, row.cursor, row.updated_at)
