"""A deterministic Mailchimp Marketing dataset: audiences, members, campaigns, email activity.

Built with ``random.Random(seed)`` only, anchored at ``leadflow.sandbox.data.DEFAULT_ANCHOR``. Three
audiences ("lists") share people from ``leadflow.sandbox.people`` (the same humans as on the other
platforms); ~18% of people are in two lists, with the same member ``id`` in both (MD5 of the
lower-cased address). Statuses in realistic proportions (subscribed ~70%, unsubscribed,
cleaned, pending, transactional, archived). ``last_changed`` spreads over the 90 days before
the anchor, with ties: a bulk edit gives 25 members the very same second, and ~3% copy another
member's value. Ten sent campaigns (plus a draft and one scheduled after the anchor) with
per-recipient activity (opens, clicks with URLs, hard/soft bounces); unsubscribed members
unsubscribed from a campaign they opened (``/reports/{id}/unsubscribed``), cleaned members
hard-bounced. Activity is never later than the anchor.

Shapes: https://mailchimp.com/developer/marketing/api/lists/ , /list-members/ , /campaigns/ ,
/email-activity-reports/ , /unsub-reports/ (see ``leadflow.sandbox.mailchimp.app``).
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.mailchimp.activity import make_campaigns, report_summary, send_all
from leadflow.sandbox.mailchimp.members import (
    add_ties,
    build_member,
    mc_time,
    new_member,
    subscriber_hash,
    unique_email_id,
)
from leadflow.sandbox.people import draw

POOL_SIZE = 1500
WINDOW = timedelta(days=90)
# name, share of people, company, tags
LISTS = (
    ("Northwind Newsletter", 55, ("Customer", "Lead", "Trade show 2026", "Partner", "Weekly")),
    ("Webinar Attendees", 30, ("Attended", "No-show", "Webinar 1", "Webinar 2")),
    ("Product Updates", 15, ("Beta tester", "Admin user", "Churn risk")),
)
SECOND_LIST_RATE = 0.18
ACTIONS = ("open", "click", "bounce")


@dataclass
class MailchimpDataset:
    """Everything the sandbox serves, plus ground-truth helpers (copies unless noted)."""

    anchor: datetime
    lists: list[dict[str, Any]]  # list objects without stats (see ``list_info``)
    campaigns: list[dict[str, Any]]  # campaign objects without report_summary
    store: dict[str, dict[str, dict[str, Any]]]  # list id -> member id -> member (live)
    events: dict[str, dict[str, list[dict[str, Any]]]]  # campaign id -> member id -> activity
    unsubscribed: dict[str, list[dict[str, Any]]]  # campaign id -> {email_id, timestamp, reason}
    next_web_id: int

    # -- lists and members -------------------------------------------------------------------
    def list_info(self, list_id: str) -> dict[str, Any] | None:
        """The list object with live ``stats``."""
        found = next((item for item in self.lists if item["id"] == list_id), None)
        return None if found is None else {**copy.deepcopy(found), "stats": self._stats(list_id)}

    def iter_members(self, list_id: str) -> list[dict[str, Any]]:
        """The stored member dicts of a list, in insertion (web_id) order; live, not copies."""
        return list(self.store.get(list_id, {}).values())

    def members(self, list_id: str, status: str | None = None) -> list[dict[str, Any]]:
        rows = self.iter_members(list_id)
        return [copy.deepcopy(m) for m in rows if status is None or m["status"] == status]

    def member(self, list_id: str, key: str) -> dict[str, Any] | None:
        """A live member by subscriber hash, email address (any case) or contact_id."""
        rows = self.store.get(list_id, {})
        found = rows.get(subscriber_hash(key) if "@" in key else key)
        return found or next((m for m in rows.values() if m["contact_id"] == key), None)

    def status_counts(self, list_id: str) -> Counter[str]:
        return Counter(m["status"] for m in self.iter_members(list_id))

    def lists_with(self, email: str) -> list[str]:
        """Ids of the lists holding that address."""
        return [lid for lid, rows in self.store.items() if subscriber_hash(email) in rows]

    # -- campaigns and activity ----------------------------------------------------------------
    def campaign(self, campaign_id: str) -> dict[str, Any] | None:
        """The campaign object with a live ``report_summary`` (sent campaigns only)."""
        found = next((c for c in self.campaigns if c["id"] == campaign_id), None)
        if found is None:
            return None
        shaped = copy.deepcopy(found)
        if shaped["status"] == "sent":
            shaped["report_summary"] = report_summary(self.events[campaign_id])
        return shaped

    def activity(self, campaign_id: str, since: datetime | None = None) -> list[dict[str, Any]]:
        """Email-activity records, recipients in send order. With ``since`` only events strictly
        after it, and only recipients left with at least one."""
        campaign = self.campaign(campaign_id)
        if campaign is None or campaign["status"] != "sent":
            return []
        list_id, cutoff = campaign["recipients"]["list_id"], since and mc_time(since)
        records = []
        for member_id, events in self.events[campaign_id].items():
            kept = [dict(e) for e in events if cutoff is None or e["timestamp"] > cutoff]
            if cutoff is not None and not kept:
                continue
            member = self.store[list_id][member_id]
            records.append({"campaign_id": campaign_id, "list_id": list_id, "list_is_active": True,
                            "email_id": member_id, "email_address": member["email_address"],
                            "activity": kept})  # fmt: skip
        return records

    def activity_counts(self, campaign_id: str, since: datetime | None = None) -> Counter[str]:
        """Events by action (``open``/``click``/``bounce``)."""
        return Counter(
            e["action"] for r in self.activity(campaign_id, since) for e in r["activity"]
        )

    def unsubscribes(self, campaign_id: str) -> list[dict[str, Any]]:
        """Unsubscribe-report records, oldest first."""
        campaign = self.campaign(campaign_id)
        if campaign is None or campaign["status"] != "sent":
            return []
        list_id = campaign["recipients"]["list_id"]
        rows = []
        for unsub in self.unsubscribed.get(campaign_id, []):
            member = self.store[list_id][unsub["email_id"]]
            rows.append({**unsub, "email_address": member["email_address"],
                         "merge_fields": copy.deepcopy(member["merge_fields"]),
                         "vip": member["vip"], "campaign_id": campaign_id, "list_id": list_id,
                         "list_is_active": True})  # fmt: skip
        return rows

    # -- mutations (tests) ---------------------------------------------------------------------
    def upsert_member(
        self,
        list_id: str,
        email: str,
        *,
        last_changed: datetime | None = None,
        merge_fields: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Add or update a member (top-level ``fields`` such as ``status``, ``vip``);
        ``last_changed`` becomes the given moment, default now."""
        rows = self.store[list_id]
        moment = last_changed or datetime.now(UTC)
        member = rows.get(subscriber_hash(email))
        if member is None:
            member = rows[subscriber_hash(email)] = new_member(
                list_id, email, self.next_web_id, moment
            )
            self.next_web_id += 1
        unknown = set(fields) - set(member) - {"unsubscribe_reason"}
        if unknown:
            raise KeyError(f"unknown member fields: {sorted(unknown)}")
        member.update(copy.deepcopy(fields))
        if merge_fields:
            member["merge_fields"].update(merge_fields)
            names = (member["merge_fields"]["FNAME"], member["merge_fields"]["LNAME"])
            member["full_name"] = " ".join(filter(None, names))
        member["last_changed"] = mc_time(moment)
        return copy.deepcopy(member)

    def change_email(
        self, list_id: str, email: str, new_email: str, *, last_changed: datetime | None = None
    ) -> dict[str, Any]:
        """Change a member's address, as ``PATCH /lists/{list_id}/members/{subscriber_hash}``
        with ``email_address`` does: the member ``id`` is the MD5 of the address, so it
        changes (and ``unique_email_id``, per address), while ``contact_id`` ("agnostic of
        contact's inclusion of an email address") stays. Its activity moves with it."""
        old, new = subscriber_hash(email), subscriber_hash(new_email)
        rows = self.store[list_id]
        if old not in rows or new in rows:
            raise KeyError("no such member, or the new address is already a member")
        member = rows[old]
        member.update(id=new, email_address=new_email, unique_email_id=unique_email_id(new_email))
        member["last_changed"] = mc_time(last_changed or datetime.now(UTC))
        self.store[list_id] = {(new if k == old else k): m for k, m in rows.items()}
        for by_member in self.events.values():
            if old in by_member:
                by_member[new] = by_member.pop(old)
        for unsubs in self.unsubscribed.values():
            for unsub in unsubs:
                if unsub["email_id"] == old:
                    unsub["email_id"] = new
        return copy.deepcopy(member)

    def add_activity(
        self,
        campaign_id: str,
        email: str,
        action: str,
        *,
        timestamp: datetime | None = None,
        url: str | None = None,
        bounce_type: str = "hard",
        ip: str = "192.0.2.10",
    ) -> dict[str, Any]:
        """Record an ``open``/``click``/``bounce`` of a list member (default: now)."""
        campaign = self.campaign(campaign_id)
        if campaign is None or action not in ACTIONS:
            raise KeyError(f"unknown campaign {campaign_id} or action {action}")
        member = self.member(campaign["recipients"]["list_id"], email)
        if member is None:
            raise KeyError(f"{email} is not in the campaign's list")
        event = {"action": action, "timestamp": mc_time(timestamp or datetime.now(UTC))}
        event.update({"type": bounce_type} if action == "bounce" else {"ip": ip})
        if action == "click":
            event["url"] = url or "https://example.com/"
        events = self.events[campaign_id].setdefault(member["id"], [])
        events.append(event)
        events.sort(key=lambda e: e["timestamp"])
        return dict(event)

    def _stats(self, list_id: str) -> dict[str, Any]:
        rows, counts = self.iter_members(list_id), self.status_counts(list_id)
        sent = [c for c in self.campaigns if c["recipients"]["list_id"] == list_id
                and c["status"] == "sent"]  # fmt: skip
        summaries = [report_summary(self.events[c["id"]]) for c in sent]
        subs = [m["timestamp_opt"] for m in rows if m["status"] == "subscribed"]
        unsubs = [m["last_changed"] for m in rows if m["status"] == "unsubscribed"]
        return {
            "member_count": counts["subscribed"], "unsubscribe_count": counts["unsubscribed"],
            "cleaned_count": counts["cleaned"], "member_count_since_send": 0,
            "unsubscribe_count_since_send": 0, "cleaned_count_since_send": 0,
            "campaign_count": len(sent),
            "campaign_last_sent": max((c["send_time"] for c in sent), default=""),
            "merge_field_count": 6, "avg_sub_rate": 0, "avg_unsub_rate": 0, "target_sub_rate": 0,
            "open_rate": _mean([s["open_rate"] for s in summaries]),
            "click_rate": _mean([s["click_rate"] for s in summaries]),
            "last_sub_date": max(subs, default=""), "last_unsub_date": max(unsubs, default=""),
        }  # fmt: skip


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0


