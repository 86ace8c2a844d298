"""Identity resolution: which leads, from any platform, are the same person.

Leads are nodes named by their natural key (source, source_lead_id). Two leads are one
person when they share an email match key or an E.164 phone, or when a HubSpot contact
lists the other in ``hs_merged_object_ids``; the relation is transitive (union-find).

Decisions:
- A merged HubSpot id is an alias node: the old contact, if it is ever loaded, joins the
  contact it was merged into; ``Resolution.aliases`` maps ids that are not loaded leads,
  so activity pointing at an old contact id still finds its person.
- A phone shared by more than ``max_emails_per_phone`` distinct email keys (a switchboard,
  an agency's number) links nobody; a note says so (masked, never the number itself).
- Person id: ``p_`` + 16 hex of sha256 of the cluster's smallest "source:source_lead_id".
  With ``previous`` (last run's ids by natural key) a cluster keeps the previous id held by
  most of its members (ties: the smallest id), so a newcomer with a smaller key does not
  churn ids. Ids are claimed greedily across clusters, strongest claim first, so a person
  that splits (a phone became a switchboard) keeps its id in one cluster only; the others
  get fresh ids that never reuse any previous id. A previous id no cluster kept becomes a
  ``Merge`` into the cluster holding most of its leads, with the link that bridged it.
- Pure and linear-ish: integer nodes, an iterative union-find with path halving, whole
  columns through dicts; 1M leads take ~8 s here (a third of it is CPython's cyclic GC).
- ``Merge.bridging_key`` is the email match key, E.164 phone or "hubspot:<id>" that joined
  the people: personal data, bound for the warehouse like the keys on ``leads``, not logs.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leadflow.models.records.contact import mask_phone
from leadflow.models.records.leads import PROFILE_GROUPS, Lead

HUBSPOT = "hubspot"
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
DEFAULT_MAX_EMAILS_PER_PHONE = 5
# Order in which a merge's bridging link is reported when several apply.
REASONS = ("email", "phone", "hubspot_merge")

NaturalKey = tuple[str, str]
Link = tuple[str, str]  # (reason, key)


@dataclass(frozen=True, slots=True)
class LeadKeys:
    """What identity resolution needs from a lead: its natural key and its match keys."""

    source: str
    source_lead_id: str
    email_match_key: str | None = None
    phone: str | None = None
    merged_ids: tuple[str, ...] = ()

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
        return cls(lead.source, lead.source_lead_id, lead.email_match_key, lead.phone, merged)


def parse_merged_ids(value: object, own_id: str | None = None) -> tuple[str, ...]:
    """HubSpot's ``hs_merged_object_ids`` ("123;456", a list, or one number) as sorted ids."""
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split(";")
    ids = {str(item).strip() for item in items} - {"", own_id}
    return tuple(sorted(ids))


@dataclass(frozen=True, slots=True)
class Merge:
    """Person ``from_person`` (a previous id) is now ``into_person``, joined through a link."""

    from_person: str
    into_person: str
    reason: str
    bridging_key: str


@dataclass(slots=True)
class Resolution:
    """Person ids by lead, the merges since ``previous``, members by person, and notes."""

    person_of: dict[NaturalKey, str] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    aliases: dict[NaturalKey, str] = field(default_factory=dict)

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

    def link(self, max_emails_per_phone: int) -> dict[str, int]:
        """Union by email, HubSpot merges and phone; return phones too shared to use, with
        how many different emails share each."""
        emails = [rec.email_match_key for rec in self.records]
        phones = [rec.phone for rec in self.records]
        self._union_equal(emails)
        for node, rec in zip(self.nodes, self.records, strict=True):
            for merged_id in rec.merged_ids:
                self.union(node, self.node((HUBSPOT, merged_id)))
        blocked = _shared_phones(phones, emails, max_emails_per_phone)
        self._union_equal([None if phone in blocked else phone for phone in phones])
        return blocked

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


def _links(rec: LeadKeys, blocked: Mapping[str, int]) -> list[Link]:
    links = [("hubspot_merge", f"{HUBSPOT}:{merged}") for merged in rec.merged_ids]
    if rec.source == HUBSPOT:
        links.append(("hubspot_merge", f"{HUBSPOT}:{rec.source_lead_id}"))
    if rec.email_match_key:
        links.append(("email", rec.email_match_key))
    if rec.phone and rec.phone not in blocked:
        links.append(("phone", rec.phone))
    return links


def _bridge(
    records: list[LeadKeys],
    previous: Mapping[NaturalKey, str],
    retired: str,
    blocked: Mapping[str, int],
) -> Link:
    """The first link joining leads that had ``retired`` to leads that did not."""
    labels: dict[Link, set[str | None]] = defaultdict(set)
    for rec in records:
        for link in _links(rec, blocked):
            labels[link].add(previous.get(rec.natural_key))
    bridges = [link for link, held in labels.items() if retired in held and len(held) > 1]
    bridges.sort(key=lambda link: (REASONS.index(link[0]), link[1]))
    return bridges[0] if bridges else ("email", "")


