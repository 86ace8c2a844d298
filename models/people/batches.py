"""Reading and writing the warehouse a batch at a time, for the people stores.

``stream`` fetches a query's rows ``STREAM_SIZE`` at a time (a server-side cursor on
PostgreSQL) so a million leads are never held at once; ``execute_many`` runs one statement
over many parameter sets in chunks of the same size. Both run in the caller's transaction.
``plain_times`` reads SQLite's timestamps as their stored text, parsed by the caller with
``utc``: SQLAlchemy's own parsing of every lead's and event's times cost more than the
query.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.records.encoding import chunks
from leadflow.models.warehouse.schema import UTCDateTime

STREAM_SIZE = 5_000


def stream(conn: Connection, query: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
    """Rows of ``query``, fetched in chunks (server-side cursor on PostgreSQL)."""
    result = conn.execute(query, execution_options={"yield_per": STREAM_SIZE})
    try:
        yield from result
    finally:
        result.close()


def execute_many(conn: Connection, statement: Any, params: Sequence[Mapping[str, Any]]) -> None:
    """Execute ``statement`` once per parameter set, ``STREAM_SIZE`` sets per call."""
    for chunk in chunks(params, STREAM_SIZE):
        conn.execute(statement, list(chunk))


def plain_times(
    conn: Connection, selected: Sequence[sa.ColumnElement[Any]]
) -> tuple[list[sa.ColumnElement[Any]], list[int]]:
    """``selected`` with SQLite's timestamp columns read as text, and their positions
    (none on PostgreSQL, whose driver gives aware datetimes already)."""
    if conn.dialect.name == "postgresql":
        return list(selected), []
    times = [i for i, c in enumerate(selected) if isinstance(c.type, UTCDateTime)]
    columns = [
        sa.type_coerce(c, sa.String).label(c.name) if i in times else c
        for i, c in enumerate(selected)
    ]
    return columns, times


def utc(text: str | None) -> datetime | None:
    """A timestamp SQLAlchemy stored on SQLite (naive UTC text) as an aware datetime.

    Parsed with its offset appended: ``replace(tzinfo=UTC)`` on the parsed value cost seven
    times the parse."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text + "+00:00")
    except ValueError:  # text written with its own offset: as SQLAlchemy would read it
        return datetime.fromisoformat(text).replace(tzinfo=UTC)


def with_times(values: Sequence[Any], times: Sequence[int]) -> tuple[Any, ...]:
    """``values`` with the ``times`` positions parsed by :func:`utc`."""
    if not times:
        return tuple(values)
    found = list(values)
    for i in times:
        found[i] = utc(found[i])
    return tuple(found)