def _hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(40):010x}"


def _make_lists(rng: random.Random, anchor: datetime) -> list[dict[str, Any]]:
    lists = []
    for index, (name, _share, _tags) in enumerate(LISTS):
        list_id, created = _hex_id(rng), anchor - timedelta(days=900 - 200 * index)
        lists.append({
            "id": list_id, "web_id": 380000 + index * 1111, "name": name,
            "contact": {"company": "Northwind Analytics", "address1": "1 Market St",
                        "address2": "", "city": "San Francisco", "state": "CA", "zip": "94105",
                        "country": "US", "phone": ""},
            "permission_reminder": "You signed up on northwind.example.com.",
            "use_archive_bar": True,
            "campaign_defaults": {"from_name": "Northwind Analytics",
                                  "from_email": "news@northwind.example.com", "subject": "",
                                  "language": "en"},
            "notify_on_subscribe": "", "notify_on_unsubscribe": "",
            "date_created": mc_time(created), "list_rating": 3, "email_type_option": False,
            "subscribe_url_short": f"http://eepurl.com/{list_id[:6]}",
            "subscribe_url_long": f"https://northwind.us21.list-manage.com/subscribe?id={list_id}",
            "beamer_address": f"us21-{list_id}@inbound.mailchimp.com", "visibility": "prv",
            "double_optin": index == 0, "has_welcome": False, "marketing_permissions": False,
            "modules": [],
        })  # fmt: skip
    return lists


