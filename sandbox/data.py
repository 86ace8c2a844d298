"""Deterministic synthetic HubSpot contacts (stdlib ``random.Random(seed)`` only).

Contacts are shaped like HubSpot CRM v3 objects: ``{"id", "properties", "createdAt",
"updatedAt", "archived"}``. Property values are strings (HubSpot returns every property
as a string) or ``None`` when unset. Datetimes use HubSpot's format, ISO-8601 in UTC with
milliseconds: ``"2026-11-20T14:50:56.123Z"``. IDs increase with ``createdate``.

The data is deliberately a little messy: upper-case or padded emails, a few missing and
~1.5% invalid emails, phone numbers in several national formats (all from ranges reserved
for fiction: NANP 555-01xx, Ofcom 020 7946 0xxx / 07700 900xxx, ACMA 02 5550 xxxx /
0491 570 xxx, ARCEP 01 99 00 xx xx), free-text country variants and contacts sharing an
identical ``lastmodifieddate`` (ties).

Sales fields come from a second generator seeded by ``(seed, id)``, so adding them left
every other value unchanged: ``hubspot_owner_id`` points at the owners of
``leadflow.sandbox.hubspot.sales_data`` (~20% unowned), ``hubspot_owner_assigneddate`` is a few
minutes after creation, or (re-assigned contacts) at least ``REASSIGN_GAP`` later with a
possibly new owner; the custom ``company_size``/``preferred_demo_date`` (a HubSpot date,
``YYYY-MM-DD``) and, on ~2.5%, ``hs_merged_object_ids`` ("123;456", the ids of records
merged into this one; none of them is a live contact id).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_ANCHOR = datetime(2026, 11, 27, tzinfo=UTC)
FIRST_ID = 101
WINDOW = timedelta(days=90)

FIRST_NAMES = (
    "Ava", "Liam", "Noah", "Emma", "Olivia", "Mateo", "Sofia", "Lucas", "Mia", "Amara",
    "Chen", "Priya", "Kwame", "Ines", "Hugo", "Freya", "Yuki", "Omar", "Zara", "Elif",
    "Jonas", "Leila", "Diego", "Hannah", "Rafael", "Nora", "Tariq", "Grace", "Felix", "Anaya",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Okafor", "Nguyen", "Müller", "Rossi", "Dubois", "Kowalski", "Patel",
    "O'Brien", "Johansson", "Tanaka", "Silva", "Haddad", "Novak", "Fischer", "Moreau",
    "Kim", "Lopez", "Walsh", "Ivanova", "Mensah", "Schmidt", "Costa", "Byrne", "Khan",
)  # fmt: skip
COMPANIES = (
    "Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Globex Corporation",
    "Initech", "Umbrella Analytics", "Acme Logistics", "Tailspin Toys", "Wide World Importers",
    "Blue Yonder Airlines", "Litware Inc", "Adventure Works", "Proseware", "Coho Winery",
    "Margie's Travel", "Lucerne Publishing", "Woodgrove Bank", "Alpine Ski House",
)  # fmt: skip
JOB_TITLES = (
    "Marketing Manager", "Head of Growth", "VP Sales", "CTO", "Operations Lead",
    "Demand Generation Specialist", "Founder", "Account Executive", "Data Analyst",
    "Procurement Officer", "IT Director", "Office Manager", "Product Manager", "CFO",
)  # fmt: skip
LIFECYCLE = (
    ("subscriber", 18), ("lead", 34), ("marketingqualifiedlead", 20),
    ("salesqualifiedlead", 12), ("opportunity", 9), ("customer", 7),
)  # fmt: skip
LEAD_STATUS = (
    "NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
    "CONNECTED", "BAD_TIMING", None, None,
)  # fmt: skip
ACTIVE_OWNER_IDS = ("41629779", "52087114", "60330412", "71155908", "83412277")
FORMER_OWNER_ID = "90217645"  # an archived owner (deactivated user)
OWNERS = (*ACTIVE_OWNER_IDS[:4], None)  # first assignment; the 5th owner only gets re-assigned
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1001+")
REASSIGN_GAP = timedelta(days=1)
MERGED_ID_BASE = 90_000_000
SOURCES = (
    ("ORGANIC_SEARCH", 24), ("PAID_SEARCH", 12), ("PAID_SOCIAL", 14), ("EMAIL_MARKETING", 12),
    ("SOCIAL_MEDIA", 8), ("REFERRALS", 8), ("DIRECT_TRAFFIC", 12), ("OTHER_CAMPAIGNS", 4),
    ("OFFLINE", 6),
)  # fmt: skip
SOURCE_DRILLDOWN: dict[str, tuple[tuple[str, ...], tuple[str | None, ...]]] = {
    "ORGANIC_SEARCH": (("google", "bing", "duckduckgo"), ("unknown keywords (ssl)", None)),
    "PAID_SEARCH": (("google", "bing"), ("brand-exact", "crm-sync-tools", "lead-routing")),
    "PAID_SOCIAL": (("Facebook", "LinkedIn", "Instagram"), ("q4-webinar", "ebook-2026")),
    "EMAIL_MARKETING": (("Nurture #3", "Product update Nov"), ("98234511", "98234602")),
    "SOCIAL_MEDIA": (("LinkedIn", "Twitter", "YouTube"), (None,)),
    "REFERRALS": (("partner.example.net", "news.example.org"), ("/blog/lead-sync", None)),
    "DIRECT_TRAFFIC": ((None,), (None,)),
    "OTHER_CAMPAIGNS": (("spring-fair", "podcast"), (None,)),
    "OFFLINE": (("IMPORT", "CRM_UI", "INTEGRATION", "API"), ("13256565", "sample-contact")),
}
# country label (as typed), cities, phone formatter
COUNTRIES = (
    ("United States", ("San Francisco", "Austin", "New York", "Chicago"), "us", 34),
    ("USA", ("Boston", "Denver"), "us", 3),
    ("United Kingdom", ("London", "Manchester", "Leeds"), "uk", 16),
    ("UK", ("Bristol",), "uk", 2),
    ("Canada", ("Toronto", "Vancouver"), "us", 8),
    ("Australia", ("Sydney", "Melbourne"), "au", 8),
    ("France", ("Paris", "Lyon"), "fr", 7),
    ("Germany", ("Berlin", "Munich"), "none", 6),
    (None, (None,), "none", 4),
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "gmail.com")
INVALID_EMAILS = ("not-an-email", "{first}.{last}@", "{first}@@example.com", "{first} {last}")


def _weighted(rng: random.Random, options: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(options, weights=[option[-1] for option in options])[0]


def _phone(rng: random.Random, style: str) -> str | None:
    if style == "none" or rng.random() < 0.08:
        return None
    n, m = rng.randrange(100), rng.randrange(1000)
    formats = {
        "us": (
            f"+1 (415) 555-01{n:02d}", f"212-555-01{n:02d}", f"(646) 555 01{n:02d}",
            f"+1 312 555 01{n:02d} x{m}", f"604.555.01{n:02d}",
        ),
        "uk": (f"020 7946 0{m:03d}", f"+44 20 7946 0{m:03d}", f"07700 900{m:03d}"),
        "au": (f"02 5550 {m:04d}", f"+61 491 570 {m:03d}", f"(03) 7010 {m:04d}"),
        "fr": (f"01 99 00 {n:02d} {m % 100:02d}", f"+33 1 99 00 {n:02d} {m % 100:02d}"),
    }  # fmt: skip
    return rng.choice(formats[style])


def _ascii(name: str) -> str:
    return name.lower().replace("ü", "u").replace("'", "")


def _email(rng: random.Random, first: str, last: str, serial: int) -> str | None:
    roll = rng.random()
    if roll < 0.03:
        return None
    first_l, last_l = _ascii(first), _ascii(last)
    if roll < 0.045:
        return rng.choice(INVALID_EMAILS).format(first=first_l, last=last_l)
    email = f"{first_l}.{last_l}{serial}@{rng.choice(EMAIL_DOMAINS)}"
    if roll < 0.07:
        return f"{first}.{last}{serial}@{rng.choice(EMAIL_DOMAINS)}".replace("'", "").upper()
    if roll < 0.09:
        return f"  {email} " if rng.random() < 0.5 else f"{email}\t"
    return email


def format_hubspot_datetime(moment: datetime) -> str:
    """HubSpot's datetime format: UTC, millisecond precision, ``Z`` suffix."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _source(rng: random.Random) -> dict[str, str | None]:
    source = _weighted(rng, SOURCES)[0]
    first_level, second_level = SOURCE_DRILLDOWN[source]
    return {
        "hs_analytics_source": source,
        "hs_analytics_source_data_1": rng.choice(first_level),
        "hs_analytics_source_data_2": rng.choice(second_level),
    }


