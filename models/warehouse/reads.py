"""Bulk reads through the driver: rows without SQLAlchemy's per-row processing, and ``IN``
lists bound as one parameter (the reading side of ``leadflow.models.warehouse.bulk``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

BATCH = 5_000


def driver_rows(
    conn: Connection, sql: str | sa.Select[Any], name: str, *, batch: int = BATCH
) -> Iterator[Any]:
    """The rows of ``sql`` (SQL text, or a query without parameters) as the driver gives
    them: tuples, SQLite's timestamps and JSON as their stored text, no SQLAlchemy row
    processing (which cost more than the reads of identity's leads). Fetched ``batch`` at a
    time, through a server-side cursor called ``name`` on PostgreSQL, in the caller's
    transaction."""
    if not isinstance(sql, str):
        sql = str(sql.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor(name) if conn.dialect.name == "postgresql" else driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


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
