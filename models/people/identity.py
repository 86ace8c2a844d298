"""Identity resolution: which leads, from any platform, are the same person.

Leads are nodes named by their natural key (source, source_lead_id). Two leads are one
person when they share an email match key or an E.164 phone, when a HubSpot contact
lists the other in ``hs_merged_object_ids``, or when they are of one source and account and
share the platform's ``contact_id`` (a Mailchimp audience's contact, whose member id changes
with its email); the relation is transitive (union-find).

The answer is a function of the set of leads and the blocking rules alone: not of the order
the leads arrived in, nor of what an earlier run decided. The same leads give the same
people and the same person ids however they were loaded, and a rebuild from scratch gives
what incremental runs gave.

Decisions:
- A merged HubSpot id is an alias node: the old contact, if it is ever loaded, joins the
  contact it was merged into; ``Resolution.aliases`` maps ids that are not loaded leads,
  so activity pointing at an old contact id still finds its person.
- ``contact_id`` is scoped to its source and account ("mailchimp:<list id>:<contact_id>"):
  Mailchimp gives one human in two audiences two contacts, which still join by email.
  Never blocked: it names one contact on the platform.
- Blocking (``IdentityRules``): a phone shared by more than ``max_emails_per_phone``
  distinct email keys (a switchboard, an agency's number) links nobody; neither does a role
  address (``info@``) or one at a disposable-mail domain. Counted over all leads each run,
  so a phone links the same leads whatever was loaded first. A note says so (masked).
- Person id: ``p_`` + 16 hex of sha256 of the cluster's anchor, its earliest created lead
  ("source:source_lead_id"; ties and undated leads by that text). A person's id therefore
  survives new leads (they are created later), a merge keeps the id of the person whose
  first lead is older, and a split leaves the id with the part holding the anchor; the
  other parts are named by their own anchors.
- ``previous`` (last run's ids, by natural key or by position in the records:
  ``identity_changes.PreviousIds``) never changes the answer: it only reports what
  changed, the leads that moved and the merges and splits (``identity_changes``).
- Columns, not objects: the leads come as ``KeyColumns`` (each match key an integer code,
  ``leadflow.models.people.identity_keys``); equal codes are joined as edges of a graph whose
  connected components (scipy's ``connected_components``, in C) are the people, the anchors
  are found by sorting (numpy), and each lead's person is held as its id's 64-bit number.
  At a million leads the pure-Python union-find over objects and dicts by natural key had
  taken about 700 bytes a lead at its peak.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Set

import numpy as np

from leadflow.models.people.identity_changes import (
    Merge,
    PreviousIds,
    aligned,
    moved_leads,
    record_changes,
)
from leadflow.models.people.identity_graph import (
    components,
    duplicate_edges,
    equal_edges,
    int32_codes,
    key_lookup,
    merge_edges,
    shared_phones,
)
from leadflow.models.people.identity_keys import (
    HUBSPOT,
    MERGED_IDS_PROPERTY,
    NO_KEY,
    KeyColumns,
    LeadKeys,
    NaturalKey,
    contact_key_for,
    parse_merged_ids,
)
from leadflow.models.people.identity_lookup import EmailPeople, id_text, leads_of, people_of
from leadflow.models.people.rules import IdentityRules
from leadflow.models.records.contact import mask_phone

__all__ = [
    "HUBSPOT",
    "MERGED_IDS_PROPERTY",
    "KeyColumns",
    "LeadKeys",
    "Merge",
    "NaturalKey",
    "Resolution",
    "contact_key_for",
    "id_texts",
    "parse_merged_ids",
    "person_id_for",
    "resolve",
]


def person_id_for(natural_key_text: str) -> str:
    """The deterministic id of a new person whose smallest lead key is ``natural_key_text``."""
    return "p_" + hashlib.sha256(natural_key_text.encode()).hexdigest()[:16]


def id_texts(codes: np.ndarray) -> list[str]:
    """Person ids from their numbers, in the same order (sorted numbers give sorted ids:
    16 lower-case hex digits)."""
    return list(map(id_text, codes.tolist()))


class Resolution:
    """Who is who: each lead's person (by position in ``columns``, as the 64-bit number of
    its id: ``person_at``, ``pairs``; or as a dict by natural key, ``person_of``, built when
    asked for), the merged HubSpot ids' people (``aliases``), the merges since ``previous``,
    and notes; with ``previous``, the leads whose person id is not last run's (``moved``:
    each with the id it had, None for a new lead; ``moved_at``: their positions)."""

    __slots__ = ("aliases", "codes", "columns", "merges", "moved", "moved_at", "notes")

    def __init__(
        self,
        columns: KeyColumns,
        codes: np.ndarray,
        *,
        aliases: dict[NaturalKey, str] | None = None,
        merges: list[Merge] | None = None,
        notes: list[str] | None = None,
        moved: list[tuple[NaturalKey, str | None]] | None = None,
    ) -> None:
        self.columns = columns
        self.codes = codes
        self.aliases = aliases or {}
        self.merges = merges or []
        self.notes = notes or []
        self.moved = moved
        self.moved_at: list[int] = []  # the moved leads' positions

    def __len__(self) -> int:
        return len(self.columns)

    def person_at(self, position: int) -> str:
        """The person id of the ``position``-th lead."""
        return id_text(int(self.codes[position]))

    def pairs(self) -> Iterator[tuple[str, str, str]]:
        """(source, source_lead_id, person id) of every lead, in order."""
        columns = self.columns
        ids = map(id_text, self.codes.tolist())
        return zip(columns.sources, columns.lead_ids, ids, strict=True)

    def placed(self) -> Iterator[tuple[str, str, str, bool]]:
        """:meth:`pairs` with whether the lead is its person's only one (its profile is
        then its own fields, which the store builds in the database)."""
        _, inverse, counts = np.unique(self.codes, return_inverse=True, return_counts=True)
        alone = (counts == 1)[inverse].tolist()
        columns, ids = self.columns, map(id_text, self.codes.tolist())
        return zip(columns.sources, columns.lead_ids, ids, alone, strict=True)

    @property
    def person_of(self) -> dict[NaturalKey, str]:
        """Each lead's person id by natural key (a new dict: a whole run does not need it)."""
        return {(source, lead_id): pid for source, lead_id, pid in self.pairs()}

    @property
    def clusters(self) -> dict[str, list[NaturalKey]]:
        """Each person's leads (sorted when more than one), built when asked for."""
        members: dict[str, list[NaturalKey]] = defaultdict(list)
        for key, pid in self.person_of.items():  # a lead named twice is listed once
            members[pid].append(key)
        return {pid: sorted(keys) if len(keys) > 1 else keys for pid, keys in members.items()}

    def email_people(self) -> EmailPeople:
        """Each email match key's person (keys on several people's leads left out)."""
        return EmailPeople(self.columns, self.codes)

    def people_of(self, keys: Set[NaturalKey]) -> dict[NaturalKey, str]:
        """The person of each of ``keys`` that is a lead (one pass over the leads)."""
        return people_of(self.columns, self.codes, keys)

    def leads_of(self, person_ids: Set[str]) -> dict[NaturalKey, str]:
        """Every lead of the people ``person_ids``, with its person."""
        return leads_of(self.columns, self.codes, person_ids)

    def person_ids(self) -> set[str]:
        """Every person's id."""
        return set(id_texts(self.person_codes()))

    def person_codes(self) -> np.ndarray:
        """Every person's id as its number, sorted (``id_texts`` spells them, in order)."""
        return np.unique(self.codes)

    def people_count(self) -> int:
        return int(self.person_codes().size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resolution):
            return NotImplemented
        return (self.person_of, self.aliases, self.merges, self.notes) == (
            other.person_of, other.aliases, other.merges, other.notes,
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Resolution({len(self)} leads, {len(self.merges)} merges)"


def _anchors(columns: KeyColumns, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each component's anchor (its earliest created lead; ties and undated leads by the
    text "source:source_lead_id"): the components' labels and their anchors' positions."""
    created = np.array(columns.created, dtype=np.int64)
    order = np.lexsort((created, labels))
    ordered_labels, ordered_created = labels[order], created[order]
    firsts = np.flatnonzero(np.r_[True, ordered_labels[1:] != ordered_labels[:-1]])
    anchors = order[firsts]
    seconds = firsts + 1
    inside = seconds < order.size
    tied = np.zeros(firsts.size, dtype=bool)
    tied[inside] = (ordered_labels[seconds[inside]] == ordered_labels[firsts[inside]]) & (
        ordered_created[seconds[inside]] == ordered_created[firsts[inside]]
    )
    for group in np.flatnonzero(tied).tolist():  # only ties compare texts
        at = int(firsts[group])
        label, when = ordered_labels[at], ordered_created[at]
        best = int(order[at])
        at += 1
        while at < order.size and ordered_labels[at] == label and ordered_created[at] == when:
            candidate = int(order[at])
            if _text(columns, candidate) < _text(columns, best):
                best = candidate
            at += 1
        anchors[group] = best
    return ordered_labels[firsts], anchors


def _text(columns: KeyColumns, position: int) -> str:
    return f"{columns.sources[position]}:{columns.lead_ids[position]}"


def _id_codes(columns: KeyColumns, anchors: np.ndarray) -> np.ndarray:
    """Every component's id as its 64-bit number: the hash of its anchor's text (salted in
    anchor order on a clash)."""
    codes = np.fromiter(
        (int(person_id_for(_text(columns, at))[2:], 16) for at in anchors.tolist()),
        dtype=np.uint64,
        count=anchors.size,
    )
    if np.unique(codes).size == codes.size:  # the usual case
        return codes
    taken: set[int] = set()
    for group in sorted(range(anchors.size), key=lambda g: _text(columns, int(anchors[g]))):
        text, salt = _text(columns, int(anchors[group])), 0
        candidate = int(codes[group])
        while candidate in taken:
            salt += 1
            candidate = int(person_id_for(f"{text}#{salt}")[2:], 16)
        taken.add(candidate)
        codes[group] = candidate
    return codes


def resolve(
    records: Iterable[LeadKeys] | KeyColumns,
    previous: Mapping[NaturalKey, str] | PreviousIds | None = None,
    *,
    rules: IdentityRules | None = None,
    max_emails_per_phone: int | None = None,
) -> Resolution:
    """Group leads into people under ``rules``; with ``previous`` (last run's ids, by
    natural key or by position in ``records``), record the leads that moved and the merges
    and splits since (``previous`` never changes who is who or their ids).

    ``records`` as ``KeyColumns`` must name each lead once (the warehouse's leads do); a
    list of ``LeadKeys`` may name one twice (one lead, both records' keys)."""
    rules = rules or IdentityRules()
    if max_emails_per_phone is not None:
        rules = rules.model_copy(update={"max_emails_per_phone": max_emails_per_phone})
    columns = records if isinstance(records, KeyColumns) else KeyColumns.of(records)
    count = len(columns)
    if not count:
        moved = None if previous is None else []
        return Resolution(columns, np.zeros(0, dtype=np.uint64), moved=moved)
    emails, phones = int32_codes(columns.emails.codes), int32_codes(columns.phones.codes)
    email_values = columns.emails.values()
    email_blocks = np.fromiter(
        (rules.blocks_email(key) for key in email_values), dtype=bool, count=len(email_values)
    )
    with_email = emails != NO_KEY
    blocked_leads = int(np.count_nonzero(email_blocks[emails[with_email]]))
    phone_emails = shared_phones(phones, emails)
    phone_blocks = phone_emails > rules.max_emails_per_phone
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    for codes, usable in (
        (emails, key_lookup(emails, email_blocks)),
        (phones, key_lookup(phones, phone_blocks)),
        (contacts := int32_codes(columns.contacts.codes), contacts != NO_KEY),
    ):
        start, end = equal_edges(codes, usable)
        starts.append(start)
        ends.append(end)
    if not isinstance(records, KeyColumns):  # the same lead twice: one person
        start, end = duplicate_edges(columns)
        starts.append(start)
        ends.append(end)
    merge_start, merge_end, alias_keys = merge_edges(columns)
    starts.append(merge_start)
    ends.append(merge_end)
    del emails, contacts
    labels = components(count + len(alias_keys), starts, ends)
    del starts, ends
    lead_labels = labels[:count]
    component_labels, anchors = _anchors(columns, lead_labels)
    id_of_label = np.zeros(int(labels.max()) + 1 if labels.size else 0, dtype=np.uint64)
    id_of_label[component_labels] = _id_codes(columns, anchors)
    codes = id_of_label[lead_labels]
    phone_values = columns.phones.values()
    blocked_codes = np.flatnonzero(phone_blocks).tolist()
    blocked = {phone_values[code]: int(phone_emails[code]) for code in blocked_codes}
    notes = [
        f"phone {mask_phone(phone)} is shared by {blocked[phone]} different emails;"
        " not used for matching"
        for phone in sorted(blocked)
    ]
    if blocked_leads:
        notes.append(
            f"{blocked_leads} leads have a role or disposable address; not used for matching"
        )
    result = Resolution(
        columns,
        codes,
        aliases={
            key: id_text(int(id_of_label[labels[count + i]])) for i, key in enumerate(alias_keys)
        },
        notes=notes,
    )
    if previous is not None:
        # Only leads whose person id changed can make a merge or a split: a rerun with
        # nothing changed counts nothing.
        last = aligned(columns, previous)
        result.moved, result.moved_at, holders = moved_leads(columns, codes, last)
        if holders:
            blocked_emails = {email_values[code] for code in np.flatnonzero(email_blocks).tolist()}
            record_changes(result, columns, holders, last, blocked, blocked_emails)
    return result