def _properties(rng: random.Random, serial: int) -> dict[str, str | None]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country, cities, phone_style, _ = _weighted(rng, COUNTRIES)
    return {
        "email": _email(rng, first, last, serial),
        "firstname": first if rng.random() > 0.02 else None,
        "lastname": last if rng.random() > 0.03 else None,
        "phone": _phone(rng, phone_style),
        "company": rng.choice(COMPANIES) if rng.random() > 0.1 else None,
        "jobtitle": rng.choice(JOB_TITLES) if rng.random() > 0.15 else None,
        "country": country,
        "city": rng.choice(cities),
        "lifecyclestage": _weighted(rng, LIFECYCLE)[0],
        "hs_lead_status": rng.choice(LEAD_STATUS),
        "hubspot_owner_id": rng.choice(OWNERS),
        **_source(rng),
    }


def _assignment(
    rng: random.Random, owner: str | None, created: datetime, modified: datetime
) -> tuple[str | None, str | None]:
    """(owner, hubspot_owner_assigneddate): soon after creation, or a later re-assignment."""
    span = modified - created
    roll, moment = rng.random(), rng.random()
    if owner is None:
        return None, None
    if roll < 0.2 and span > 2 * REASSIGN_GAP:
        assigned = created + REASSIGN_GAP + (span - REASSIGN_GAP) * moment
        return rng.choice(ACTIVE_OWNER_IDS), format_hubspot_datetime(assigned)
    return owner, format_hubspot_datetime(created + min(span, timedelta(minutes=5)) * moment)


