"""Synthetic Mailchimp list members built from the shared people pool (``leadflow.sandbox.people``).

Shape: the List Members schema of https://mailchimp.com/developer/marketing/api/list-members/
(field list as in Mailchimp's generated SDKs): ``id`` is the MD5 of the lower-cased email (so
the same address has the same id in every list), ``unique_email_id`` is per address across the
account, ``contact_id`` per audience contact. Unset strings and timestamps are ``""`` and unset
merge fields ``""`` (ADDRESS included), as Mailchimp returns them. Timestamps look like
``2026-11-20T14:50:56+00:00``.

Messy on purpose: mixed-case email addresses (the id still hashes the lower-cased form),
lower-cased first names, missing phones and companies, imports without signup timestamps or IPs.
IP addresses come from the documentation ranges (RFC 5737).
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from leadflow.sandbox.people import Person

STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
STATUS_WEIGHTS = (70, 11, 4, 5, 3, 7)
SOURCES = (("Hosted Signup Form", 35), ("Embedded Form", 12), ("Import", 25),
           ("API - Generic", 23), ("Admin Add", 5))  # fmt: skip
FORM_SOURCES = ("Hosted Signup Form", "Embedded Form")
EMAIL_CLIENTS = ("", "", "Gmail", "Apple Mail", "Outlook", "Yahoo! Mail")
LANGUAGES = {"US": "en", "CA": "en", "GB": "en", "AU": "en", "FR": "fr", "DE": "de"}
# country code -> latitude, longitude, gmtoff, dstoff, timezone, region
PLACES = {
    "US": (37.7749, -122.4194, -8, -7, "America/Los_Angeles", "CA"),
    "CA": (43.6532, -79.3832, -5, -4, "America/Toronto", "ON"),
    "GB": (51.5072, -0.1276, 0, 1, "Europe/London", "ENG"),
    "AU": (-33.8688, 151.2093, 10, 11, "Australia/Sydney", "NSW"),
    "FR": (48.8566, 2.3522, 1, 2, "Europe/Paris", "IDF"),
    "DE": (52.52, 13.405, 1, 2, "Europe/Berlin", "BE"),
}
NOWHERE = {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0, "country_code": "",
           "timezone": "", "region": ""}  # fmt: skip
UNSUBSCRIBE_REASONS = ("I no longer want to receive these emails", "The emails are spam",
                       "I never signed up for this mailing list",
                       "The emails are inappropriate", "Other")  # fmt: skip
IP_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")


def mc_time(moment: datetime) -> str:
    """Mailchimp's timestamp format: UTC, seconds, ``+00:00``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def subscriber_hash(email: str) -> str:
    """The member id: MD5 of the lower-cased address."""
    return hashlib.md5(email.lower().encode("utf-8")).hexdigest()


def unique_email_id(email: str) -> str:
    return hashlib.sha1(f"ueid:{email.lower()}".encode()).hexdigest()[:10]


def contact_id(list_id: str, email: str) -> str:
    return hashlib.md5(f"contact:{list_id}:{email.lower()}".encode()).hexdigest()


def ip_address(rng: random.Random) -> str:
    return rng.choice(IP_PREFIXES) + str(rng.randrange(1, 255))


def mixed_case(email: str) -> str:
    """``ava.smith12@example.com`` -> ``Ava.Smith12@Example.com``."""
    local, _, domain = email.partition("@")
    return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain.capitalize()


def _address(rng: random.Random, who: Person) -> dict[str, str] | str:
    if who.country_code is None or who.city is None or rng.random() < 0.55:
        return ""
    return {"addr1": f"{rng.randrange(1, 400)} {rng.choice(('Main', 'High', 'Market'))} St",
            "addr2": "", "city": who.city, "state": "",
            "zip": f"{rng.randrange(10000, 99999)}", "country": who.country_code}  # fmt: skip


def merge_fields(rng: random.Random, who: Person) -> dict[str, Any]:
    first = who.first_name.lower() if rng.random() < 0.05 else who.first_name
    return {
        "FNAME": first,
        "LNAME": who.last_name if rng.random() > 0.03 else "",
        "ADDRESS": _address(rng, who),
        "PHONE": who.phone if who.phone and rng.random() > 0.3 else "",
        "BIRTHDAY": f"{rng.randrange(1, 13):02d}/{rng.randrange(1, 29):02d}"
        if rng.random() < 0.1
        else "",
        "COMPANY": who.company if rng.random() > 0.2 else "",
    }


def location(who: Person) -> dict[str, Any]:
    if who.country_code not in PLACES:
        return dict(NOWHERE)
    lat, lon, gmtoff, dstoff, zone, region = PLACES[who.country_code]
    return {"latitude": lat, "longitude": lon, "gmtoff": gmtoff, "dstoff": dstoff,
            "country_code": who.country_code, "timezone": zone, "region": region}  # fmt: skip


