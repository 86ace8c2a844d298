"""What identity resolution changed since the last run: last run's ids, merges and splits.

``leadflow.models.people.identity`` decides who is who from the leads alone; this module only
reports how that differs from last run's ids (``previous``), which never changes the answer:

- ``PreviousIds`` holds last run's id of each lead by its position in the records resolved,
  in 8 bytes a lead (an id's 16 hex digits as one 64-bit number) instead of a dict entry, a
  key tuple and a string (about 177 bytes a lead, 177 MB of a million-lead re-run's peak).
- ``record_changes``: a previous id no cluster has any more is a ``Merge`` into the cluster
  holding most of its leads (ties: the smallest id), with the link that bridged it; a
  previous person whose leads now sit in several people is noted as a split.
- ``Merge.bridging_key`` is the email match key, E.164 phone, "hubspot:<id>" or
  "<source>:<account>:<contact_id>" that joined the people: personal data, bound for the
  warehouse like the keys on ``leads``, not logs.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from leadflow.models.people.identity_lookup import COMPACT_ID, holds_id, id_text


class LeadKeys(Protocol):
    """What is read of a lead here (``identity.LeadKeys``; not imported: identity imports
    this module)."""

    source: str
    source_lead_id: str
    email_match_key: str | None
    phone: str | None
    merged_ids: tuple[str, ...]
    contact_key: str | None


class Resolution(Protocol):
    """What is read and added to a resolution here (``identity.Resolution``)."""

    codes: np.ndarray
    merges: list[Merge]
    notes: list[str]


HUBSPOT = "hubspot"
# Order in which a merge's bridging link is reported when several apply.
REASONS = ("email", "phone", "hubspot_merge", "contact_id")
# A retired id whose leads joined no other person's: its anchor lead left (erased, or now
# a test lead), so the rest are named by their next earliest lead.
REANCHORED = "reanchored"

Link = tuple[str, str]  # (reason, key)
Moved = tuple[tuple[str, str], str | None]  # a lead's natural key and the id it had


@dataclass(frozen=True, slots=True)
class Merge:
    """Person ``from_person`` (a previous id) is now ``into_person``, joined through a link."""

    from_person: str
    into_person: str
    reason: str
    bridging_key: str


class PreviousIds:
    """Last run's person id (or None) of each lead, by position: the ``i``-th value belongs
    to the ``i``-th record resolved. Ids of the form ``p_`` + 16 lowercase hex digits (every
    id ``person_id_for`` makes) are held as their number; any other (none is expected) and
    the id whose number is 0 are held apart by position."""

    __slots__ = ("_codes", "_other")

    def __init__(self, ids: Iterable[str | None] = ()) -> None:
        self._codes = array("Q")
        self._other: dict[int, str] = {}
        for pid in ids:
            self.append(pid)

    def append(self, pid: str | None) -> None:
        code = int(pid[2:], 16) if pid is not None and COMPACT_ID.fullmatch(pid) else 0
        if code == 0 and pid is not None:
            self._other[len(self._codes)] = pid
        self._codes.append(code)

    def __len__(self) -> int:
        return len(self._codes)

    def held(self) -> bool:
        """Whether any lead had an id (a first run's leads have none)."""
        return bool(self._other) or any(self._codes)

    def __getitem__(self, index: int) -> str | None:
        code = self._codes[index]
        if code:
            return id_text(code)
        return self._other.get(index)

    def __iter__(self) -> Iterator[str | None]:
        return (self[i] for i in range(len(self._codes)))

    def codes(self) -> array[int]:
        """The ids' numbers by position (0: none, or held apart)."""
        return self._codes

    def held_apart(self) -> list[int]:
        """The positions whose id is not held as its number."""
        return sorted(self._other)


class Columns(Protocol):
    """What is read of the leads' columns here (``identity_keys.KeyColumns``)."""

    sources: list[str]
    lead_ids: list[str]

    def __len__(self) -> int: ...
    def natural_keys(self) -> Iterator[tuple[str, str]]: ...
    def record(self, position: int) -> LeadKeys: ...


def aligned(
    records: Sequence[LeadKeys] | Columns,
    previous: Mapping[tuple[str, str], str] | PreviousIds,
) -> PreviousIds:
    """``previous`` by position in ``records`` (a mapping by natural key is looked up)."""
    if isinstance(previous, PreviousIds):
        if len(previous) != len(records):
            raise ValueError(f"{len(previous)} previous ids for {len(records)} leads")
        return previous
    if hasattr(records, "natural_keys"):
        keys: Iterable[tuple[str, str]] = records.natural_keys()
    else:
        keys = ((rec.source, rec.source_lead_id) for rec in records)
    return PreviousIds(previous.get(key) for key in keys)


def moved_leads(
    columns: Columns, codes: np.ndarray, previous: PreviousIds
) -> tuple[list[Moved], list[int], Counter[tuple[str, str]]]:
    """Leads whose person id (``codes``: its 64-bit number, by position) is not last run's
    (new leads too), with the id they had; their positions; and how many of each previous
    id's leads each person now holds, as (previous id, id now) (only those that moved). A
    lead named twice counts once, as a mapping by key would."""
    last = np.frombuffer(previous.codes(), dtype=np.uint64) if len(previous) else codes[:0]
    changed = last != codes
    for position in previous.held_apart():  # ids not in the compact form: compare texts
        changed[position] = previous[position] != id_text(int(codes[position]))
    moved: list[Moved] = []
    positions: list[int] = []
    holders: Counter[tuple[str, str]] = Counter()
    seen: set[tuple[str, str]] = set()
    for position in np.flatnonzero(changed).tolist():
        key = (columns.sources[position], columns.lead_ids[position])
        if key in seen:
            continue
        seen.add(key)
        pid = previous[position]
        moved.append((key, pid))
        positions.append(position)
        if pid:
            holders[(pid, id_text(int(codes[position])))] += 1
    return moved, positions, holders


def _links(rec: LeadKeys, blocked: Mapping[str, int], blocked_emails: Set[str]) -> list[Link]:
    links = [("hubspot_merge", f"{HUBSPOT}:{merged}") for merged in rec.merged_ids]
    if rec.source == HUBSPOT:
        links.append(("hubspot_merge", f"{HUBSPOT}:{rec.source_lead_id}"))
    if rec.email_match_key and rec.email_match_key not in blocked_emails:
        links.append(("email", rec.email_match_key))
    if rec.phone and rec.phone not in blocked:
        links.append(("phone", rec.phone))
    if rec.contact_key:
        links.append(("contact_id", rec.contact_key))
    return links


def _bridge(
    members: list[tuple[LeadKeys, str | None]],
    retired: str,
    blocked: Mapping[str, int],
    blocked_emails: Set[str],
) -> Link:
    """The first link joining leads that had ``retired`` to leads that did not."""
    labels: dict[Link, set[str | None]] = defaultdict(set)
    for rec, had in members:
        for link in _links(rec, blocked, blocked_emails):
            labels[link].add(had)
    bridges = [link for link, held in labels.items() if retired in held and len(held) > 1]
    bridges.sort(key=lambda link: (REASONS.index(link[0]), link[1]))
    return bridges[0] if bridges else (REANCHORED, "")


def record_changes(
    result: Resolution,
    columns: Columns,
    holders: Counter[tuple[str, str]],
    previous: PreviousIds,
    blocked: Mapping[str, int],
    blocked_emails: Set[str],
) -> None:
    """Merges for previous ids no person has any more; notes for previous persons now
    split. ``holders``: ``moved_leads``'; ``result.codes``: each lead's person id number."""
    current = np.unique(result.codes)
    spread: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (pid, into), count in holders.items():
        spread[pid].append((-count, into))
    merged = {pid: min(spread[pid]) for pid in spread if not holds_id(current, pid)}
    members = _members_of(columns, result.codes, previous, {into for _, into in merged.values()})
    for pid in sorted(spread):
        if pid in merged:
            _, into = merged[pid]
            reason, key = _bridge(members[into], pid, blocked, blocked_emails)
            result.merges.append(Merge(pid, into, reason, key))
            spread[pid].remove(merged[pid])
        if spread[pid]:
            others = sorted(into for _, into in spread[pid])
            result.notes.append(f"person {pid} split: some of its leads are now {others}")


def _members_of(
    columns: Columns, codes: np.ndarray, previous: PreviousIds, chosen: set[str]
) -> dict[str, list[tuple[LeadKeys, str | None]]]:
    """The records of the people ``chosen`` (current ids), each with its previous id."""
    found: dict[str, list[tuple[LeadKeys, str | None]]] = defaultdict(list)
    if chosen:
        wanted = np.array([int(pid[2:], 16) for pid in chosen], dtype=np.uint64)
        for position in np.flatnonzero(np.isin(codes, wanted)).tolist():
            pid = id_text(int(codes[position]))
            found[pid].append((columns.record(position), previous[position]))
    return found
