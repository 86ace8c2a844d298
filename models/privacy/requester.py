"""Who asked to be forgotten: the requester's leads and identifiers, and nobody else's.

Identity resolution joins leads into one person by email and by phone, so a person can hold
several people's leads (colleagues behind one company switchboard). Erasure therefore does
not go by ``person_id``: it starts from the requester's email (or, for ``--person-id``, the
person's own address) and takes only what is provably theirs:

- every lead whose ``email_match_key`` is one of the requester's;
- a phone is the requester's when no lead with another email address carries it (it
  appears only on the requester's leads, or on leads without an email);
- a lead with no email whose phone is exclusively the requester's is the requester's;
- with ``--person-id``: the person's leads without an email or a phone (reached by a HubSpot
  merge) too.

A shared phone is not proof of identity: it is not the requester's (not suppressed, not
cleared on anyone's lead). What cannot be told apart is *linked*: another email address on
the person given by id, or on leads carrying the phone of a lead that has only a phone (or
on that lead's person). Linked addresses are only counted unless ``include_linked``: then
they count as the requester's too, and the match is repeated until nothing new is reached.

Reads only, a handful of set-based queries per round; nothing personal leaves this module
but inside the returned ``Requester``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.privacy.suppression import email_key
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people
from leadflow.models.warehouse.person_links import LEAD_PERSON, leads_with_people

LeadKey = tuple[str, str]

# How a lead was matched, the keys of Requester.matched_by.
GIVEN_EMAIL = "email"
LINKED_EMAIL = "linked email"
EXCLUSIVE_PHONE = "phone"
PERSON_ONLY = "person"


class LeadRow(NamedTuple):
    source: str
    lead_id: str
    email_key: str | None
    phone: str | None
    person_id: str | None

    @property
    def key(self) -> LeadKey:
        return (self.source, self.lead_id)


@dataclass
class Requester:
    """The requester's leads and identifiers (personal data: never print these fields)."""

    by: str  # "email" or "person"
    given_emails: set[str]  # the address given, or the person's own
    emails: set[str] = field(default_factory=set)  # given + linked ones when included
    addresses: set[str] = field(default_factory=set)  # leads.email spellings of those
    phones: set[str] = field(default_factory=set)  # phones exclusively the requester's
    shared_phones: set[str] = field(default_factory=set)  # on their leads, others' too
    leads: dict[LeadKey, str] = field(default_factory=dict)  # lead -> how it matched
    person_ids: set[str] = field(default_factory=set)  # people the requester's rows touch
    linked: set[str] = field(default_factory=set)  # other addresses reached, not included

    def lead_count(self, how: str) -> int:
        """How many of the requester's leads matched this way."""
        return sum(1 for matched in self.leads.values() if matched == how)


def find_requester(
    conn: Connection,
    *,
    email: str | None = None,
    person_id: str | None = None,
    include_linked: bool = False,
) -> Requester:
    """The requester given by ``email`` or ``person_id`` (exactly one), in ``conn``."""
    if (email is None) == (person_id is None):
        raise ValueError("give exactly one of email and person_id")
    person_rows: list[LeadRow] = []
    extra_phones: set[str] = set()
    if email is not None:
        key = email_key(email)
        if key is None:
            raise ValueError("the email address is empty")
        own = {key}
    else:
        person_rows = _rows(conn, person_id == LEAD_PERSON)
        profile = conn.execute(
            sa.select(people.c.email_match_key, people.c.phone).where(
                people.c.person_id == person_id
            )
        ).first()
        keys = sorted({row.email_key for row in person_rows if row.email_key})
        own_key = (profile.email_match_key if profile else None) or (keys[0] if keys else None)
        own = {own_key} if own_key else set()
        extra_phones = {profile.phone} if profile and profile.phone else set()
    requester = Requester(by="email" if email is not None else "person", given_emails=own)
    emails = set(own)
    while True:
        found = _match(conn, own, emails, person_rows, extra_phones, person_id)
        if not found.linked or not include_linked:
            break
        emails |= found.linked
    found.by, found.given_emails = requester.by, requester.given_emails
    found.person_ids |= _profile_people(conn, found.emails)
    if person_id is not None and conn.scalar(
        sa.select(people.c.person_id).where(people.c.person_id == person_id)
    ):
        found.person_ids.add(person_id)
    return found


