"""Pure helpers every layer shares: canonical JSON, content hashes, slices, aware datetimes."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any, TypeVar

IN_CHUNK_SIZE = 500

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


def require_aware(**values: datetime | None) -> None:
    """Refuse naive datetimes, naming the argument."""
    for name, value in values.items():
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
