"""A deterministic Salesforce org: roles, users, campaigns, leads and their converted contacts.

Built with ``random.Random(seed)`` only, anchored at ``leadflow.sandbox.data.DEFAULT_ANCHOR``.
About 60% of the leads are people of the shared pool (``leadflow.sandbox.people``, the first
1,500, as the Meta and LinkedIn sandboxes draw them), so the same humans also appear on the
other platforms; the rest are people of the pool no other sandbox uses. Lead ``Status`` uses the
default picklist ('Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed -
Not Converted'); converted leads have ``IsConverted``, ``ConvertedDate`` and a Contact
(``ConvertedContactId``). ``LeadSource`` uses the default picklist values
(https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm).
Messy on purpose: a few missing or upper-cased emails. Ties: a mass update gives 25 leads the
very same ``SystemModstamp`` and ~3% copy another lead's. ~2% of leads are deleted (only a
queryAll sees them). Lead ids increase with ``CreatedDate``. Activities and history:
``leadflow.sandbox.salesforce.activity``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadflow.sandbox.people import Person, person
from leadflow.sandbox.salesforce.ids import make_id

POOL_SIZE = 1500  # the shared pool's people the other sandboxes draw from
OWN_PEOPLE = 1_000_000  # people of the pool from here on are this org's alone
SHARED_RATE = 0.6
WINDOW = timedelta(days=90)
OPEN, WORKING, CONVERTED, NOT_CONVERTED = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
STATUS_WEIGHTS = ((OPEN, 35), (WORKING, 30), (CONVERTED, 15), (NOT_CONVERTED, 20))
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", None)
ROLES = (("CEO", None), ("VP Sales", 0), ("SDR Team Lead", 1), ("SDR", 2), ("Account Executive", 1))
# first, last, role index, active
REPS = (
    ("Dana", "Whitfield", 1, True),
    ("Marco", "Ishikawa", 2, True),
    ("Lena", "Brandt", 3, True),
    ("Tom", "Achebe", 3, True),
    ("Sara", "Lindqvist", 3, True),
    ("Ravi", "Menon", 4, True),
    ("Chloe", "Martin", 4, True),
    ("Piet", "de Vries", 3, False),
)
INTEGRATION_USER = ("Integration", "User", 0, True)
CAMPAIGNS = (
    ("Q4 Webinar Series", "Webinar"),
    ("Spring Trade Show", "Trade Show"),
    ("Ebook: Lead Routing", "Content"),
    ("Partner Referrals", "Partners"),
    ("Nurture Email #3", "Email"),
    ("Paid Social Q4", "Advertisement"),
)
TIE_BATCH = 25


@dataclass
class Org:
    """The seeded rows of each object (plain dicts, Python values), by object name."""

    anchor: datetime
    rows: dict[str, list[dict[str, Any]]]
    serials: dict[str, int]  # the next id serial of each object

    def next_id(self, object_name: str) -> str:
        serial = self.serials.get(object_name, 1)
        self.serials[object_name] = serial + 1
        return make_id(object_name, serial)


def audit(created: datetime, modified: datetime, by: str) -> dict[str, Any]:
    return {
        "CreatedDate": created,
        "CreatedById": by,
        "LastModifiedDate": modified,
        "LastModifiedById": by,
        "SystemModstamp": modified,
        "IsDeleted": False,
    }


def roles(org: Org, created: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, parent in ROLES:
        rows.append(
            {
                "Id": org.next_id("UserRole"),
                "Name": name,
                "DeveloperName": name.replace(" ", "_").replace(":", ""),
                "ParentRoleId": rows[parent]["Id"] if parent is not None else None,
                "SystemModstamp": created,
            }
        )
    return rows


def users(org: Org, roles: list[dict[str, Any]], created: datetime) -> list[dict[str, Any]]:
    rows = []
    for first, last, role, active in (INTEGRATION_USER, *REPS):
        handle = f"{first}.{last}".lower().replace(" ", "")
        rows.append(
            {
                "Id": org.next_id("User"),
                "Username": f"{handle}@northwind.example.com",
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Email": f"{handle}@northwind.example.com",
                "IsActive": active,
                "UserRoleId": roles[role]["Id"],
                "TimeZoneSidKey": "America/New_York",
                "CreatedDate": created,
                "SystemModstamp": created,
            }
        )
    return rows


def campaigns(org: Org, owner: str, anchor: datetime) -> list[dict[str, Any]]:
    rows = []
    for index, (name, kind) in enumerate(CAMPAIGNS):
        created = anchor - WINDOW - timedelta(days=30 - index)
        rows.append(
            {
                "Id": org.next_id("Campaign"),
                "Name": name,
                "Type": kind,
                "Status": "In Progress" if index < 4 else "Completed",
                "IsActive": index < 4,
                "StartDate": created.date(),
                "OwnerId": owner,
                **audit(created, created, owner),
            }
        )
    return rows


def _who(rng: random.Random, serial: int) -> Person:
    if rng.random() < SHARED_RATE:
        return person(rng.randrange(POOL_SIZE))
    return person(OWN_PEOPLE + serial)


def _email(rng: random.Random, who: Person) -> str | None:
    roll = rng.random()
    if roll < 0.03:
        return None
    return who.email.upper() if roll < 0.06 else who.email


def new_lead(org: Org, who: Person, created: datetime, owner: str, **fields: Any) -> dict[str, Any]:
    """A lead for ``who`` created at ``created`` ('Open - Not Contacted', unconverted)."""
    lead = {
        "Id": org.next_id("Lead"),
        "FirstName": who.first_name,
        "LastName": who.last_name,
        "Name": who.full_name,
        "Email": who.email,
        "Phone": who.phone,
        "Title": who.job_title,
        "Company": who.company,
        "Country": who.country,
        "City": who.city,
        "Status": OPEN,
        "IsConverted": False,
        "ConvertedDate": None,
        "ConvertedContactId": None,
        "OwnerId": owner,
        "LeadSource": "Web",
        **audit(created, created, owner),
    }
    lead.update(fields)
    return lead


def contact_from(org: Org, lead: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The Contact a lead converts into at ``at``."""
    keep = ("FirstName", "LastName", "Name", "Email", "Phone", "Title", "OwnerId", "LeadSource")
    return {
        "Id": org.next_id("Contact"),
        **{k: lead[k] for k in keep},
        "MailingCountry": lead["Country"],
        "MailingCity": lead["City"],
        **audit(at, at, lead["OwnerId"]),
    }


