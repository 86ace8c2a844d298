"""Positions in the HubSpot sandbox store's cached sort orders, for its range-search fast path.

``ObjectStore`` (``leadflow.sandbox.hubspot.store``) keeps each searched property's objects in
one sorted order; a range filter then maps to a span of it found by bisection (``span``),
served as a window without copying (``Slice``), or, when several spans are united, put back in
the order a full scan would give (``subset_order``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, overload

from leadflow.sandbox.hubspot.search import Range, Typed, sorted_ids, tie_hash


def span(keys: list[Any], bounds: Range, negated: bool) -> tuple[int, int]:
    """The [start, stop) positions of ``keys`` (ascending) inside ``bounds``; with
    ``negated`` the keys are negated values, and so are the bounds."""
    low, low_inc, high, high_inc = (
        bounds.low,
        bounds.low_inclusive,
        bounds.high,
        bounds.high_inclusive,
    )
    if negated:
        low, low_inc, high, high_inc = (
            None if high is None else -high,
            high_inc,
            None if low is None else -low,
            low_inc,
        )
    start = (
        0 if low is None else (bisect.bisect_left if low_inc else bisect.bisect_right)(keys, low)
    )
    stop = (
        len(keys)
        if high is None
        else (bisect.bisect_right if high_inc else bisect.bisect_left)(keys, high)
    )
    return start, max(start, stop)


def subset_order(docs: dict[str, Typed], name: str, descending: bool) -> list[str] | None:
    """``docs`` in the order ``sorted_ids`` gives them within all objects, or ``None``
    when that order would depend on the objects' insertion order (equal sort values whose
    tie hashes collide, or values that do not order, like NaN)."""
    ordered = sorted_ids(docs, name, descending)
    for a, b in pairwise(ordered):
        left, right = docs[a].get(name), docs[b].get(name)
        if left != left or right != right:
            return None
        if left == right and tie_hash(a) == tie_hash(b):
            return None
    return ordered


class Slice(Sequence[str]):
    """A read-only window ``ids[start:stop]`` of a cached order, without copying it."""

    def __init__(self, ids: list[str], start: int, stop: int) -> None:
        self._ids, self._range = ids, range(start, stop)

    def __len__(self) -> int:
        return len(self._range)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            part = self._range[index]
            if part.step == 1:
                return self._ids[part.start : part.stop]
            return [self._ids[i] for i in part]
        return self._ids[self._range[index]]
