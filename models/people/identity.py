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
- Pure and linear-ish: integer nodes, an iterative union-find with path halving, whole
  columns through dicts.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from leadflow.models.people.identity_changes import (
    HUBSPOT,
    Merge,
    PreviousIds,
    aligned,
    moved_leads,
    record_changes,
)
from leadflow.models.people.rules import IdentityRules
from leadflow.models.records.contact import mask_phone
from leadflow.models.records.leads import Lead

MERGED_IDS_PROPERTY = "hs_merged_object_ids"
_UNDATED = 1 << 62  # sorts undated leads after every dated one

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


@dataclass(slots=True)
class Resolution:
    """Person ids by lead, the merges since ``previous``, members by person, and notes;
    with ``previous``, the leads whose person id is not last run's (``moved``: each with the
    id it had, None for a new lead)."""

    person_of: dict[NaturalKey, str] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    aliases: dict[NaturalKey, str] = field(default_factory=dict)
    moved: list[tuple[NaturalKey, str | None]] | None = field(default=None, compare=False)

    @property
    def clusters(self) -> dict[str, list[NaturalKey]]:
        """Each person's leads (sorted when more than one), built when asked for: a copy
        of ``person_of`` grouped by person, which a full run does not need to hold."""
        members: dict[str, list[NaturalKey]] = defaultdict(list)
        for key, pid in self.person_of.items():
            members[pid].append(key)
        return {pid: sorted(keys) if len(keys) > 1 else keys for pid, keys in members.items()}

    def person_ids(self) -> set[str]:
        """Every person's id."""
        return set(self.person_of.values())


def person_id_for(natural_key_text: str) -> str:
    """The deterministic id of a new person whose smallest lead key is ``natural_key_text``."""
    return "p_" + hashlib.sha256(natural_key_text.encode()).hexdigest()[:16]


class _Graph:
    """Nodes by natural key over an iterative union-find (path halving, smaller root wins).

    Leads are nodes ``0 .. record_count - 1``; HubSpot merged ids not loaded as leads are
    alias nodes after them.
    """

    def __init__(self, records: Iterable[LeadKeys]) -> None:
        self.records = list(records)
        keys = [(rec.source, rec.source_lead_id) for rec in self.records]
        self.index: dict[NaturalKey, int] = dict(zip(keys, range(len(keys)), strict=True))
        # nodes and parent hold the index's own int objects: 28 bytes a lead less per list.
        self.nodes = list(self.index.values())
        if len(self.index) < len(keys):  # the same lead twice: one node, both records' keys
            self.index = {}
            self.nodes = [self.index.setdefault(key, len(self.index)) for key in keys]
        self.record_count = len(self.index)
        self.parent = list(self.index.values())
        self.blocked_emails: set[str] = set()

    def node(self, key: NaturalKey) -> int:
        found = self.index.setdefault(key, len(self.index))
        if found == len(self.parent):
            self.parent.append(found)
        return found

    def keys(self) -> list[NaturalKey]:
        return list(self.index)

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def link(self, rules: IdentityRules) -> tuple[dict[str, int], int]:
        """Union by email, contact id, HubSpot merges and phone; return the phones too
        shared to use, with how many different emails share each, and how many leads'
        addresses were blocked (role or disposable)."""
        emails = [rec.email_match_key for rec in self.records]
        phones = [rec.phone for rec in self.records]
        verdict: dict[str, bool] = {}
        usable = [
            key if key and not verdict.setdefault(key, rules.blocks_email(key)) else None
            for key in emails
        ]
        self._union_equal(usable)
        contacts = [rec.contact_key for rec in self.records]
        if any(contacts):
            self._union_equal(contacts)
        for node, rec in zip(self.nodes, self.records, strict=True):
            for merged_id in rec.merged_ids:
                self.union(node, self.node((HUBSPOT, merged_id)))
        blocked = _shared_phones(phones, emails, rules.max_emails_per_phone)
        self._union_equal([None if phone in blocked else phone for phone in phones])
        self.blocked_emails = {key for key, blocks in verdict.items() if blocks}
        return blocked, sum(1 for key in emails if key in self.blocked_emails)

    def _union_equal(self, values: list[str | None]) -> None:
        """Union every node with the first node that has the same value."""
        first = dict(zip(reversed(values), reversed(self.nodes), strict=True))
        parent = self.parent
        for node, value in zip(self.nodes, values, strict=True):
            if not value:
                continue
            # union(node, first[value]) inlined: this loop runs once per lead.
            a, b = node, first[value]
            while parent[a] != a:
                parent[a] = a = parent[parent[a]]
            while parent[b] != b:
                parent[b] = b = parent[parent[b]]
            if a != b:
                parent[max(a, b)] = min(a, b)

    def roots(self) -> list[int]:
        """Every node's root; afterwards each node points straight at it."""
        parent = self.parent
        for i in range(len(parent)):
            # Roots are each cluster's smallest node, so parent[parent[i]] is already final.
            parent[i] = parent[parent[i]]
        return parent