def _sales_fields(
    seed: int, object_id: str, owner: str | None, created: datetime, modified: datetime
) -> dict[str, str | None]:
    rng = random.Random(f"hubspot-contact-sales:{seed}:{object_id}")
    size = rng.choice(COMPANY_SIZES) if rng.random() < 0.8 else None
    demo = created + timedelta(days=rng.randrange(1, 30)) if rng.random() < 0.25 else None
    merged = None
    if rng.random() < 0.025:
        base = MERGED_ID_BASE + int(object_id) * 4
        merged = ";".join(str(base + k) for k in range(1, rng.choice((1, 1, 1, 2, 3)) + 1))
    owner, assigned = _assignment(rng, owner, created, modified)
    return {
        "hubspot_owner_id": owner,
        "hubspot_owner_assigneddate": assigned,
        "company_size": size,
        "preferred_demo_date": demo.strftime("%Y-%m-%d") if demo else None,
        "hs_merged_object_ids": merged,
    }


def _timestamps(
    rng: random.Random, n: int, anchor: datetime, same_modified: datetime | None
) -> list[tuple[datetime, datetime]]:
    latest = same_modified or anchor
    window_ms = int(WINDOW.total_seconds() * 1000)
    created = sorted(
        latest - timedelta(milliseconds=rng.randrange(window_ms // 20, window_ms)) for _ in range(n)
    )
    if same_modified is not None:
        return [(c, same_modified) for c in created]
    pairs = []
    for c in created:
        span = int((anchor - c).total_seconds() * 1000)
        pairs.append((c, c + timedelta(milliseconds=rng.randrange(span))))
    return _add_ties(rng, pairs)


def _add_ties(
    rng: random.Random, pairs: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """Copy the lastmodifieddate of ~3% of contacts onto others (realistic batch updates)."""
    for _ in range(max(2, len(pairs) * 3 // 100) if len(pairs) > 3 else 0):
        donor, target = rng.sample(range(len(pairs)), 2)
        modified = pairs[donor][1]
        if pairs[target][0] <= modified:
            pairs[target] = (pairs[target][0], modified)
    return pairs


def hubspot_contacts(
    n: int,
    *,
    seed: int = 7,
    anchor: datetime = DEFAULT_ANCHOR,
    same_modified: datetime | None = None,
) -> list[dict[str, Any]]:
    """Return ``n`` HubSpot-shaped contacts; identical for identical arguments.

    Timestamps fall in the 90 days before ``anchor``. With ``same_modified`` every contact
    gets exactly that ``lastmodifieddate`` (for the search 10,000-result cap tests).
    """
    return list(iter_hubspot_contacts(n, seed=seed, anchor=anchor, same_modified=same_modified))


def iter_hubspot_contacts(
    n: int,
    *,
    seed: int = 7,
    anchor: datetime = DEFAULT_ANCHOR,
    same_modified: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """``hubspot_contacts`` one at a time (the same contacts, in the same order)."""
    rng = random.Random(seed)
    for index, (created, modified) in enumerate(_timestamps(rng, n, anchor, same_modified)):
        object_id = str(FIRST_ID + index)
        created_s, modified_s = format_hubspot_datetime(created), format_hubspot_datetime(modified)
        properties = {"hs_object_id": object_id, **_properties(rng, FIRST_ID + index)}
        properties.update(createdate=created_s, lastmodifieddate=modified_s)
        owner = properties["hubspot_owner_id"]
        properties.update(_sales_fields(seed, object_id, owner, created, modified))
        yield {
            "id": object_id,
            "properties": properties,
            "createdAt": created_s,
            "updatedAt": modified_s,
            "archived": False,
        }
