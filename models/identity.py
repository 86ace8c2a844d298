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
- Pure and linear-ish: integer nodes, an iterative union-find with path halving.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.contact import mask_phone
from models.leads import Lead

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
    clusters: dict[str, list[NaturalKey]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    aliases: dict[NaturalKey, str] = field(default_factory=dict)


def person_id_for(natural_key_text: str) -> str:
    """The deterministic id of a new person whose smallest lead key is ``natural_key_text``."""
    return "p_" + hashlib.sha256(natural_key_text.encode()).hexdigest()[:16]


class _Graph:
    """Nodes by natural key over an iterative union-find (path halving, smaller root wins)."""

    def __init__(self, records: Iterable[LeadKeys]) -> None:
        self.index: dict[NaturalKey, int] = {}
        self.keys: list[NaturalKey] = []
        self.parent: list[int] = []
        self.entries = [(self.node(rec.natural_key), rec) for rec in records]
        self.record_count = len(self.keys)

    def node(self, key: NaturalKey) -> int:
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.keys)
            self.keys.append(key)
            self.parent.append(found)
        return found

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
        by_email: dict[str, int] = {}
        by_phone: dict[str, int] = {}
        shared: dict[str, list[int]] = {}
        for position, (node, rec) in enumerate(self.entries):
            if rec.email_match_key:
                self.union(node, by_email.setdefault(rec.email_match_key, node))
            for merged_id in rec.merged_ids:
                self.union(node, self.node((HUBSPOT, merged_id)))
            if rec.phone:
                first = by_phone.setdefault(rec.phone, position)
                if first != position:
                    shared.setdefault(rec.phone, [first]).append(position)
        blocked: dict[str, int] = {}
        for phone, positions in shared.items():
            emails = {self.entries[p][1].email_match_key for p in positions} - {None}
            if len(emails) > max_emails_per_phone:
                blocked[phone] = len(emails)
                continue
            for p in positions[1:]:
                self.union(self.entries[p][0], self.entries[positions[0]][0])
        return blocked

    def clusters(self) -> dict[int, list[int]]:
        members: dict[int, list[int]] = defaultdict(list)
        for node in range(len(self.keys)):
            members[self.find(node)].append(node)
        return members


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
    clusters: list[list[NaturalKey]], smallest: list[str], previous: Mapping[NaturalKey, str]
) -> tuple[dict[int, str], dict[str, dict[int, int]]]:
    """Previous ids kept by clusters, strongest claim first; and who holds each id."""
    holders: dict[str, dict[int, int]] = defaultdict(dict)
    for c, members in enumerate(clusters):
        for key in members:
            pid = previous.get(key)
            if pid is not None:
                held = holders[pid]
                held[c] = held.get(c, 0) + 1
    claims = sorted(
        (-count, pid, smallest[c], c) for pid, held in holders.items() for c, count in held.items()
    )
    kept: dict[int, str] = {}
    taken: set[str] = set()
    for _, pid, _, c in claims:
        if c not in kept and pid not in taken:
            kept[c] = pid
            taken.add(pid)
    return kept, holders


def _fresh_ids(
    count: int, smallest: list[str], kept: dict[int, str], reserved: Iterable[str]
) -> list[str]:
    """Every cluster's id: the kept one, else a hash of its smallest key never used before."""
    taken = set(reserved) | set(kept.values())
    ids = [""] * count
    for c in sorted(range(count), key=smallest.__getitem__):
        if c in kept:
            ids[c] = kept[c]
            continue
        candidate, salt = person_id_for(smallest[c]), 0
        while candidate in taken:
            salt += 1
            candidate = person_id_for(f"{smallest[c]}#{salt}")
        taken.add(candidate)
        ids[c] = candidate
    return ids


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
    roots, clusters, alias_nodes = [], [], []
    for root, nodes in graph.clusters().items():
        roots.append(root)
        clusters.append(sorted(graph.keys[n] for n in nodes if n < graph.record_count))
        alias_nodes.append([n for n in nodes if n >= graph.record_count])
    smallest = [min(f"{s}:{i}" for s, i in members) for members in clusters]
    kept, holders = _claim_previous(clusters, smallest, previous)
    ids = _fresh_ids(len(clusters), smallest, kept, previous.values())
    result = Resolution(
        notes=[
            f"phone {mask_phone(phone)} is shared by {blocked[phone]} different emails;"
            " not used for matching"
            for phone in sorted(blocked)
        ]
    )
    for c, members in enumerate(clusters):
        result.clusters[ids[c]] = members
        result.person_of.update(dict.fromkeys(members, ids[c]))
        result.aliases.update(dict.fromkeys((graph.keys[n] for n in alias_nodes[c]), ids[c]))
    _record_changes(result, graph, roots, ids, holders, kept, previous, blocked)
    return result


def _record_changes(
    result: Resolution,
    graph: _Graph,
    roots: list[int],
    ids: list[str],
    holders: dict[str, dict[int, int]],
    kept: dict[int, str],
    previous: Mapping[NaturalKey, str],
    blocked: Mapping[str, int],
) -> None:
    """Merges for previous ids no cluster kept; notes for previous persons now split."""
    kept_ids = set(kept.values())
    merging = {
        pid: min(held, key=lambda c: (-held[c], ids[c]))
        for pid, held in holders.items()
        if pid not in kept_ids
    }
    wanted = {roots[c] for c in merging.values()}
    records: dict[int, list[LeadKeys]] = defaultdict(list)
    for node, rec in graph.entries:
        root = graph.find(node)
        if root in wanted:
            records[root].append(rec)
    for pid in sorted(merging):
        c = merging[pid]
        reason, key = _bridge(records[roots[c]], previous, pid, blocked)
        result.merges.append(Merge(pid, ids[c], reason, key))
    for pid in sorted(holders):
        others = sorted(ids[c] for c in holders[pid] if ids[c] != pid and c != merging.get(pid))
        if others:
            result.notes.append(f"person {pid} split: some of its leads are now {others}")


_PROFILE_GROUPS = (
    ("email", "email_match_key"),
    ("phone",),
    ("first_name", "last_name"),
    ("company",),
    ("job_title",),
    ("country", "city"),
)


def person_profile(leads: Sequence[Lead]) -> dict[str, Any]:
    """The person's best contact details: each group of fields from the most recently
    updated lead that has any of them (a first and last name come from the same lead)."""
    if not leads:
        raise ValueError("a person has at least one lead")
    newest_first = sorted(leads, key=lambda lead: (lead.updated_at, lead.natural_key))[::-1]
    profile: dict[str, Any] = {}
    for group in _PROFILE_GROUPS:
        best = next((lead for lead in newest_first if any(getattr(lead, f) for f in group)), None)
        profile.update({f: getattr(best, f) if best else None for f in group})
    return profile