def _signup(rng: random.Random, source: str, status: str, created: datetime) -> dict[str, str]:
    """Signup/opt-in IPs and times: forms have both, imports and API adds only an opt-in time,
    pending (unconfirmed) and transactional contacts no opt-in."""
    form = source in FORM_SOURCES
    opted = created + timedelta(minutes=rng.randrange(1, 90)) if form else created
    no_opt = status in ("pending", "transactional")
    return {
        "ip_signup": ip_address(rng) if form else "",
        "timestamp_signup": mc_time(created) if form or status == "pending" else "",
        "ip_opt": "" if no_opt or source == "Import" else ip_address(rng),
        "timestamp_opt": "" if no_opt else mc_time(opted),
    }


def build_member(
    rng: random.Random,
    who: Person,
    list_id: str,
    web_id: int,
    created: datetime,
    tag_pool: list[dict[str, Any]],
    interest_ids: list[str],
) -> dict[str, Any]:
    """One member; ``last_changed`` starts at ``created`` (the dataset moves it later)."""
    email = mixed_case(who.email) if rng.random() < 0.06 else who.email
    status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
    source = rng.choices([s[0] for s in SOURCES], weights=[s[1] for s in SOURCES])[0]
    fields = merge_fields(rng, who)
    tags = sorted(rng.sample(tag_pool, rng.choice((0, 0, 1, 1, 2, 3))), key=lambda t: t["id"])
    member: dict[str, Any] = {
        "id": subscriber_hash(email), "email_address": email,
        "unique_email_id": unique_email_id(email), "contact_id": contact_id(list_id, email),
        "full_name": f"{fields['FNAME']} {fields['LNAME']}".strip(), "web_id": web_id,
        "email_type": "text" if rng.random() < 0.04 else "html", "status": status,
        "consents_to_one_to_one_messaging": True, "merge_fields": fields,
        "interests": {iid: rng.random() < 0.4 for iid in interest_ids},
        "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
        **_signup(rng, source, status, created),
        "member_rating": 2, "last_changed": mc_time(created),
        "language": LANGUAGES.get(who.country_code or "", ""), "vip": rng.random() < 0.03,
        "email_client": rng.choice(EMAIL_CLIENTS), "location": location(who), "source": source,
        "tags_count": len(tags), "tags": tags, "list_id": list_id,
    }  # fmt: skip
    if status == "unsubscribed":
        member["unsubscribe_reason"] = rng.choice(UNSUBSCRIBE_REASONS)
    return member


def new_member(list_id: str, email: str, web_id: int, moment: datetime) -> dict[str, Any]:
    """A bare member added through the API (for ``upsert_member``)."""
    return {
        "id": subscriber_hash(email), "email_address": email,
        "unique_email_id": unique_email_id(email), "contact_id": contact_id(list_id, email),
        "full_name": "", "web_id": web_id, "email_type": "html", "status": "subscribed",
        "consents_to_one_to_one_messaging": True,
        "merge_fields": {"FNAME": "", "LNAME": "", "ADDRESS": "", "PHONE": "", "BIRTHDAY": "",
                         "COMPANY": ""},
        "interests": {}, "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
        "ip_signup": "", "timestamp_signup": "", "ip_opt": "", "timestamp_opt": mc_time(moment),
        "member_rating": 2, "last_changed": mc_time(moment), "language": "", "vip": False,
        "email_client": "", "location": dict(NOWHERE), "source": "API - Generic",
        "tags_count": 0, "tags": [], "list_id": list_id,
    }  # fmt: skip


def rate(engaged: int, received: int) -> float:
    return round(engaged / received, 2) if received else 0


def rating(member: dict[str, Any]) -> int:
    """1-5 stars: cleaned 1, otherwise 2 plus engagement."""
    if member["status"] == "cleaned":
        return 1
    stats = member["stats"]
    stars = 2 + (stats["avg_open_rate"] >= 0.3) + (stats["avg_click_rate"] >= 0.15)
    return min(5, stars + member["vip"])


def add_ties(rng: random.Random, members: list[dict[str, Any]], anchor: datetime) -> None:
    """Equal ``last_changed`` values: a bulk edit (25 members in one second, 12 days before the
    anchor) and ~3% copied from another member. Members who left through a campaign keep their
    exit time; nobody gets a value before their signup or opt-in."""
    rows = [m for m in members if m["status"] not in ("unsubscribed", "cleaned")]
    bulk = mc_time(anchor.replace(hour=9, minute=0, second=0) - timedelta(days=12))

    def settable(member: dict[str, Any], value: str) -> bool:
        return max(member["timestamp_signup"], member["timestamp_opt"]) <= value

    for member in rng.sample(rows, min(25, len(rows))):
        if settable(member, bulk):
            member["last_changed"] = bulk
    for _ in range(max(2, len(rows) * 3 // 100) if len(rows) > 3 else 0):
        donor, target = rng.sample(rows, 2)
        if settable(target, donor["last_changed"]):
            target["last_changed"] = donor["last_changed"]
