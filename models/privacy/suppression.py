"""Personal data by hash: ``people.email_hash`` for BI, and the suppression list that keeps
erased people out of later syncs.

Every hash is SHA-256 over ``salt:kind:value`` (kind: email, phone or lead), with the salt
from configuration (``privacy.hash_salt``), so a hash cannot be reversed by hashing a list
of known addresses without the salt. The salt is configuration rather than a table so that
it is not readable by whoever can read the warehouse.

Why ``email_hash`` is a stored column (filled after identity resolution) and not computed
in the views: SQLite has no SHA-256 function, and a BI tool reading the file cannot be
asked to register one. Stored, it is the same on both dialects, and ``refresh_email_hashes``
recomputes every row whose hash differs, so a changed salt re-keys the column in one run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.records.activity import EngagementEvent, SalesTouch
from leadflow.models.records.contact import normalize_email, normalize_phone
from leadflow.models.records.leads import Lead, Rejected
from leadflow.models.warehouse.people_tables import people
from leadflow.models.warehouse.privacy_tables import suppression_list

T = TypeVar("T")
UPDATE_BATCH = 5_000
HASH_PAGE = 20_000  # people read at a time by refresh_email_hashes


class SuppressionError(RuntimeError):
    """The suppression list cannot be applied (no salt, or a different salt made it)."""


def identifier_hash(kind: str, value: str, salt: str) -> str:
    """Salted SHA-256 (hex) of one identifier: an email match key, an E.164 phone, or
    ``source:lead id``."""
    return hashlib.sha256(f"{salt}:{kind}:{value}".encode()).hexdigest()


def salt_id(salt: str) -> str:
    """A short fingerprint of the salt, stored beside each hash to notice a changed salt."""
    return hashlib.sha256(f"leadflow-salt-id:{salt}".encode()).hexdigest()[:16]


def lead_key(source: str, lead_id: str) -> str:
    """The value hashed for a platform record: ``source:lead id``."""
    return f"{source}:{lead_id}"


def refresh_email_hashes(
    conn: Connection, salt: str, person_ids: Collection[str] | None = None
) -> int:
    """Set ``people.email_hash`` to the salted hash of ``email_match_key`` wherever it
    differs (new people, changed emails, a new salt), among ``person_ids`` if given (else
    everyone); the number of rows changed. Everyone is read a page of ``HASH_PAGE`` people
    at a time, in id order, each page written before the next is read: a first run's
    changes for a million people, held at once as parameter dicts, had cost 245 MB."""
    p = people.c
    query = sa.select(p.person_id, p.email_match_key, p.email_hash).order_by(p.person_id)
    if person_ids is not None:
        return _write_hashes(
            conn, conn.execute(query.where(p.person_id.in_(sorted(person_ids)))), salt
        )
    changed, last = 0, None
    while True:
        page = query.limit(HASH_PAGE)
        rows = conn.execute(page if last is None else page.where(p.person_id > last)).all()
        if not rows:
            return changed
        last = rows[-1][0]
        changed += _write_hashes(conn, rows, salt)


def _write_hashes(conn: Connection, rows: Iterable[Sequence[Any]], salt: str) -> int:
    """Write the hashes of ``rows`` (person id, email match key, stored hash) that differ."""
    changes = [
        {"b_person": pid, "b_hash": wanted}
        for pid, key, stored in rows
        if stored != (wanted := identifier_hash("email", key, salt) if key else None)
    ]
    statement = (
        people.update()
        .where(people.c.person_id == sa.bindparam("b_person"))
        .values(email_hash=sa.bindparam("b_hash"))
    )
    for start in range(0, len(changes), UPDATE_BATCH):
        conn.execute(statement, changes[start : start + UPDATE_BATCH])
    return len(changes)


@dataclass(frozen=True)
class Suppression:
    """The hashes of erased people's identifiers, and the salt to hash candidates with."""

    salt: str | None
    hashes: frozenset[str]

    @classmethod
    def load(cls, conn: Connection, salt: str | None) -> Suppression:
        """Read the list; raises SuppressionError if it is not empty and the salt is
        missing or not the one that made it (erased people would come back otherwise)."""
        rows = conn.execute(sa.select(suppression_list.c.key_hash, suppression_list.c.salt_id))
        found = {key_hash: made_by for key_hash, made_by in rows}
        if not found:
            return cls(salt, frozenset())
        if salt is None:
            raise SuppressionError(
                "suppression_list is not empty but privacy.hash_salt is not set: "
                "set it (the salt used by `leadflow forget`) so erased people stay out"
            )
        if set(found.values()) != {salt_id(salt)}:
            raise SuppressionError(
                "suppression_list was written with a different privacy.hash_salt: "
                "restore that salt so erased people stay out"
            )
        return cls(salt, frozenset(found))

    def _any(self, kind: str, values: Iterable[str | None]) -> bool:
        assert self.salt is not None
        return any(identifier_hash(kind, v, self.salt) in self.hashes for v in values if v)

    def matches(self, record: object) -> bool:
        """True for a Lead, EngagementEvent or SalesTouch of an erased person."""
        if isinstance(record, Lead):
            return (
                self._any("email", [record.email_match_key])
                or self._any("phone", [record.phone])
                or self._any("lead", [lead_key(record.source, record.source_lead_id)])
            )
        if isinstance(record, EngagementEvent):
            return self._any("email", [record.email_match_key])
        if isinstance(record, SalesTouch):
            return self._any("lead", [lead_key(record.source, record.lead_id)])
        return False

    def matches_raw(self, raw: Any, region: str | None = None) -> bool:
        """True if any string in a raw payload is an erased email or phone."""
        emails, phones = contact_values(raw, region)
        return self._any("email", emails) or self._any("phone", phones)

    def matches_reject(self, reject: Rejected, region: str | None = None) -> bool:
        """True for a rejected record of an erased person (by its key or its payload)."""
        key = lead_key(reject.source, reject.record_key) if reject.record_key else None
        return self._any("lead", [key]) or self.matches_raw(reject.raw, region)


