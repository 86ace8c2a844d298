"""Writing person ids (and, on PostgreSQL, classifications) onto rows by key, a batch at
a time in one statement.

Identity resolution re-points leads, touches and events at their people: on a first run,
every row. SQLAlchemy's executemany of an UPDATE is one statement per row; on PostgreSQL
(psycopg 3, pipelined) that still cost a parse, plan and execute per row: 4.7 s for 42k
leads here. PostgreSQL gets ``UPDATE ... FROM unnest(arrays)`` instead, one statement per
batch; SQLite, in process, gets the driver's executemany with plain tuples. People's
classification columns take the same ``unnest`` path on PostgreSQL. All run in the
caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

BATCH = 5_000


def set_person_ids(
    conn: Connection,
    table: sa.Table,
    key: Sequence[str],
    rows: Iterable[tuple[str | None, ...]],
    batch: int = BATCH,
) -> int:
    """Set ``person_id`` (the last item of each row, None for NULL) on the rows of
    ``table`` whose ``key`` columns equal the row's other items. Keys must be unique within
    ``rows``. Returns how many keys were given (not how many table rows matched)."""
    sql = _postgresql(table, key) if conn.dialect.name == "postgresql" else _sqlite(table, key)
    driver: Any = conn.connection.driver_connection
    count = 0
    items = iter(rows)
    while chunk := list(islice(items, batch)):
        count += len(chunk)
        if conn.dialect.name == "postgresql":
            with driver.cursor() as cursor:
                cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])
        else:
            driver.executemany(sql, [(row[-1], *row[:-1]) for row in chunk])
    return count


def _postgresql(table: sa.Table, key: Sequence[str]) -> str:
    arrays = ", ".join("%s::text[]" for _ in range(len(key) + 1))
    match = " AND ".join(f"t.{name} = u.{name}" for name in key)
    return (
        f"UPDATE {table.name} AS t SET person_id = u.person_id"
        f" FROM unnest({arrays}) AS u({', '.join(key)}, person_id) WHERE {match}"
    )


def _sqlite(table: sa.Table, key: Sequence[str]) -> str:
    match = " AND ".join(f"{name} = ?" for name in key)
    return f"UPDATE {table.name} SET person_id = ? WHERE {match}"


# people's classification columns and their PostgreSQL types, in update order.
_CLASSIFICATION_TYPES = {
    "stage": "text", "lifecycle": "text", "raw_stage": "text", "fit": "int",
    "engagement": "float8", "reasons": "json", "qualified_at": "timestamptz",
    "lifecycle_at": "timestamptz", "classified_at": "timestamptz",
}  # fmt: skip
_PG_CLASSIFY = (
    "UPDATE people AS p SET "
    + ", ".join(f"{name} = u.{name}" for name in _CLASSIFICATION_TYPES)
    + " FROM unnest(%s::text[], "
    + ", ".join(f"%s::{kind}[]" for kind in _CLASSIFICATION_TYPES.values())
    + ") AS u(person_id, "
    + ", ".join(_CLASSIFICATION_TYPES)
    + ") WHERE p.person_id = u.person_id"
)


def update_classifications_postgresql(
    conn: Connection, rows: Sequence[dict[str, Any]], batch: int = BATCH
) -> None:
    """PostgreSQL: write each row's classification columns onto ``people`` (key
    ``b_person``; ``reasons`` a list, stored as JSON), one statement per batch."""
    names = ("b_person", *_CLASSIFICATION_TYPES)
    driver: Any = conn.connection.driver_connection
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        columns = [[row[name] for row in chunk] for name in names]
        reasons, engagement = names.index("reasons"), names.index("engagement")
        columns[reasons] = [None if r is None else json.dumps(r) for r in columns[reasons]]
        # psycopg types a list by its items: 0 and 1.5 would be a mixed list.
        columns[engagement] = [None if e is None else float(e) for e in columns[engagement]]
        with driver.cursor() as cursor:
            cursor.execute(_PG_CLASSIFY, columns)


_PG_ADD_PEOPLE = (
    "INSERT INTO people (person_id, created_at, updated_at)"
    " SELECT unnest(%s::text[]), %s, %s ON CONFLICT (person_id) DO NOTHING RETURNING person_id"
)


def add_people_postgresql(
    conn: Connection, person_ids: Sequence[str], now: datetime, batch: int = BATCH
) -> set[str]:
    """PostgreSQL: insert a bare ``people`` row for each id not there yet, one statement
    per batch; the ids inserted."""
    driver: Any = conn.connection.driver_connection
    added: set[str] = set()
    for start in range(0, len(person_ids), batch):
        chunk = list(person_ids[start : start + batch])
        with driver.cursor() as cursor:
            cursor.execute(_PG_ADD_PEOPLE, (chunk, now, now))
            added.update(row[0] for row in cursor.fetchall())
    return added