def _match(
    conn: Connection,
    own: set[str],
    emails: set[str],
    person_rows: Sequence[LeadRow],
    extra_phones: set[str],
    person_id: str | None,
) -> Requester:
    """One round: the requester's leads and phones for these emails, and what is linked."""
    found = Requester(by="", given_emails=set(), emails=set(emails))
    email_rows = _rows(conn, any_of(leads.c.email_match_key, emails))
    for row in email_rows:
        matched = GIVEN_EMAIL if row.email_key in own else LINKED_EMAIL
        found.leads[row.key] = matched
    candidates = _unique([*email_rows, *person_rows])
    phones = {row.phone for row in candidates if row.phone} | extra_phones
    phone_rows = _rows(conn, any_of(leads.c.phone, phones))
    others: dict[str, set[str]] = defaultdict(set)
    for row in phone_rows:
        if row.phone and row.email_key and row.email_key not in emails:
            others[row.phone].add(row.email_key)
    for row in _unique([*phone_rows, *person_rows]):
        if (
            row.email_key in emails and row.key not in found.leads
        ):  # an address without a match key, reached another way
            found.leads.setdefault(row.key, GIVEN_EMAIL if row.email_key in own else LINKED_EMAIL)
    found.phones = {phone for phone in phones if not others.get(phone)}
    found.shared_phones = phones - found.phones
    every = _unique([*email_rows, *phone_rows, *person_rows])
    own_people = {row.person_id for row in every if row.person_id and row.email_key in emails}
    own_people |= {person_id} if person_id else set()
    for row in person_rows:
        if row.email_key and row.email_key not in emails:
            found.linked.add(row.email_key)  # another address on the person given by id
        elif not row.email_key and not row.phone:
            found.leads.setdefault(row.key, PERSON_ONLY)
    phone_only = [row for row in every if not row.email_key]
    foreign = _emails_of_people(
        conn, {r.person_id for r in phone_only if r.person_id and r.person_id not in own_people}
    )
    for row in phone_only:
        if not row.phone:
            continue
        elsewhere = others.get(row.phone, set()) | (
            foreign.get(row.person_id or "", set()) - emails
        )
        if elsewhere:
            found.linked |= elsewhere  # whose lead is it? not provably the requester's
        else:
            found.leads.setdefault(row.key, EXCLUSIVE_PHONE)
    found.linked -= emails
    found.person_ids = {row.person_id for row in every if row.key in found.leads and row.person_id}
    found.addresses = _addresses(conn, found.leads)
    return found


def _rows(conn: Connection, where: sa.ColumnElement[bool]) -> list[LeadRow]:
    query = (
        sa.select(
            leads.c.source,
            leads.c.source_lead_id,
            # A lead loaded with an address but no match key is still someone's.
            sa.func.coalesce(leads.c.email_match_key, sa.func.lower(leads.c.email)),
            leads.c.phone,
            LEAD_PERSON,
        )
        .select_from(leads_with_people(outer=True))
        .where(where)
    )
    return [LeadRow(*row) for row in conn.execute(query)]


def _unique(rows: Iterable[LeadRow]) -> list[LeadRow]:
    return list({row.key: row for row in rows}.values())


def _emails_of_people(conn: Connection, person_ids: set[str]) -> dict[str, set[str]]:
    """The email match keys on each person's leads and profile."""
    found: dict[str, set[str]] = defaultdict(set)
    if not person_ids:
        return found
    on_leads = (
        sa.select(LEAD_PERSON, leads.c.email_match_key)
        .select_from(leads_with_people())
        .where(any_of(LEAD_PERSON, person_ids), leads.c.email_match_key.is_not(None))
    )
    on_profiles = sa.select(people.c.person_id, people.c.email_match_key).where(
        any_of(people.c.person_id, person_ids), people.c.email_match_key.is_not(None)
    )
    for query in (on_leads, on_profiles):
        for pid, key in conn.execute(query):
            found[pid].add(key)
    return found


def _profile_people(conn: Connection, emails: set[str]) -> set[str]:
    query = sa.select(people.c.person_id).where(any_of(people.c.email_match_key, emails))
    return set(conn.scalars(query))


def _addresses(conn: Connection, keys: Iterable[LeadKey]) -> set[str]:
    query = sa.select(leads.c.email).where(
        lead_match(leads.c.source, leads.c.source_lead_id, keys), leads.c.email.is_not(None)
    )
    return {address.lower() for address in conn.scalars(query)}


def any_of(column: sa.ColumnElement, values: Iterable[str]) -> sa.ColumnElement[bool]:
    """``column IN values``, false for no values."""
    values = sorted(values)
    return column.in_(values) if values else sa.false()


def lead_match(
    source: sa.ColumnElement, lead_id: sa.ColumnElement, keys: Iterable[LeadKey]
) -> sa.ColumnElement[bool]:
    """Rows whose (source, lead id) is one of ``keys``: one ``IN`` per source (a flat
    ``OR`` of pairs would hit SQLite's expression depth limit for a thousand leads)."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for src, lead in keys:
        by_source[src].add(lead)
    terms = [
        sa.and_(source == src, lead_id.in_(sorted(ids))) for src, ids in sorted(by_source.items())
    ]
    return sa.or_(*terms) if terms else sa.false()
