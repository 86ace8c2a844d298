"""Helpers shared by the loaders: dialect-neutral upserts, canonical JSON and content hashes."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

IN_CHUNK_SIZE = 500

UpdateValue = Callable[[sa.Table, Any], sa.ColumnElement[Any]]
_UPSERT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_T = TypeVar("_T")


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types: mappings, lists, str, finite numbers, bool, None.

    Datetimes become ISO 8601 (aware ones in UTC), Decimals and non-finite floats strings,
    enums their value, sets sorted lists; anything else its ``str``.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=canonical_json)
    return _json_scalar(value)


def _json_scalar(value: Any) -> Any:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC).isoformat()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value)
    return str(value)  # Decimal keeps its exact digits; other objects their text


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, datetimes as ISO 8601 UTC."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_scalar
    )


# canonical_json for values that are already plain JSON: C speed, and refuses anything else.
plain_canonical_json = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def sha256_hex(value: Any) -> str:
    """sha256 (hex) of ``value``'s canonical JSON."""
    return sha256_text(canonical_json(value))


def sha256_text(text: str) -> str:
    """sha256 (hex) of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunks(items: Sequence[_T], size: int = IN_CHUNK_SIZE) -> Iterator[Sequence[_T]]:
    """``items`` in consecutive slices of at most ``size`` (for bounded ``IN`` lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
    insert = _UPSERT_INSERTS[conn.dialect.name](table)
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


def require_aware(**values: datetime | None) -> None:
    """Refuse naive datetimes, naming the argument."""
    for name, value in values.items():
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
