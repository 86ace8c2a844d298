"""Deterministic HubSpot sales data: owners, and calls/emails/meetings on contacts.

Owners follow https://developers.hubspot.com/docs/api-reference/crm-crm-owners-v3/guide:
``{id, email, type: PERSON, firstName, lastName, userId, userIdIncludingInactive, createdAt,
updatedAt, archived, teams: [{id, name, primary}]}``. Six owners in two teams; one of them
(``FORMER_OWNER_ID``) is archived (a deactivated user: no ``userId``, no teams) and only
appears as the earlier owner of re-assigned contacts.

Touches per contact (``random.Random`` seeded by ``(seed, contact id)``), all between the
contact's ``createdate`` and ``anchor`` (only a booked meeting may start later):
* ~25% of owned and ~60% of unowned contacts are never touched;
* some get an inbound touch first (an INBOUND call, a FORWARDED_EMAIL by the owner);
* a re-assigned contact (``hubspot_owner_assigneddate`` more than ``REASSIGN_GAP`` after
  creation) gets outbound calls/emails from an earlier owner before that date, and from its
  current owner after it; others get them from their owner after assignment;
* replies (INCOMING_EMAIL) follow outbound emails; ~35% end with a meeting (any outcome;
  a future one stays SCHEDULED), a few of which include a colleague at the same company.

Engagement ids increase with ``hs_createdate``; ``createdAt``/``updatedAt`` mirror
``hs_createdate``/``hs_lastmodifieddate``, ~3% of which are copied from another
engagement (ties). Ground truth: ``SalesData.touches_for`` / ``first_outbound_touch``.
"""

from __future__ import annotations

import bisect
import functools
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadflow.sandbox.data import ACTIVE_OWNER_IDS, DEFAULT_ANCHOR, FORMER_OWNER_ID, REASSIGN_GAP
from leadflow.sandbox.hubspot.sales_touches import Draft, contact_touches

FIRST_ENGAGEMENT_ID = 47_000_000_001
TEAMS = {"inbound": ("4501101", "Inbound SDR"), "outbound": ("4501102", "Outbound AE")}
_OWNERS = (  # id, first, last, userId, created, teams (primary first)
    ("41629779", "Maya", "Lindqvist", 9586504, "2024-01-15T09:12:44.102Z", ("inbound",)),
    ("52087114", "Tomás", "Herrera", 9586611, "2024-02-03T14:40:09.871Z", ("inbound",)),
    ("60330412", "Aisha", "Bello", 9586702, "2024-03-21T08:05:31.440Z", ("outbound", "inbound")),
    ("71155908", "Ken", "Watanabe", 9586890, "2024-05-09T16:27:55.013Z", ("outbound",)),
    ("83412277", "Lucia", "Romano", 9601333, "2025-09-01T07:58:12.600Z", ("outbound",)),
    ("90217645", "Owen", "Fitzgerald", 9571209, "2023-11-02T10:00:00.000Z", ()),
)
ALL_OWNER_IDS = (*ACTIVE_OWNER_IDS, FORMER_OWNER_ID)


def _owner(row: tuple[Any, ...]) -> dict[str, Any]:
    oid, first, last, user_id, created, teams = row
    archived = oid == FORMER_OWNER_ID
    owner: dict[str, Any] = {
        "id": oid,
        "email": f"{first.lower().replace('á', 'a')}.{last.lower()}@sandbox-sales.example.com",
        "type": "PERSON",
        "firstName": first,
        "lastName": last,
        "userId": user_id,
        "userIdIncludingInactive": user_id,
        "createdAt": created,
        "updatedAt": "2026-06-30T12:00:00.000Z" if archived else created,
        "archived": archived,
        "teams": [
            {"id": TEAMS[t][0], "name": TEAMS[t][1], "primary": i == 0} for i, t in enumerate(teams)
        ],
    }
    if archived:
        del owner["userId"]
    return owner


def hubspot_owners() -> list[dict[str, Any]]:
    """The sandbox portal's owners (copies), ordered by id."""
    return [_owner(row) for row in sorted(_OWNERS)]


@dataclass(frozen=True)
class Touch:
    """One engagement on a contact, as ground truth for tests."""

    object_type: str  # "calls" | "emails" | "meetings"
    id: str
    timestamp: datetime
    owner_id: str | None
    outbound: bool
    properties: dict[str, Any] = field(compare=False, hash=False, repr=False)


def is_outbound(object_type: str, properties: dict[str, Any]) -> bool:
    """An outbound call, a sent (``EMAIL``) email, or any meeting, by an owner (a rep)."""
    if not properties.get("hubspot_owner_id"):
        return False
    if object_type == "calls":
        return properties.get("hs_call_direction") == "OUTBOUND"
    if object_type == "emails":
        return properties.get("hs_email_direction") == "EMAIL"
    return object_type == "meetings"


