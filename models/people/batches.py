"""Reading and writing the warehouse a batch at a time, for the people stores.

``stream`` fetches a query's rows ``STREAM_SIZE`` at a time (a server-side cursor on
PostgreSQL) so a million leads are never held at once; ``execute_many`` runs one statement
over many parameter sets in chunks of the same size. Both run in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.records.encoding import chunks

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
