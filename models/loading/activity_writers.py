"""Set-based reads and writes of encoded activity rows, one code path per dialect.

The counterpart of ``leadflow.models.loading.lead_writers`` for the activity streams (engagement
events, sales touches, sales reps). Written against the driver because SQLAlchemy's per-row bind
processing (and its result rows, for the stored-hash lookup) cost more than the database itself did
when a page of touches or events was loaded:

- PostgreSQL: binary ``COPY`` into a temporary staging table of the stream (created once
  per session, emptied at every commit and before every batch), then one
  ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``. Each stream has its own staging table,
  so two streams can load in one transaction.
- SQLite: one ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` with plain tuples,
  datetimes written as the naive-UTC text SQLAlchemy's SQLite ``DateTime`` stores.

Rows come from ``leadflow.models.loading.activity.encode_activity``: the stream's columns in record
order (datetimes aware UTC, JSON fields as JSON text or None) followed by ``row_hash``. Both paths
run in the caller's transaction and update a stored row only if its hash differs;
``first_loaded_at`` is set on insert only and ``person_id`` is never written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.loading.lead_writers import sqlite_time
from leadflow.models.loading.streams import StreamSpec
from leadflow.models.records.encoding import chunks
from leadflow.models.warehouse.engine import unprepared

NaturalKey = tuple[str, ...]  # the stream's key without "source"


@dataclass(frozen=True, slots=True)
class _Statements:
    """The SQL of one stream, built once from its table."""

    stamps: tuple[int, ...]  # positions of the datetime columns in an encoded row
    stage: str  # the stream's temporary staging table (PostgreSQL)
    stage_types: tuple[str, ...]  # PostgreSQL types of the staging table's columns
    create_stage: str
    copy: str
    pg_upsert: str
    pg_hashes: str
    sqlite_upsert: str
    sqlite_hashes: str  # with "{marks}" for the chunk's placeholders


@cache
def _statements(spec: StreamSpec) -> _Statements:
    table, key = spec.table.name, spec.key
    columns = (*spec.columns, "row_hash")
    inserted = ", ".join((*columns, "first_loaded_at", "last_changed_at"))
    on_conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
    types = tuple(_pg_type(spec, name) for name in columns)
    stage = f"leadflow_{spec.name}_stage"

    def update_set(excluded: str) -> str:
        return ", ".join(f"{name} = {excluded}.{name}" for name in spec.update_columns)

    selected = ", ".join(f"{n}::json" if n in spec.json_fields else n for n in columns)
    rest = key[1:]  # one source per batch: looked up by the rest of the key
    probe = " AND ".join(f"t.{name} = k.c{i}" for i, name in enumerate(rest))
    arrays = ", ".join(["%s::text[]"] * len(rest))
    aliases = ", ".join(f"c{i}" for i in range(len(rest)))
    found = ", ".join(f"s.{name}" for name in rest)
    return _Statements(
        stamps=tuple(i for i, name in enumerate(columns) if types[i] == "timestamptz"),
        stage=stage,
        stage_types=types,
        create_stage=(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ("
            + ", ".join(f"{n} {t}" for n, t in zip(columns, types, strict=True))
            + ") ON COMMIT DELETE ROWS"
        ),
        copy=f"COPY {stage} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)",
        pg_upsert=(
            f"INSERT INTO {table} ({inserted}) SELECT {selected}, %(now)s, %(now)s FROM {stage} "
            f"{on_conflict}{update_set('EXCLUDED')}"
            f" WHERE {table}.row_hash IS DISTINCT FROM EXCLUDED.row_hash"
        ),
        # One primary-key probe per key, as in lead_writers (see _PG_HASHES there for why
        # not "= ANY(ids)": a freshly loaded, not yet analyzed table was scanned).
        pg_hashes=(
            f"SELECT {found}, s.row_hash FROM unnest({arrays}) AS k({aliases})"
            f" CROSS JOIN LATERAL (SELECT {', '.join(rest)}, row_hash FROM {table} AS t"
            f"  WHERE t.source = %s AND {probe} LIMIT 1) AS s"
        ),
        sqlite_upsert=(
            f"INSERT INTO {table} ({inserted}) VALUES ({', '.join('?' * (len(columns) + 2))}) "
            f"{on_conflict}{update_set('excluded')}"
            f" WHERE {table}.row_hash IS NOT excluded.row_hash"
        ),
        # By the key's first id only: for sales touches that reads every stored lead of
        # the batch's touches, a superset of the batch's keys, which is harmless.
        sqlite_hashes=(
            f"SELECT {', '.join(rest)}, row_hash FROM {table}"
            f" WHERE source = ? AND {rest[0]} IN ({{marks}})"
        ),
    )


def _pg_type(spec: StreamSpec, name: str) -> str:
    if name in spec.json_fields or name == "row_hash":
        return "text"  # JSON travels as text and is cast once, in the INSERT
    type_ = spec.table.c[name].type
    if isinstance(type_, sa.Boolean):
        return "bool"
    if isinstance(type_, sa.String):
        return "text"
    if isinstance(type_, sa.TypeDecorator) and isinstance(type_.impl_instance, sa.DateTime):
        return "timestamptz"
    raise TypeError(f"{spec.table.name}.{name}: no staging type for {type_!r}")


def stored_hashes(
    conn: Connection, spec: StreamSpec, source: str, keys: Sequence[NaturalKey]
) -> dict[NaturalKey, str]:
    """``natural key -> row_hash`` of the stored rows of ``source`` among ``keys``.

    Keys are the stream's key without ``source``. Read through the driver's cursor (in the
    caller's transaction); on SQLite the answer may hold further keys (see above).
    """
    if not keys:
        return {}
    sql = _statements(spec)
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        columns = [list(column) for column in zip(*keys, strict=True)]
        with unprepared(conn), driver.cursor() as cursor:
            found = cursor.execute(sql.pg_hashes, (*columns, source)).fetchall()
        return {row[:-1]: row[-1] for row in found}
    stored: dict[NaturalKey, str] = {}
    first_ids = sorted({key[0] for key in keys})
    cursor = driver.cursor()
    try:
        for chunk in chunks(first_ids):
            query = sql.sqlite_hashes.format(marks=",".join("?" * len(chunk)))
            stored.update({row[:-1]: row[-1] for row in cursor.execute(query, (source, *chunk))})
    finally:
        cursor.close()
    return stored


def write_activity(
    conn: Connection, spec: StreamSpec, rows: Sequence[tuple[Any, ...]], now: datetime
) -> None:
    """Insert or update encoded ``rows`` (unique by key) with ``now`` as their load time."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _write_postgresql(conn, spec, rows, now)
    else:
        _write_sqlite(conn, spec, rows, now)


def _write_sqlite(
    conn: Connection, spec: StreamSpec, rows: Sequence[tuple[Any, ...]], now: datetime
) -> None:
    sql = _statements(spec)
    loaded = sqlite_time(now)
    values = []
    for row in rows:
        value = list(row)
        for i in sql.stamps:  # aware UTC already: ISO text without its "+00:00"
            value[i] = value[i].isoformat(" ", "microseconds")[:26]
        values.append((*value, loaded, loaded))
    conn.exec_driver_sql(sql.sqlite_upsert, values)


def _write_postgresql(
    conn: Connection, spec: StreamSpec, rows: Sequence[tuple[Any, ...]], now: datetime
) -> None:
    sql = _statements(spec)
    driver: Any = conn.connection.driver_connection  # psycopg.Connection, in our transaction
    with driver.cursor() as cursor:
        cursor.execute(sql.create_stage)
        cursor.execute(f"DELETE FROM {sql.stage}")  # an earlier batch of this stream
        with cursor.copy(sql.copy) as copy:
            copy.set_types(list(sql.stage_types))
            for row in rows:
                copy.write_row(row)
    conn.exec_driver_sql(sql.pg_upsert, {"now": now})
