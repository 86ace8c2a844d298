"""Lookups over a resolution held by position: each email's person, some leads' people.

A whole run holds each lead's person as its id's number by position (``Resolution.codes``);
saving it needs two lookups that used to be dicts over every lead:

- ``EmailPeople``: each email match key's person, for the keys on one person's leads only
  (a role address on several people's leads gives its events to none of them, whatever
  order the leads came in). A read-only mapping by key over two arrays by email code.
- ``people_of``: the people of a few natural keys (the touched leads), found in one pass;
  ``leads_of``: the leads of a few people (those whose profile an incremental run rebuilds).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Set

import numpy as np

from leadflow.models.people.identity_keys import NO_KEY, KeyColumns, NaturalKey

COMPACT_ID = re.compile(r"p_[0-9a-f]{16}")  # every id person_id_for makes


def id_text(code: int) -> str:
    """A person id from its 64-bit number (``p_`` and 16 lower-case hex digits)."""
    return "p_%016x" % code  # noqa: UP031 (the fastest way to spell it)


def holds_id(codes: np.ndarray, person_id: str) -> bool:
    """Whether ``person_id`` is one of the sorted id numbers ``codes``."""
    if not COMPACT_ID.fullmatch(person_id):
        return False
    code = np.uint64(int(person_id[2:], 16))
    at = int(np.searchsorted(codes, code))
    return at < codes.size and codes[at] == code


class EmailPeople(Mapping[str, str]):
    """Each email match key's one person (``columns.emails`` keeps its lookup by value);
    iteration is in key order."""

    def __init__(self, columns: KeyColumns, codes: np.ndarray) -> None:
        emails = np.array(columns.emails.codes, dtype=np.int64)
        present = emails != NO_KEY
        keys, people = emails[present], codes[present]
        distinct = len(columns.emails.values())
        low = np.full(distinct, np.iinfo(np.uint64).max, dtype=np.uint64)
        high = np.zeros(distinct, dtype=np.uint64)
        np.minimum.at(low, keys, people)
        np.maximum.at(high, keys, people)
        self._columns = columns
        self._owner = low
        self._owned = low == high  # every lead with the key has one person
        self._count = int(np.count_nonzero(self._owned))

    def __getitem__(self, key: str) -> str:
        code = self._columns.emails.code_of(key)
        if code is None or not self._owned[code]:
            raise KeyError(key)
        return id_text(int(self._owner[code]))

    def __iter__(self) -> Iterator[str]:
        return self._keys(np.flatnonzero(self._owned))

    def __len__(self) -> int:
        return self._count

    def pairs(self) -> Iterator[tuple[str, str]]:
        """(key, person id) of every owned key, in key order, without looking each key up
        again (``items()`` does: 3 s of a first run's 1M leads)."""
        values = self._columns.emails.values()
        owned = sorted(np.flatnonzero(self._owned).tolist(), key=values.__getitem__)
        people = self._owner[np.array(owned, dtype=np.int64)].tolist()
        return zip((values[code] for code in owned), map(id_text, people), strict=True)

    def stored_keys(self) -> StoredKeys:
        """A record of which keys are stored already (see ``StoredKeys``)."""
        return StoredKeys(self)

    def _code(self, key: str) -> int | None:
        return self._columns.emails.code_of(key)

    def _keys(self, codes: np.ndarray) -> Iterator[str]:
        values = self._columns.emails.values()
        return (values[code] for code in sorted(codes.tolist(), key=values.__getitem__))


class StoredKeys:
    """Which of an ``EmailPeople``'s keys were seen stored, one byte a distinct key (a set
    of a million stored keys, each a new string, had cost about 100 MB): ``add`` each
    stored key, then ``missing`` gives the owned keys not seen, in key order."""

    def __init__(self, owners: EmailPeople) -> None:
        self._owners = owners
        self._held = np.zeros(owners._owned.size, dtype=bool)

    def add(self, key: str) -> None:
        code = self._owners._code(key)
        if code is not None:
            self._held[code] = True

    def missing(self) -> Iterator[str]:
        return self._owners._keys(np.flatnonzero(self._owners._owned & ~self._held))


def people_of(
    columns: KeyColumns, codes: np.ndarray, keys: Set[NaturalKey]
) -> dict[NaturalKey, str]:
    """The person of each of ``keys`` that is a lead, in one pass over the leads."""
    found: dict[NaturalKey, str] = {}
    if keys:
        for position, key in enumerate(columns.natural_keys()):
            if key in keys:
                found[key] = id_text(int(codes[position]))
    return found


def leads_of(columns: KeyColumns, codes: np.ndarray, person_ids: Set[str]) -> dict[NaturalKey, str]:
    """Every lead of the people ``person_ids`` (ids ``person_id_for`` makes: ``p_`` and 16
    hex digits; others have no lead here), with its person."""
    wanted = [int(pid[2:], 16) for pid in person_ids if COMPACT_ID.fullmatch(pid)]
    if not wanted:
        return {}
    inside = np.isin(codes, np.array(wanted, dtype=np.uint64))
    return {
        columns.natural_key(position): id_text(int(codes[position]))
        for position in np.flatnonzero(inside).tolist()
    }
