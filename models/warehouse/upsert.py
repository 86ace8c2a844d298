"""Dialect-neutral upserts: one executemany, rows written in key order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

UpdateValue = Callable[[sa.Table, Any], sa.ColumnElement[Any]]
_UPSERT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """``table``'s INSERT in ``conn``'s dialect: the one with ``ON CONFLICT`` and
    ``excluded``."""
    return _UPSERT_INSERTS[conn.dialect.name](table)


def written(conn: Connection, statement: Any) -> int:
    """Run ``statement`` (an ``INSERT ... SELECT``, maybe an upsert): how many rows it
    inserted or updated (SQLAlchemy keeps an INSERT's count on PostgreSQL only if asked)."""
    return int(conn.execute(statement, execution_options={"preserve_rowcount": True}).rowcount)


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str],
    *,
    computed: Mapping[str, UpdateValue] | None = None,
    where: UpdateValue | None = None,
) -> None:
    """Insert ``rows`` (one executemany), updating ``update_columns`` where the key exists.

    ``computed`` maps further columns to ``f(table, excluded) -> SQL expression`` for
    updates that depend on the stored row; ``where(table, excluded)``, if given, limits
    the update to stored rows it is true for (the others are left unwritten). Rows must
    share the same keys and be unique by ``key_columns``.

    Rows are written in key order. On PostgreSQL an upsert locks each conflicting row,
    and two transactions upserting shared rows (a lead batch and a spend batch naming the
    same campaigns) in different orders deadlocked; in one order, the later one waits.
    """
    if not rows:
        return
    rows = sorted(rows, key=lambda row: _sort_key(row, key_columns))
    insert = dialect_insert(conn, table)
    set_ = {name: insert.excluded[name] for name in update_columns}
    set_.update({name: make(table, insert.excluded) for name, make in (computed or {}).items()})
    target = [table.c[name] for name in key_columns]
    if set_:
        condition = None if where is None else where(table, insert.excluded)
        statement = insert.on_conflict_do_update(index_elements=target, set_=set_, where=condition)
    else:
        statement = insert.on_conflict_do_nothing(index_elements=target)
    conn.execute(statement, rows)


def _sort_key(row: Mapping[str, Any], names: Sequence[str]) -> tuple[Any, ...]:
    # (False, None) sorts before any (True, value): a null key part never compares to a value.
    return tuple((row[name] is not None, row[name]) for name in names)
