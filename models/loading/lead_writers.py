"""Set-based reads and writes of encoded leads, one code path per dialect.

Written against the driver rather than through SQLAlchemy's per-row bind processing,
which cost more than the database itself did (about 11k rows/s on either dialect):

- PostgreSQL: binary ``COPY`` into a temporary staging table (created once per session,
  emptied at every commit), then one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``.
- SQLite: one ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` with plain tuples.

Both run in the caller's transaction and update a stored row only if its hash differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.loading.lead_rows import LEAD_FIELDS, LEAD_JSON_FIELDS, EncodedLead
from leadflow.models.records.encoding import chunks
from leadflow.models.warehouse.engine import unprepared
from leadflow.models.warehouse.tables import leads as leads_table

LEAD_KEY = ("source", "source_lead_id")
STAGE = "leadflow_leads_stage"
_COLUMNS = (*LEAD_FIELDS, "row_hash")
# On update, the load timestamps are left alone (a lead's person is in lead_people).
_UPDATED = (*(name for name in _COLUMNS if name not in LEAD_KEY), "last_changed_at")
_CREATED_AT, _UPDATED_AT = LEAD_FIELDS.index("created_at"), LEAD_FIELDS.index("updated_at")


# One primary-key probe per id (LIMIT 1 keeps the planner from turning the lateral join
# into a hash join or a scan). ``source_lead_id = ANY(ids)`` let a freshly loaded table,
# before autovacuum had analyzed it, be read as "every row of the source, filtered": a
# page's lookup grew with the table (53 ms against 23 ms per 5,000 ids at 300k rows).
_PG_HASHES = (
    "SELECT l.source_lead_id, l.row_hash FROM unnest(%s::text[]) AS k(id) CROSS JOIN LATERAL"
    " (SELECT source_lead_id, row_hash FROM leads"
    "  WHERE source = %s AND source_lead_id = k.id LIMIT 1) AS l"
)


def stored_hashes(conn: Connection, source: str, lead_ids: Sequence[str]) -> dict[str, str]:
    """``source_lead_id -> row_hash`` of the stored leads among ``lead_ids``.

    Read through the driver's cursor (in the caller's transaction): SQLAlchemy's result
    rows cost more than the query when every lead of a page is looked up.
    """
    if not lead_ids:
        return {}
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with unprepared(conn), driver.cursor() as cursor:
            return dict(cursor.execute(_PG_HASHES, (list(lead_ids), source)).fetchall())
    stored: dict[str, str] = {}
    cursor = driver.cursor()
    try:
        for chunk in chunks(lead_ids):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT source_lead_id, row_hash FROM leads WHERE source = ? AND source_lead_id IN ({marks})"  # noqa: E501
            stored.update(cursor.execute(sql, (source, *chunk)).fetchall())
    finally:
        cursor.close()
    return stored


def write_leads(conn: Connection, rows: Sequence[EncodedLead], now: datetime) -> None:
    """Insert or update ``rows`` (unique by key) with ``now`` as their load time."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _write_postgresql(conn, rows, now)
    else:
        _write_sqlite(conn, rows, now)


def _update_set(excluded: str) -> str:
    return ", ".join(f"{name} = {excluded}.{name}" for name in _UPDATED)


_INSERT_COLUMNS = ", ".join((*_COLUMNS, "first_loaded_at", "last_changed_at"))
_ON_CONFLICT = f"ON CONFLICT ({', '.join(LEAD_KEY)}) DO UPDATE SET "

_SQLITE_UPSERT = (
    f"INSERT INTO leads ({_INSERT_COLUMNS}) VALUES ({', '.join('?' * (len(_COLUMNS) + 2))}) "
    f"{_ON_CONFLICT}{_update_set('excluded')} WHERE leads.row_hash IS NOT excluded.row_hash"
)


def sqlite_time(moment: datetime) -> str:
    # The text SQLAlchemy's SQLite DateTime stores (naive UTC), so reads and comparisons agree.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _write_sqlite(conn: Connection, rows: Sequence[EncodedLead], now: datetime) -> None:
    loaded = sqlite_time(now)
    first, second = _CREATED_AT, _UPDATED_AT
    # A Lead's datetimes are UTC already: ISO text without its "+00:00" is SQLAlchemy's.
    values = [
        (
            *row[:first],
            row[first].isoformat(" ", "microseconds")[:26],
            row[second].isoformat(" ", "microseconds")[:26],
            *row[second + 1 :],
            loaded,
            loaded,
        )
        for row in rows
    ]
    conn.exec_driver_sql(_SQLITE_UPSERT, values)


def _pg_type(name: str) -> str:
    if name in LEAD_JSON_FIELDS or name == "row_hash":
        return "text"  # JSON travels as text and is cast once, in the INSERT
    type_ = leads_table.c[name].type
    if isinstance(type_, sa.Boolean):
        return "bool"
    if isinstance(type_, sa.String):
        return "text"
    return "timestamptz"


_STAGE_TYPES = [_pg_type(name) for name in _COLUMNS]
_CREATE_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} ("
    + ", ".join(f"{name} {type_}" for name, type_ in zip(_COLUMNS, _STAGE_TYPES, strict=True))
    + ") ON COMMIT DELETE ROWS"
)
_COPY = f"COPY {STAGE} ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_SELECTED = ", ".join(f"{n}::json" if n in LEAD_JSON_FIELDS else n for n in _COLUMNS)
_PG_UPSERT = (
    f"INSERT INTO leads ({_INSERT_COLUMNS}) SELECT {_SELECTED}, %(now)s, %(now)s FROM {STAGE} "
    f"{_ON_CONFLICT}{_update_set('EXCLUDED')}"
    " WHERE leads.row_hash IS DISTINCT FROM EXCLUDED.row_hash"
)


def _write_postgresql(conn: Connection, rows: Sequence[EncodedLead], now: datetime) -> None:
    driver: Any = conn.connection.driver_connection  # psycopg.Connection, in our transaction
    with driver.cursor() as cursor:
        cursor.execute(_CREATE_STAGE)
        cursor.execute(f"DELETE FROM {STAGE}")  # an earlier batch of this same transaction
        with cursor.copy(_COPY) as copy:
            copy.set_types(_STAGE_TYPES)
            for row in rows:
                copy.write_row(row)
    conn.exec_driver_sql(_PG_UPSERT, {"now": now})