@dataclass
class SalesData:
    """Owners, engagements by type and (engagement type, engagement id, contact id) links."""

    owners: list[dict[str, Any]]
    engagements: dict[str, Sequence[dict[str, Any]]]
    associations: list[tuple[str, str, str]]

    @functools.cached_property
    def _by_contact(self) -> dict[str, list[Touch]]:
        objects = {(t, e["id"]): e for t, items in self.engagements.items() for e in items}
        touches: dict[str, list[Touch]] = defaultdict(list)
        for object_type, engagement_id, contact_id in self.associations:
            props = objects[(object_type, engagement_id)]["properties"]
            stamp = datetime.fromisoformat(props["hs_timestamp"].replace("Z", "+00:00"))
            outbound = is_outbound(object_type, props)
            owner = props.get("hubspot_owner_id")
            touch = Touch(object_type, engagement_id, stamp, owner, outbound, props)
            touches[contact_id].append(touch)
        for items in touches.values():
            items.sort(key=lambda t: (t.timestamp, int(t.id)))
        return dict(touches)

    def touches_for(self, contact_id: str) -> list[Touch]:
        """Every call, email and meeting associated with the contact, oldest first."""
        return list(self._by_contact.get(str(contact_id), []))

    def first_outbound_touch(self, contact_id: str) -> Touch | None:
        """The earliest outbound call/email or meeting by a rep (see ``is_outbound``)."""
        return next((t for t in self.touches_for(contact_id) if t.outbound), None)


@dataclass
class _Company:
    """A company's contacts as ``(createdate, contact id)``, sorted, and each id's place."""

    members: list[tuple[str, str]]
    position: dict[str, int]


def _colleagues(contacts: Sequence[dict[str, Any]]) -> dict[str, _Company]:
    """Company -> its members sorted by (createdate, contact id), for multi-contact meetings."""
    by_company: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for contact in contacts:
        props = contact["properties"]
        if props.get("company"):
            by_company[props["company"]].append((props["createdate"], contact["id"]))
    index = {}
    for company, members in by_company.items():
        members.sort()
        index[company] = _Company(members, {cid: i for i, (_, cid) in enumerate(members)})
    return index


class _Others(Sequence[str]):
    """``[cid for _, cid in members[:stop] if cid not in excluded]`` without building it:
    ``random.choice`` only takes its length and one item (at 1M contacts a company has
    ~50,000 members, and building the list for every shared meeting was quadratic)."""

    def __init__(self, company: _Company, stop: int, excluded: list[str]) -> None:
        self.members, self.stop = company.members, stop
        places = {company.position.get(cid, stop) for cid in excluded}
        self.skipped = sorted(p for p in places if p < stop)  # places of excluded members

    def __len__(self) -> int:
        return self.stop - len(self.skipped)

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, int) or not 0 <= index < len(self):
            return [*self][index]  # anything unusual: the plain list's answer
        place = index
        for skipped in self.skipped:
            if skipped <= place:
                place += 1
        return self.members[place][1]

    def __iter__(self) -> Iterator[str]:
        skipped = set(self.skipped)
        return (cid for i, (_, cid) in enumerate(self.members[: self.stop]) if i not in skipped)


def _colleague(
    rng: random.Random, draft: Draft, company: str | None, index: dict[str, _Company]
) -> str | None:
    found = index.get(company or "")
    if found is None:
        return None
    stamp = draft.properties["hs_timestamp"]
    others = _Others(found, bisect.bisect_left(found.members, (stamp, "")), draft.contact_ids)
    return rng.choice(others) if len(others) else None


def _add_ties(rng: random.Random, drafts: list[Draft]) -> None:
    for _ in range(len(drafts) * 3 // 100 if len(drafts) > 3 else 0):
        donor, target = rng.sample(range(len(drafts)), 2)
        stamp = drafts[donor].properties["hs_lastmodifieddate"]
        if drafts[target].properties["hs_createdate"] <= stamp:
            drafts[target].properties["hs_lastmodifieddate"] = stamp


def _objects(drafts: list[Draft]) -> tuple[dict[str, list[dict[str, Any]]], list[Any]]:
    """The engagements of ``drafts`` (ids in their order) and their contact links; empties
    ``drafts``."""
    engagements: dict[str, list[dict[str, Any]]] = {"calls": [], "emails": [], "meetings": []}
    links = []
    drafts.reverse()  # taken from the end: each draft is freed once its object is made
    for offset in range(len(drafts)):
        draft = drafts.pop()
        oid = str(FIRST_ENGAGEMENT_ID + offset)
        props = {"hs_object_id": oid, **draft.properties}
        engagements[draft.object_type].append(
            {
                "id": oid,
                "properties": props,
                "createdAt": props["hs_createdate"],
                "updatedAt": props["hs_lastmodifieddate"],
                "archived": False,
            }
        )
        links += [(draft.object_type, oid, cid) for cid in draft.contact_ids]
    return engagements, links


def hubspot_sales_data(
    contacts: Sequence[dict[str, Any]], *, seed: int = 7, anchor: datetime = DEFAULT_ANCHOR
) -> SalesData:
    """Owners plus engagements and their contact associations for ``contacts``."""
    index = _colleagues(contacts)
    drafts: list[Draft] = []
    for contact in contacts:
        rng = random.Random(f"hubspot-sales:{seed}:{contact['id']}")
        current = contact["properties"].get("hubspot_owner_id")
        previous = rng.choice([o for o in ALL_OWNER_IDS if o != current])
        own = contact_touches(rng, contact, previous, anchor, REASSIGN_GAP)
        for draft in own:
            if draft.object_type == "meetings" and rng.random() < 0.1:
                other = _colleague(rng, draft, contact["properties"].get("company"), index)
                draft.contact_ids += [other] if other else []
        drafts += own
    drafts.sort(key=lambda d: (d.properties["hs_createdate"], d.contact_ids[0], d.order))
    _add_ties(random.Random(f"hubspot-sales-ties:{seed}"), drafts)
    engagements, links = _objects(drafts)
    return SalesData(hubspot_owners(), engagements, links)