def _claim_previous(
    holders: Counter[tuple[str, int]], smallest: Mapping[int, str]
) -> dict[int, str]:
    """Previous ids kept, by cluster root: strongest claim first, each id kept once."""
    clusters_per_id = Counter(pid for pid, _ in holders)
    ids_per_cluster = Counter(root for _, root in holders)
    kept: dict[int, str] = {}
    contested = []
    for (pid, root), count in holders.items():
        if clusters_per_id[pid] == 1 and ids_per_cluster[root] == 1:
            kept[root] = pid
        else:
            contested.append((-count, pid, smallest[root], root))
    taken = set(kept.values())
    for _, pid, _, root in sorted(contested):
        if root not in kept and pid not in taken:
            kept[root] = pid
            taken.add(pid)
    return kept


def _person_ids(
    smallest: Mapping[int, str], kept: Mapping[int, str], reserved: Iterable[str]
) -> dict[int, str]:
    """Every cluster's id: the kept one, else a hash of its smallest key never used before."""
    ids = dict(kept)
    fresh = {root: person_id_for(text) for root, text in smallest.items() if root not in kept}
    taken = set(reserved) | set(kept.values())
    clashes = len(set(fresh.values())) < len(fresh) or not taken.isdisjoint(fresh.values())
    if not clashes:  # the usual case; otherwise salt in a deterministic order
        return ids | fresh
    for root in sorted(fresh, key=smallest.__getitem__):
        candidate, salt = fresh[root], 0
        while candidate in taken:
            salt += 1
            candidate = person_id_for(f"{smallest[root]}#{salt}")
        taken.add(candidate)
        ids[root] = candidate
    return ids


def _smallest_keys(keys: list[NaturalKey], roots: list[int], count: int) -> dict[int, str]:
    smallest: dict[int, str] = {}
    for node in range(count):
        text = "%s:%s" % keys[node]  # noqa: UP031 (a tuple is the argument)
        root = roots[node]
        if text < smallest.get(root, "\U0010ffff"):
            smallest[root] = text
    return smallest


def resolve(
    records: Iterable[LeadKeys],
    previous: Mapping[NaturalKey, str] | None = None,
    *,
    max_emails_per_phone: int = DEFAULT_MAX_EMAILS_PER_PHONE,
) -> Resolution:
    """Group leads into people; keep ``previous`` ids stable and record merges since."""
    previous = previous or {}
    graph = _Graph(records)
    blocked = graph.link(max_emails_per_phone)
    roots, keys, count = graph.roots(), graph.keys(), graph.record_count
    smallest = _smallest_keys(keys, roots, count)
    holders = Counter(
        (pid, roots[node]) for node in range(count) if (pid := previous.get(keys[node]))
    )
    ids = _person_ids(smallest, _claim_previous(holders, smallest), previous.values())
    result = Resolution(
        person_of={keys[node]: ids[roots[node]] for node in range(count)},
        aliases={keys[node]: ids[roots[node]] for node in range(count, len(keys))},
        notes=[
            f"phone {mask_phone(phone)} is shared by {blocked[phone]} different emails;"
            " not used for matching"
            for phone in sorted(blocked)
        ],
    )
    _record_changes(result, graph, ids, holders, previous, blocked)
    return result


def _record_changes(
    result: Resolution,
    graph: _Graph,
    ids: Mapping[int, str],
    holders: Counter[tuple[str, int]],
    previous: Mapping[NaturalKey, str],
    blocked: Mapping[str, int],
) -> None:
    """Merges for previous ids no cluster kept; notes for previous persons now split."""
    kept_ids = set(ids.values())
    spread: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    for (pid, root), count in holders.items():
        if ids[root] != pid:
            spread[pid].append((-count, ids[root], root))
    merged = {pid: min(spread[pid]) for pid in spread if pid not in kept_ids}
    records = _records_of(graph, {root for _, _, root in merged.values()})
    for pid in sorted(spread):
        if pid in merged:
            _, into, root = merged[pid]
            reason, key = _bridge(records[root], previous, pid, blocked)
            result.merges.append(Merge(pid, into, reason, key))
            spread[pid].remove(merged[pid])
        if spread[pid]:
            others = sorted(into for _, into, _ in spread[pid])
            result.notes.append(f"person {pid} split: some of its leads are now {others}")


def _records_of(graph: _Graph, roots: set[int]) -> dict[int, list[LeadKeys]]:
    found: dict[int, list[LeadKeys]] = defaultdict(list)
    if roots:
        for node, rec in zip(graph.nodes, graph.records, strict=True):
            if graph.parent[node] in roots:
                found[graph.parent[node]].append(rec)
    return found


def person_profile(leads: Sequence[Lead]) -> dict[str, Any]:
    """The person's best contact details: each group of fields from the most recently
    updated lead that has any of them (a first and last name come from the same lead)."""
    if not leads:
        raise ValueError("a person has at least one lead")
    newest_first = sorted(leads, key=lambda lead: (lead.updated_at, lead.natural_key))[::-1]
    profile: dict[str, Any] = {}
    for group in PROFILE_GROUPS:
        best = next((lead for lead in newest_first if any(getattr(lead, f) for f in group)), None)
        profile.update({f: getattr(best, f) if best else None for f in group})
    return profile