def _shared_phones(
    phones: list[str | None], emails: list[str | None], max_emails: int
) -> dict[str, int]:
    """Phones shared by more than ``max_emails`` different emails, with how many."""
    # Only a phone on more than max_emails leads can have that many emails: count first.
    crowded = {phone for phone, n in Counter(phones).items() if phone and n > max_emails}
    seen: dict[str, set[str]] = defaultdict(set)
    if crowded:
        for phone, email in zip(phones, emails, strict=True):
            if phone in crowded and email:
                seen[phone].add(email)
    return {phone: len(found) for phone, found in seen.items() if len(found) > max_emails}


def _anchor_time(created_at: datetime | None) -> int:
    """A lead's creation in microseconds, as a cluster's anchor is chosen by (undated last)."""
    if created_at is None:
        return _UNDATED
    if created_at.tzinfo is None:  # SQLite gives UTC back without its offset
        created_at = created_at.replace(tzinfo=UTC)
    return int(created_at.timestamp() * 1_000_000)


def _anchors(graph: _Graph, roots: list[int], keys: list[NaturalKey]) -> list[int]:
    """Each cluster's anchor node, at its root's place (-1 elsewhere): its earliest created
    lead; ties (and undated leads) by the text "source:source_lead_id", built only for a
    tie. Lists by node, not a tuple and a text per cluster (200,000 leads: 7 MB less)."""
    size = len(graph.parent)
    when: list[int | None] = [None] * size
    best: list[int] = [-1] * size
    for node, rec in zip(graph.nodes, graph.records, strict=True):
        order, root = _anchor_time(rec.created_at), roots[node]
        held = when[root]
        if (
            held is None
            or order < held
            or (order == held and _text(keys[node]) < _text(keys[best[root]]))
        ):
            when[root], best[root] = order, node
    return best


def _text(key: NaturalKey) -> str:
    return "%s:%s" % key  # noqa: UP031 (the anchor's text, hashed into the person id)


def _person_ids(anchors: list[int], keys: list[NaturalKey]) -> dict[int, str]:
    """Every cluster's id by root: the hash of its anchor (salted in anchor order on a
    clash)."""
    ids = {root: person_id_for(_text(keys[node])) for root, node in enumerate(anchors) if node >= 0}
    if len(set(ids.values())) == len(ids):  # the usual case
        return ids
    taken: set[str] = set()
    for root in sorted(ids, key=lambda root: _text(keys[anchors[root]])):
        candidate, salt = ids[root], 0
        while candidate in taken:
            salt += 1
            candidate = person_id_for(f"{_text(keys[anchors[root]])}#{salt}")
        taken.add(candidate)
        ids[root] = candidate
    return ids


def resolve(
    records: Iterable[LeadKeys],
    previous: Mapping[NaturalKey, str] | PreviousIds | None = None,
    *,
    rules: IdentityRules | None = None,
    max_emails_per_phone: int | None = None,
) -> Resolution:
    """Group leads into people under ``rules``; with ``previous`` (last run's ids, by
    natural key or by position in ``records``), record the leads that moved and the merges
    and splits since (``previous`` never changes who is who or their ids)."""
    rules = rules or IdentityRules()
    if max_emails_per_phone is not None:
        rules = rules.model_copy(update={"max_emails_per_phone": max_emails_per_phone})
    graph = _Graph(records)
    blocked, blocked_leads = graph.link(rules)
    roots, keys, count = graph.roots(), graph.keys(), graph.record_count
    ids = _person_ids(_anchors(graph, roots, keys), keys)
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
        person_of={keys[node]: ids[roots[node]] for node in range(count)},
        aliases={keys[node]: ids[roots[node]] for node in range(count, len(keys))},
        notes=notes,
    )
    if previous is not None:
        # Only leads whose person id changed can make a merge or a split: a rerun with
        # nothing changed counts nothing.
        last = aligned(graph.records, previous)
        result.moved, holders = moved_leads(graph, keys, ids, roots, last)
        if holders:
            record_changes(result, graph, ids, holders, last, blocked)
    return result