def leads(org: Org, rng: random.Random, count: int, owners: list[str]) -> list[dict[str, Any]]:
    window_s = int(WINDOW.total_seconds())
    created = sorted(
        org.anchor - timedelta(seconds=rng.randrange(3600, window_s)) for _ in range(count)
    )
    leads = []
    for serial, moment in enumerate(created):
        who = _who(rng, serial)
        status = rng.choices([s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS])[0]
        lead = new_lead(
            org,
            who,
            moment,
            rng.choice(owners),
            Email=_email(rng, who),
            LeadSource=rng.choice(LEAD_SOURCES),
            Status=status,
        )
        leads.append(lead)
    return leads


def add_ties(rng: random.Random, leads: list[dict[str, Any]]) -> None:
    """A mass update (25 leads, one SystemModstamp) and ~3% copying a later lead's; a stamp
    only ever moves forward, so it stays at or after the lead's last status change."""
    live = [lead for lead in leads if not lead["IsDeleted"]]
    if len(live) < 4:
        return
    batch_at = max(lead["SystemModstamp"] for lead in live) - timedelta(days=3)
    earlier = [lead for lead in live if lead["SystemModstamp"] <= batch_at]
    for lead in rng.sample(earlier, min(TIE_BATCH, len(earlier))):
        lead["SystemModstamp"] = lead["LastModifiedDate"] = batch_at
    for _ in range(max(2, len(live) * 3 // 100)):
        donor, target = rng.sample(live, 2)
        if target["SystemModstamp"] <= donor["SystemModstamp"]:
            target["SystemModstamp"] = target["LastModifiedDate"] = donor["SystemModstamp"]
