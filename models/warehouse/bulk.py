"""Bulk writes through the driver: many rows, one statement per batch, no per-row SQLAlchemy.

SQLAlchemy's executemany binds every parameter through its type processors, which cost
more than the write itself when a run stores a hundred thousand people (6.6 s of a 35 s
classification at 100k leads went to ``_init_compiled``). These helpers take plain tuples
in the columns' order and hand them to the driver, in the caller's transaction:

- PostgreSQL: ``INSERT ... SELECT * FROM unnest(%b::type[], ...)`` (or ``UPDATE ... FROM
  unnest``), one statement per batch, arrays typed from the table's columns and sent in
  binary (``%b``: psycopg's text form escapes every array item with a regular expression,
  10 s of a 58 s people pass at 100k leads under the profiler).
- SQLite: the driver's ``executemany``, with datetimes written as the text SQLAlchemy's
  SQLite ``DateTime`` stores (naive UTC with microseconds), so reads and comparisons agree,
  and JSON as text.

Values must be what the column holds: aware datetimes for timestamps (refused naive, as
``UTCDateTime`` does), JSON-serializable values for JSON columns, None for NULL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

BATCH = 5_000


def _pg_type(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, sa.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.BigInteger | sa.Integer):
        return "int8"
    if isinstance(kind, sa.Float):
        return "float8"
    if isinstance(kind, sa.DateTime):
        return "timestamptz"
    return "text"


def _time(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: timestamps must be timezone-aware")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _times(values: Sequence[Any], sqlite: bool) -> list[Any]:
    """A column of timestamps as the driver binds them (a run repeats its ``now``, so each
    distinct value is converted once)."""
    seen: dict[datetime, Any] = {}
    out = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        found = seen.get(value)
        if found is None:
            found = _time(value)
            if sqlite:  # the text SQLAlchemy's SQLite DateTime stores
                found = found.replace(tzinfo=None).isoformat(" ", "microseconds")
            seen[value] = found
        out.append(found)
    return out


def _column_values(
    conn: Connection, columns: Sequence[sa.Column[Any]], rows: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """``rows`` turned into one list per column, each value what the driver binds."""
    sqlite = conn.dialect.name != "postgresql"
    found = []
    for column, values in zip(columns, zip(*rows, strict=True), strict=True):
        kind = _pg_type(column)
        if kind == "json":
            found.append([None if v is None else json.dumps(v) for v in values])
        elif kind == "timestamptz":
            found.append(_times(values, sqlite))
        elif kind == "float8":  # psycopg types a list by its items: 0 and 1.5 would mix
            found.append([None if v is None else float(v) for v in values])
        else:
            found.append(list(values))
    return found


def insert_rows(
    conn: Connection,
    table: sa.Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: Sequence[str] = (),
    update: Sequence[str] | None = None,
    batch: int = BATCH,
) -> int:
    """Insert ``rows`` (tuples in ``names`` order) into ``table``. With ``key``: on a
    conflict, update the ``update`` columns (None or empty: do nothing). Returns how many
    rows were inserted or updated (a conflict left alone counts 0)."""
    columns = [table.c[name] for name in names]
    conflict = ""
    if key:
        if update:
            excluded = "EXCLUDED" if conn.dialect.name == "postgresql" else "excluded"
            sets = ", ".join(f"{name} = {excluded}.{name}" for name in update)
            conflict = f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
        else:
            conflict = f" ON CONFLICT ({', '.join(key)}) DO NOTHING"
    written = 0
    items = iter(rows)
    driver: Any = conn.connection.driver_connection
    while chunk := list(islice(items, batch)):
        values = _column_values(conn, columns, chunk)
        if conn.dialect.name == "postgresql":
            arrays = ", ".join(f"%b::{_pg_type(c)}[]" for c in columns)
            sql = (
                f"INSERT INTO {table.name} ({', '.join(names)})"
                f" SELECT * FROM unnest({arrays}){conflict}"
            )
            with driver.cursor() as cursor:
                cursor.execute(sql, values)
                written += max(cursor.rowcount, 0)
        else:
            marks = ", ".join("?" * len(names))
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks}){conflict}"
            cursor = driver.cursor()
            try:
                cursor.executemany(sql, list(zip(*values, strict=True)))
                written += max(cursor.rowcount, 0)
            finally:
                cursor.close()
    return written


def update_rows(
    conn: Connection,
    table: sa.Table,
    key: Sequence[str],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch: int = BATCH,
) -> int:
    """Set the ``names`` columns on the rows of ``table`` whose ``key`` columns equal the
    first items of each row (tuples: key values, then ``names`` values; keys unique within
    ``rows``). Returns how many rows were given (not how many table rows matched)."""
    columns = [table.c[name] for name in (*key, *names)]
    driver: Any = conn.connection.driver_connection
    items, given = iter(rows), 0
    while chunk := list(islice(items, batch)):
        given += len(chunk)
        values = _column_values(conn, columns, chunk)
        if conn.dialect.name == "postgresql":
            arrays = ", ".join(f"%b::{_pg_type(c)}[]" for c in columns)
            aliases = ", ".join(c.name for c in columns)
            sets = ", ".join(f"{name} = u.{name}" for name in names)
            match = " AND ".join(f"t.{name} = u.{name}" for name in key)
            sql = (
                f"UPDATE {table.name} AS t SET {sets} FROM unnest({arrays}) AS u({aliases})"
                f" WHERE {match}"
            )
            with driver.cursor() as cursor:
                cursor.execute(sql, values)
        else:
            sets = ", ".join(f"{name} = ?" for name in names)
            match = " AND ".join(f"{name} = ?" for name in key)
            sql = f"UPDATE {table.name} SET {sets} WHERE {match}"
            width = len(key)
            ordered = zip(*values[width:], *values[:width], strict=True)
            cursor = driver.cursor()
            try:
                cursor.executemany(sql, list(ordered))
            finally:
                cursor.close()
    return given


def one_of(
    conn: Connection, column: sa.ColumnElement[Any], values: Sequence[Any]
) -> sa.ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter, not one
    per value, so a chunk of thousands of ids is neither rendered nor parsed per statement
    (that cost more than the reads of a people pass)."""
    if conn.dialect.name == "postgresql":
        array = sa.literal(list(values), type_=postgresql.ARRAY(column.type))
        return column == sa.any_(array)
    return column.in_(values)
