"""Identity's input: every lead's natural key and match keys, held by column.

``LeadKeys`` is one lead's keys (tests and small callers build them); ``KeyColumns`` holds
a whole warehouse's the way resolution reads them: one position per lead, each match key
column as integer codes into its distinct values, creation times as integers.

Why columns: at a million leads a ``LeadKeys`` object and its strings (an email, a phone, a
datetime) took about 330 bytes a lead, and resolution's dicts by natural key as much again
(the people layer's first run peaked at 809 MB of RSS, 745 MB of it identity's). An email
or phone shared by several leads is now held once, each lead holds 8-byte codes, and the
union-find works on integer arrays (``leadflow.models.people.identity``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from sys import intern

from leadflow.models.records.leads import Lead

HUBSPOT = "hubspot"
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
UNDATED = 1 << 62  # sorts undated leads after every dated one
NO_KEY = -1  # the code of a lead without that key
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

NaturalKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class LeadKeys:
    """What identity resolution needs from a lead: its natural key and its match keys
    (``contact_key``: ``contact_key_for`` its source, account and contact_id)."""

    source: str
    source_lead_id: str
    email_match_key: str | None = None
    phone: str | None = None
    merged_ids: tuple[str, ...] = ()
    created_at: datetime | None = None
    contact_key: str | None = None

    @property
    def natural_key(self) -> NaturalKey:
        return (self.source, self.source_lead_id)

    @classmethod
    def from_lead(cls, lead: Lead) -> LeadKeys:
        merged: tuple[str, ...] = ()
        if lead.source == HUBSPOT:
            merged = parse_merged_ids(
                lead.custom_fields.get(MERGED_IDS_PROPERTY), lead.source_lead_id
            )
        return cls(
            lead.source,
            lead.source_lead_id,
            lead.email_match_key,
            lead.phone,
            merged,
            lead.created_at,
            contact_key_for(lead.source, lead.account_id, lead.contact_id),
        )


def contact_key_for(source: str, account_id: str | None, contact_id: str | None) -> str | None:
    """The identity key of a platform contact id, scoped to its source and account (a
    Mailchimp audience): ``"mailchimp:<list id>:<contact_id>"``; None without one."""
    return f"{source}:{account_id}:{contact_id}" if contact_id else None


def parse_merged_ids(value: object, own_id: str | None = None) -> tuple[str, ...]:
    """HubSpot's ``hs_merged_object_ids`` ("123;456", a list, or one number) as sorted ids."""
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split(";")
    ids = {str(item).strip() for item in items} - {"", own_id}
    return tuple(sorted(ids))


def anchor_time(created_at: datetime | None) -> int:
    """A lead's creation in microseconds since the epoch (``UNDATED`` without one): what a
    cluster's anchor is chosen by. A naive time is UTC (SQLite gives UTC back without its
    offset)."""
    if created_at is None:
        return UNDATED
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return int(created_at.timestamp() * 1_000_000)


class KeyCodes:
    """One match key column: each lead's code (``NO_KEY`` without a key; an empty key is
    none) and the distinct values, numbered in order of first appearance."""

    __slots__ = ("_index", "_values", "codes")

    def __init__(self) -> None:
        self.codes = array("q")
        self._index: dict[str, int] | None = {}
        self._values: list[str] | None = None

    def append(self, value: str | None) -> None:
        if not value:
            self.codes.append(NO_KEY)
            return
        index = self._index
        if index is None or self._values is not None:
            raise TypeError("a frozen column takes no more leads")
        code = index.get(value)
        if code is None:
            code = index[value] = len(index)
        self.codes.append(code)

    def freeze(self, *, lookups: bool) -> None:
        """No more leads: the values become a list, and the lookup by value is kept only
        with ``lookups`` (a dict entry costs about 100 bytes a value more than the list)."""
        if self._values is None:
            self._values = list(self._index or ())
        if not lookups:
            self._index = None

    def values(self) -> list[str]:
        """The distinct values by code."""
        if self._values is None:
            raise TypeError("values() needs a frozen column")
        return self._values

    def value(self, code: int) -> str | None:
        """The value of ``code`` (None for ``NO_KEY``)."""
        return None if code == NO_KEY else self.values()[code]

    def code_of(self, value: str) -> int | None:
        """The code of ``value`` (None if no lead has it); needs the lookups kept."""
        if self._index is None:
            raise TypeError("this column kept no lookups")
        return self._index.get(value)


class KeyColumns:
    """Every lead's keys by column; position ``i`` is the ``i``-th lead appended.

    ``emails`` keep their lookup by value (events are re-pointed by email); ``phones`` and
    ``contacts`` only their values once ``freeze`` is called. ``merged`` holds the HubSpot
    merged ids of the few leads that have any, by position."""

    __slots__ = ("contacts", "created", "emails", "lead_ids", "merged", "phones", "sources")

    def __init__(self) -> None:
        self.sources: list[str] = []
        self.lead_ids: list[str] = []
        self.emails = KeyCodes()
        self.phones = KeyCodes()
        self.contacts = KeyCodes()
        self.created = array("q")
        self.merged: dict[int, tuple[str, ...]] = {}

    @classmethod
    def of(cls, records: Iterable[LeadKeys]) -> KeyColumns:
        """Columns of ``records``, in their order."""
        columns = cls()
        for rec in records:
            columns.add(rec)
        columns.freeze()
        return columns

    def add(self, rec: LeadKeys) -> None:
        self.append(
            rec.source,
            rec.source_lead_id,
            rec.email_match_key,
            rec.phone,
            rec.merged_ids,
            anchor_time(rec.created_at),
            rec.contact_key,
        )

    def append(
        self,
        source: str,
        lead_id: str,
        email_key: str | None,
        phone: str | None,
        merged_ids: tuple[str, ...],
        created: int,
        contact_key: str | None,
    ) -> None:
        """One lead; ``created`` as ``anchor_time`` gives it."""
        if merged_ids:
            self.merged[len(self.lead_ids)] = merged_ids
        self.sources.append(intern(source))  # one str per platform, not one per lead
        self.lead_ids.append(lead_id)
        self.emails.append(email_key)
        self.phones.append(phone)
        self.contacts.append(contact_key)
        self.created.append(created)

    def freeze(self) -> None:
        """No more leads: drop the lookups resolution does not need."""
        self.emails.freeze(lookups=True)
        self.phones.freeze(lookups=False)
        self.contacts.freeze(lookups=False)

    def __len__(self) -> int:
        return len(self.lead_ids)

    def natural_key(self, position: int) -> NaturalKey:
        return (self.sources[position], self.lead_ids[position])

    def natural_keys(self) -> Iterator[NaturalKey]:
        return zip(self.sources, self.lead_ids, strict=True)

    def record(self, position: int) -> LeadKeys:
        """The ``position``-th lead's keys as a ``LeadKeys`` (its creation time as UTC)."""
        created = self.created[position]
        return LeadKeys(
            self.sources[position],
            self.lead_ids[position],
            self.emails.value(self.emails.codes[position]),
            self.phones.value(self.phones.codes[position]),
            self.merged.get(position, ()),
            None if created == UNDATED else EPOCH + timedelta(microseconds=created),
            self.contacts.value(self.contacts.codes[position]),
        )

    def records(self) -> list[LeadKeys]:
        return [self.record(i) for i in range(len(self))]
