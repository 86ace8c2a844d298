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

``temp_table`` stages rows in a temporary table for one set-based statement (a join, an
``UPDATE ... FROM``, as ``update_staged`` does).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

BATCH = 5_000
JSON_OID, TEXT_OID = 114, 25  # PostgreSQL's type oids of json and text


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
            if sqlite:  # the text SQLAlchemy's SQLite DateTime stores (UTC less "+00:00")
                found = found.isoformat(" ", "microseconds")[:-6]
            seen[value] = found
        out.append(found)
    return out


def _json_texts(values: Sequence[Any]) -> list[str | None]:
    """A JSON column's values as text; lists of strings (reasons codes) and flat objects of
    text, whole numbers, booleans and nulls (SLA details), which repeat across rows, are
    encoded once each."""
    seen: dict[tuple[Any, ...], str] = {}
    lists: dict[Any, str] = {}  # texts of all-text lists (by their items' tuple) and items
    out: list[str | None] = []
    for value in values:
        kind = type(value)
        if kind is list:
            out.append(_list_text(value, lists))
            continue
        key: tuple[Any, ...] | None = None
        if kind is dict and all(type(item) in _FLAT for item in value.values()):
            # Each value's type in the key: True and 1 are equal, their texts are not.
            key = (dict, *((k, type(v), v) for k, v in value.items()))
        if key is None:
            out.append(None if value is None else json.dumps(value))
            continue
        text = seen.get(key)
        if text is None:
            text = seen[key] = json.dumps(value)
        out.append(text)
    return out


def _list_text(value: list[Any], lists: dict[Any, str]) -> str:
    """A JSON list's text, from ``lists`` (by the items of all-text lists seen) when there;
    an all-text list's text is joined from its items' (each encoded once, kept in ``lists``
    too, by itself): what ``json.dumps`` writes. A list equal item by item to an all-text
    list holds the same texts (no other JSON value equals a text), so the lookup comes
    before checking its items' types."""
    items = tuple(value)
    try:
        text = lists.get(items)
    except TypeError:  # unhashable items (objects, lists): never memoized
        return json.dumps(value)
    if text is not None:
        return text
    if not all(type(item) is str for item in items):
        return json.dumps(value)
    texts = []
    for item in items:
        found = lists.get(item)
        if found is None:
            found = lists[item] = json.dumps(item)
        texts.append(found)
    text = lists[items] = f"[{', '.join(texts)}]"
    return text


# Values a memoized JSON object may hold (not floats: 0.0 and -0.0 are equal, not alike).
_FLAT = frozenset({str, int, bool, type(None)})


def _column_values(
    sqlite: bool, columns: Sequence[sa.Column[Any]], rows: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """``rows`` turned into one list per column, each value what the driver binds."""
    found = []
    for column, values in zip(columns, zip(*rows, strict=True), strict=True):
        kind = _pg_type(column)
        if kind == "json":
            found.append(_json_texts(values))
        elif kind == "timestamptz":
            found.append(_times(values, sqlite))
        elif kind == "float8":  # psycopg types a list by its items: 0 and 1.5 would mix
            found.append([None if v is None else float(v) for v in values])
        else:
            found.append(list(values))
    return found


def bound_rows(
    dialect: str, table: sa.Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """``rows`` (tuples in ``names`` order) as the driver binds them on ``dialect``'s
    database (JSON as text, timestamps checked, SQLite's as text), for :func:`insert_rows`
    with ``bound=True``: converted where the rows are made (another process), not by the
    one process that writes them."""
    columns = [table.c[name] for name in names]
    values = _column_values(dialect != "postgresql", columns, rows) if rows else []
    return list(zip(*values, strict=True))


def insert_rows(
    conn: Connection,
    table: sa.Table,
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    key: Sequence[str] = (),
    update: Sequence[str] | None = None,
    batch: int = BATCH,
    bound: bool = False,
) -> int:
    """Insert ``rows`` (tuples in ``names`` order) into ``table``. With ``key``: on a
    conflict, update the ``update`` columns (None or empty: do nothing). Returns how many
    rows were inserted or updated (a conflict left alone counts 0). Without ``key`` on
    PostgreSQL, the rows are copied in binary (``COPY``: less than half the time of an
    insert from arrays for 100k narrow rows). ``bound``: the rows are :func:`bound_rows`
    of this database already."""
    columns = [table.c[name] for name in names]
    sqlite = conn.dialect.name != "postgresql"
    if not key and not sqlite:
        return _copy_rows(conn, table, columns, rows, batch, bound)
    conflict = f" ON CONFLICT ({', '.join(key)}) DO NOTHING" if key else ""
    if key and update:
        excluded = "excluded" if sqlite else "EXCLUDED"
        sets = ", ".join(f"{name} = {excluded}.{name}" for name in update)
        conflict = f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
    written = 0
    items = iter(rows)
    driver: Any = conn.connection.driver_connection
    while chunk := list(islice(items, batch)):
        if sqlite:
            bind = chunk if bound else list(zip(*_column_values(True, columns, chunk), strict=True))
            cursor = driver.cursor()
            try:
                cursor.executemany(_sqlite_insert(table, names, conflict), bind)
                written += max(cursor.rowcount, 0)
            finally:
                cursor.close()
            continue
        values = (
            [list(column) for column in zip(*chunk, strict=True)]
            if bound
            else _column_values(False, columns, chunk)
        )
        arrays = ", ".join(f"%b::{_pg_type(c)}[]" for c in columns)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)})"
            f" SELECT * FROM unnest({arrays}){conflict}"
        )
        with driver.cursor() as cursor:
            cursor.execute(sql, values)
            written += max(cursor.rowcount, 0)
    return written