def _place_people(
    rng: random.Random, count: int, lists: list[dict[str, Any]], anchor: datetime
) -> tuple[dict[str, dict[str, dict[str, Any]]], int]:
    """Members of each list (one person at most once per list) and the next web_id."""
    store: dict[str, dict[str, dict[str, Any]]] = {item["id"]: {} for item in lists}
    tag_pools = [[{"id": 9000 + 100 * i + j, "name": name} for j, name in enumerate(spec[2])]
                 for i, spec in enumerate(LISTS)]  # fmt: skip
    interests = [[_hex_id(rng) for _ in range(3)] for _ in LISTS]
    web_id = 100001
    for who in draw(rng, count, POOL_SIZE):
        first = rng.choices(range(len(LISTS)), weights=[spec[1] for spec in LISTS])[0]
        targets = [first]
        if rng.random() < SECOND_LIST_RATE:
            targets.append(rng.choice([i for i in range(len(LISTS)) if i != first]))
        for index in targets:
            list_id = lists[index]["id"]
            created = anchor - timedelta(seconds=rng.randrange(3600, 400 * 86400))
            member = build_member(rng, who, list_id, web_id, created, tag_pools[index],
                                  interests[index])  # fmt: skip
            if member["id"] in store[list_id]:
                continue
            start = max(created, anchor - WINDOW)
            changed = start + timedelta(
                seconds=rng.randrange(int((anchor - start).total_seconds()))
            )
            member["last_changed"] = mc_time(changed)
            store[list_id][member["id"]] = member
            web_id += 1
    return store, web_id


def mailchimp_dataset(
    members: int = 800, *, seed: int = 19, anchor: datetime = DEFAULT_ANCHOR
) -> MailchimpDataset:
    """About ``members`` list memberships (plus ~18% second-list ones); identical for identical
    arguments."""
    rng = random.Random(seed)
    lists = _make_lists(rng, anchor)
    store, next_web_id = _place_people(rng, members, lists, anchor)
    campaigns = make_campaigns(rng, lists, anchor)
    events, unsubscribed = send_all(rng, campaigns, store, anchor)
    dataset = MailchimpDataset(anchor, lists, campaigns, store, events, unsubscribed, next_web_id)
    rows = [m for list_id in store for m in dataset.iter_members(list_id)]
    add_ties(rng, rows, anchor)
    return dataset