def email_key(text: str) -> str | None:
    """The match key of an address; for one the validator refuses (a typo kept in
    quarantine, say), the trimmed lowercase text, so it can still be found and erased."""
    return _quiet(lambda t: normalize_email(t)[1], text) or text.strip().lower() or None


def contact_values(raw: Any, region: str | None = None) -> tuple[set[str], set[str]]:
    """Email match keys and E.164 phones found among the strings of a JSON-like value."""
    emails: set[str] = set()
    phones: set[str] = set()
    for text in _strings(raw):
        if "@" in text:
            emails.add(email_key(text) or "")
        elif sum(ch.isdigit() for ch in text) >= 7 and len(text) <= 32:
            phones.add(_quiet(lambda t: normalize_phone(t, region or "US"), text) or "")
    return emails - {""}, phones - {""}


def _quiet(parse: Any, text: str) -> str | None:
    try:
        return parse(text)
    except ValueError:
        return None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def drop_suppressed(
    conn: Connection,
    salt: str | None,
    records: Sequence[T],
    rejected: Sequence[Rejected],
    region: str | None = None,
) -> tuple[list[T], list[Rejected], int]:
    """The records and rejects that do not belong to an erased person, and how many did.

    Called by every load path (API pages, streams, lead export files) before it writes, in
    the same transaction, so a person erased while a sync runs is not loaded after.
    """
    suppression = Suppression.load(conn, salt)
    if not suppression.hashes:
        return list(records), list(rejected), 0
    kept = [record for record in records if not suppression.matches(record)]
    kept_rejects = [r for r in rejected if not suppression.matches_reject(r, region)]
    dropped = len(records) - len(kept) + len(rejected) - len(kept_rejects)
    return kept, kept_rejects, dropped


def suppress(
    conn: Connection,
    salt: str,
    identifiers: Iterable[tuple[str, str]],
    *,
    request_id: str,
    now: datetime,
) -> int:
    """Add ``(kind, value)`` identifiers (kind: email match key, E.164 phone, or
    ``source:lead id``) to the suppression list, hashed; the number of rows added (an
    identifier already listed is left as it is)."""
    rows = {
        identifier_hash(kind, value, salt): {
            "key_hash": identifier_hash(kind, value, salt), "kind": kind,
            "salt_id": salt_id(salt), "request_id": request_id, "suppressed_at": now,
        }
        for kind, value in identifiers
    }  # fmt: skip
    listed = sa.select(suppression_list.c.key_hash).where(
        suppression_list.c.key_hash.in_(list(rows))
    )
    already = set(conn.execute(listed).scalars())
    new = [row for key, row in rows.items() if key not in already]
    if new:
        conn.execute(suppression_list.insert(), new)
    return len(new)
