"""A deterministic synthetic lead dataset of any size, fast enough for a million leads.

The sandbox's own generators draw every value from ``random.Random`` and build full
platform payloads (about 40 µs a contact, plus 65 µs to map one to a Lead): fine for the
demo, too slow to build a million leads for every benchmark run. This one derives every
value from the lead's index with integer arithmetic, so the same ``n`` always gives the
same leads, and builds ``Lead`` objects directly, with a platform-shaped ``raw`` payload of
about the size the connectors keep (700-900 bytes of JSON).

Mix: five platforms (HubSpot 40%, Meta 20%, Google Ads 15%, Mailchimp 15%, LinkedIn 10%);
about 20% of leads belong to a person already seen on another lead (another platform,
mostly), sharing their email and phone; ad-platform leads name one of 60 campaigns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice

from leadflow.models.records.leads import Lead

ANCHOR = datetime(2026, 11, 27, tzinfo=UTC)
# 20 slots: 8 HubSpot, 4 Meta, 3 Google Ads, 3 Mailchimp, 2 LinkedIn.
SLOTS = (
    ("hubspot",) * 8 + ("meta",) * 4 + ("google_ads",) * 3 + ("mailchimp",) * 3 + ("linkedin",) * 2
)
ACCOUNTS = {
    "hubspot": "sandbox-portal",
    "meta": "166956443808194",
    "google_ads": "1234567890",
    "mailchimp": "sandbox-list",
    "linkedin": "sponsoredAccount:510000101",
}
FIRST = ("Ava", "Liam", "Noah", "Emma", "Olivia", "Mateo", "Sofia", "Lucas", "Mia", "Amara",
         "Chen", "Priya", "Kwame", "Ines", "Hugo", "Freya", "Yuki", "Omar", "Zara",
         "Elif")  # fmt: skip
LAST = ("Smith", "Garcia", "Okafor", "Nguyen", "Müller", "Rossi", "Dubois", "Kowalski",
        "Patel", "O'Brien", "Johansson", "Tanaka", "Silva", "Haddad", "Novak",
        "Fischer")  # fmt: skip
COMPANIES = ("Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Globex Corporation",
             "Initech", "Umbrella Analytics", "Acme Logistics", "Tailspin Toys")  # fmt: skip
TITLES = ("Marketing Manager", "Head of Growth", "VP Sales", "CTO", "Operations Lead",
          "Founder", "Account Executive", "Data Analyst", "IT Director", "CFO")  # fmt: skip
PLACES = (("United States", "Austin"), ("United Kingdom", "Leeds"), ("Germany", "Berlin"),
          ("France", "Lyon"), ("Canada", "Toronto"), ("Australia", "Sydney"))  # fmt: skip
DOMAINS = ("gmail.com", "outlook.com", "contoso.com", "fabrikam.io", "initech.net")
STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "customer")
UTM = (("facebook", "paid_social"), ("google", "cpc"), ("newsletter", "email"), (None, None))
CAMPAIGNS = 60


def person_of(index: int) -> int:
    """The person lead ``index`` belongs to: itself, or (one lead in five) an earlier one."""
    if index % 5 == 3 and index > 20:
        return (index * 2654435761) % (index - 1)
    return index


def make_lead(index: int, *, revision: int = 0) -> Lead:
    """Lead number ``index``; a higher ``revision`` is the same lead changed on its platform."""
    source = SLOTS[index % len(SLOTS)]
    p = person_of(index)
    first, last = FIRST[p % 20], LAST[(p // 20) % 16]
    company, title = COMPANIES[(p // 7) % 8], TITLES[(p // 3) % 10]
    country, city = PLACES[(p // 11) % 6]
    email = f"{first}.{last}{p}@{DOMAINS[p % 5]}".lower().replace("'", "")
    phone = f"+1415{p % 10_000_000:07d}" if p % 10 < 7 else None
    created = ANCHOR - timedelta(seconds=(index * 7919) % 7_776_000)
    updated = created + timedelta(seconds=index % 86_400 + revision * 3600)
    utm_source, utm_medium = UTM[index % 4]
    ad = source in ("meta", "google_ads", "linkedin")
    campaign = f"{source[:2]}-cmp-{index % CAMPAIGNS}" if ad else None
    lead_id = f"{source[:2]}{index}"
    props = {
        "email": email,
        "firstname": first,
        "lastname": last,
        "phone": phone,
        "company": company,
        "jobtitle": title,
        "country": country,
        "city": city,
        "lifecyclestage": STAGES[index % 5],
        "hs_analytics_source": "PAID_SOCIAL" if ad else "EMAIL_MARKETING",
        "hs_analytics_source_data_1": utm_source,
        "company_size": ("1-10", "11-50", "51-200", "201-1000", "1000+")[p % 5],
        "createdate": created.isoformat(),
        "lastmodifieddate": updated.isoformat(),
        "notes": f"revision {revision}",
    }
    raw = {
        "id": lead_id,
        "properties": props,
        "campaign": {"id": campaign, "name": campaign and f"Campaign {campaign}"},
        "createdAt": created.isoformat(),
        "updatedAt": updated.isoformat(),
        "archived": False,
    }
    return Lead(
        source=source,
        source_lead_id=lead_id,
        account_id=ACCOUNTS[source],
        created_at=created,
        updated_at=updated,
        email=email,
        email_match_key=email,
        phone=phone,
        first_name=first,
        last_name=last,
        company=company,
        job_title=title,
        country=country,
        city=city,
        campaign_id=campaign,
        campaign_name=campaign and f"Campaign {campaign}",
        form_id=f"form-{index % 12}" if ad else None,
        utm_source=utm_source,
        utm_medium=utm_medium,
        source_stage=STAGES[index % 5],
        is_test=index % 997 == 0,
        is_organic=not ad,
        consent={"marketing": True} if index % 3 else None,
        custom_fields={"company_size": props["company_size"], "score": str(index % 100)},
        raw=raw,
    )


def make_leads(n: int) -> list[Lead]:
    """Leads ``0 .. n-1``."""
    return [make_lead(index) for index in range(n)]


def changed(leads: Sequence[Lead], every: int = 100) -> list[Lead]:
    """``leads`` with every ``every``-th one changed on its platform (a new city, later update)."""
    return [
        replace(lead, city="Lisbon", updated_at=lead.updated_at + timedelta(hours=1))
        if number % every == 0
        else lead
        for number, lead in enumerate(leads)
    ]


def batches(leads: Sequence[Lead], size: int) -> Iterator[tuple[str, list[Lead]]]:
    """``(source, batch)`` pages of at most ``size`` leads, one source per page."""
    by_source: dict[str, list[Lead]] = {}
    for lead in leads:
        by_source.setdefault(lead.source, []).append(lead)
    for source, group in by_source.items():
        items = iter(group)
        while batch := list(islice(items, size)):
            yield source, batch