def _sqlite_insert(table: sa.Table, names: Sequence[str], conflict: str) -> str:
    marks = ", ".join("?" * len(names))
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks}){conflict}"


def update_rows(
    conn: Connection,
    table: sa.Table,
    key: Sequence[str],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch: int = BATCH,
    bound: bool = False,
) -> int:
    """Set the ``names`` columns on the rows of ``table`` whose ``key`` columns equal the
    first items of each row (tuples: key values, then ``names`` values; keys unique within
    ``rows``; ``bound``: :func:`bound_rows` of this database already). Returns how many
    rows were given (not how many table rows matched)."""
    columns = [table.c[name] for name in (*key, *names)]
    driver: Any = conn.connection.driver_connection
    items, given = iter(rows), 0
    while chunk := list(islice(items, batch)):
        given += len(chunk)
        values = (
            [list(column) for column in zip(*chunk, strict=True)]
            if bound
            else _column_values(conn.dialect.name != "postgresql", columns, chunk)
        )
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


def update_staged(
    conn: Connection,
    table: sa.Table,
    key: Sequence[str],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """:func:`update_rows` for keys that many rows share (events by email): the rows are
    staged in a temporary table and written by one ``UPDATE ... FROM``. Re-pointing 60k
    emails' events took a third of the executemany's time on SQLite (which searched the
    index for each; by a primary key, the executemany is faster) and three quarters of
    the batches from arrays on PostgreSQL. Returns how many rows were given."""
    items = iter(rows)
    first = next(items, None)
    if first is None:  # nothing to stage (a rerun over unchanged data)
        return 0
    columns = [(name, table.c[name].type) for name in (*key, *names)]
    staged = chain([first], items)
    with temp_table(conn, f"staged_{table.name}", columns, staged, key=key) as given:
        match = [table.c[name] == given.c[name] for name in key]
        conn.execute(table.update().values({n: given.c[n] for n in names}).where(*match))
        return int(given.info["rows"])


@contextmanager
def temp_table(
    conn: Connection,
    name: str,
    columns: Sequence[tuple[str, Any]],
    rows: Iterable[Sequence[Any]],
    *,
    key: Sequence[str] = (),
    bound: bool = False,
) -> Iterator[sa.Table]:
    """A temporary table ``name`` of ``columns`` (names and SQLAlchemy types) holding ``rows``
    (tuples in the columns' order), for statements in the caller's transaction; dropped on
    leaving. ``key``: the rows' unique key, the table's primary key on SQLite (where joins
    look rows up by it); PostgreSQL hash-joins the rows and gets their statistics instead.
    After a failure the table is left to the rollback (PostgreSQL drops it) or to the next
    call of the same name (which replaces it). How many rows it holds: ``info["rows"]``.
    ``bound``: the rows are :func:`bound_rows` (of the table the columns come from)."""
    postgres = conn.dialect.name == "postgresql"
    constraints = [sa.PrimaryKeyConstraint(*key)] if key and not postgres else []
    table = sa.Table(
        name, sa.MetaData(), *(sa.Column(n, kind) for n, kind in columns), *constraints,
        prefixes=["TEMPORARY"], sqlite_with_rowid=not constraints,
    )  # fmt: skip
    schema = "pg_temp" if postgres else "temp"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{name}")
    table.create(conn)
    table.info["rows"] = insert_rows(conn, table, [n for n, _ in columns], rows, bound=bound)
    if postgres:
        conn.exec_driver_sql(f"ANALYZE {name}")
    yield table
    conn.exec_driver_sql(f"DROP TABLE {schema}.{name}")


def _copy_rows(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[sa.Column[Any]],
    rows: Iterable[Sequence[Any]],
    batch: int,
    bound: bool = False,
) -> int:
    """``COPY`` ``rows`` (``bound``: :func:`bound_rows`) into ``columns`` of ``table`` in
    binary (PostgreSQL), typed as the table's columns are; how many."""
    items = iter(rows)
    chunk = list(islice(items, batch))
    if not chunk:  # no statement at all, as an insert of nothing
        return 0
    found = conn.exec_driver_sql(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %(t)s::regclass"
        " AND attnum > 0 AND NOT attisdropped",
        {"t": table.name},
    )
    oids = dict(found.tuples().all())
    # A json column's binary form is its text: the memoized texts go as text (psycopg's json
    # dumper would encode each value again); other JSON types (jsonb) take the values.
    types = [TEXT_OID if oids[c.name] == JSON_OID else oids[c.name] for c in columns]
    json_at = [i for i, c in enumerate(columns) if _pg_type(c) == "json" and types[i] != TEXT_OID]
    if bound and json_at:
        raise ValueError(f"{table.name}: bound rows hold JSON as text, not for jsonb columns")
    driver: Any = conn.connection.driver_connection
    names = ", ".join(c.name for c in columns)
    count = 0
    sql = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(types)
        while chunk:
            count += len(chunk)
            if bound:
                for row in chunk:
                    copy.write_row(row)
                chunk = list(islice(items, batch))
                continue
            values = _column_values(False, columns, chunk)
            for i in json_at:
                values[i] = [row[i] for row in chunk]
            for row in zip(*values, strict=True):
                copy.write_row(row)
            chunk = list(islice(items, batch))
    return count
