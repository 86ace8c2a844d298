"""Synthetic Mailchimp campaigns and their per-recipient email activity.

Campaign objects follow https://mailchimp.com/developer/marketing/api/campaigns/ ; activity
items follow the Email Activity schema of
https://mailchimp.com/developer/marketing/api/email-activity-reports/ : ``action`` is one of
``open``, ``click``, ``bounce``; ``type`` (``hard``/``soft``) only on bounces, ``url`` only on
clicks, ``ip`` on opens and clicks. Unsubscribes are not email activity: they are listed by
``/reports/{campaign_id}/unsubscribed``.

Recipients of a campaign are the list's members who had opted in before the send, except
pending and transactional contacts; archived members got the campaigns sent before they were
archived, unsubscribed and cleaned members those up to the one they left through.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from leadflow.sandbox.mailchimp.members import ip_address, mc_time, rate, rating

SITE = "https://northwind.example.com"
# list index, subject line, title, sent N days before the anchor (None: not sent), status
CAMPAIGNS = (
    (1, "Webinar: lead routing that scales", "Webinar invite #1", 80, "sent"),
    (1, "Reminder: the webinar is tomorrow", "Webinar reminder #1", 78, "sent"),
    (0, "September digest", "Newsletter - Sep", 66, "sent"),
    (2, "Release notes 4.2", "Product update 4.2", 45, "sent"),
    (0, "October highlights from Northwind", "Newsletter - Oct", 36, "sent"),
    (1, "Webinar: data quality for marketers", "Webinar invite #2", 20, "sent"),
    (2, "Release notes 4.3", "Product update 4.3", 10, "sent"),
    (0, "Your November product roundup", "Newsletter - Nov", 6, "sent"),
    (1, "Recording and slides inside", "Webinar follow-up #2", 5, "sent"),
    (0, "Black Friday early access", "Promo - Black Friday early", 3, "sent"),
    (0, "Holiday opening hours", "Newsletter - Dec (draft)", None, "save"),
    (2, "Release notes 4.4", "Product update 4.4", -2, "schedule"),
)


def _slug(title: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")


def campaign_urls(campaign: dict[str, Any]) -> list[str]:
    slug = _slug(campaign["settings"]["title"])
    return [f"{SITE}/{slug}", f"{SITE}/pricing?utm_source=mailchimp&utm_campaign={slug}",
            f"{SITE}/blog/lead-routing", f"{SITE}/demo?utm_campaign={slug}"]  # fmt: skip


def make_campaigns(
    rng: random.Random, lists: list[dict[str, Any]], anchor: datetime
) -> list[dict[str, Any]]:
    """Campaign objects (no ``report_summary``; counts filled in by ``send_all``)."""
    campaigns = []
    for index, (list_index, subject, title, days, status) in enumerate(CAMPAIGNS):
        audience, campaign_id = lists[list_index], f"{rng.getrandbits(40):010x}"
        hour = timedelta(hours=rng.choice((9, 10, 14, 16)), minutes=rng.choice((0, 30)))
        day = anchor.replace(hour=0, minute=0, second=0) - timedelta(days=days or 0)
        send = day + hour if days is not None else None
        created = (send or anchor) - timedelta(days=rng.randrange(1, 6), hours=rng.randrange(9))
        campaigns.append({
            "id": campaign_id, "web_id": 2200000 + index * 17, "type": "regular",
            "create_time": mc_time(created),
            "archive_url": f"http://eepurl.com/{campaign_id[:6]}",
            "long_archive_url": f"https://us21.campaign-archive.com/?u=8f1c2d3e4a&id={campaign_id}",
            "status": status, "emails_sent": 0, "send_time": mc_time(send) if send else "",
            "content_type": "template", "needs_block_refresh": False, "resendable": False,
            "recipients": {"list_id": audience["id"], "list_is_active": True,
                           "list_name": audience["name"], "segment_text": "",
                           "recipient_count": 0},
            "settings": {"subject_line": subject, "preview_text": "", "title": title,
                         "from_name": "Northwind Analytics",
                         "reply_to": "news@northwind.example.com", "use_conversation": False,
                         "to_name": "*|FNAME|*", "folder_id": "", "authenticate": True,
                         "auto_footer": False, "inline_css": False, "auto_tweet": False,
                         "fb_comments": True, "timewarp": False, "template_id": 10001 + index,
                         "drag_and_drop": True},
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False,
                         "goal_tracking": False, "ecomm360": False, "google_analytics": "",
                         "clicktale": ""},
            "delivery_status": {"enabled": False},
        })  # fmt: skip
    return campaigns


def report_summary(events: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Live totals of one campaign's activity (``{member id: events}``)."""
    actions = [{e["action"] for e in member_events} for member_events in events.values()]
    every = [e["action"] for member_events in events.values() for e in member_events]
    delivered = len(events) - sum("bounce" in seen for seen in actions)
    unique_opens = sum("open" in seen for seen in actions)
    clickers = sum("click" in seen for seen in actions)
    return {"opens": every.count("open"), "unique_opens": unique_opens,
            "open_rate": round(unique_opens / delivered, 4) if delivered else 0,
            "clicks": every.count("click"), "subscriber_clicks": clickers,
            "click_rate": round(clickers / delivered, 4) if delivered else 0,
            "ecommerce": {"total_orders": 0, "total_spent": 0, "total_revenue": 0}}  # fmt: skip


def _opens_and_clicks(
    rng: random.Random, send: datetime, urls: list[str], ip: str
) -> list[tuple[datetime, dict[str, Any]]]:
    first = send + timedelta(minutes=rng.expovariate(1 / 240))
    found, at = [], first
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        found.append((at, {"action": "open", "ip": ip}))
        at += timedelta(minutes=rng.expovariate(1 / 600))
    if rng.random() < 0.35:
        at = first + timedelta(seconds=rng.randrange(5, 300))
        for url in rng.sample(urls, rng.choice((1, 1, 2))):
            found.append((at, {"action": "click", "ip": ip, "url": url}))
            at += timedelta(seconds=rng.randrange(5, 900))
    return found


def _events(
    rng: random.Random,
    member: dict[str, Any],
    campaign: dict[str, Any],
    engagement: float,
    leaving: str | None,
    anchor: datetime,
) -> tuple[list[dict[str, Any]], datetime | None]:
    """One recipient's activity (oldest first, before the anchor) and, for the campaign a
    member left through, when they unsubscribed or hard-bounced."""
    send = datetime.fromisoformat(campaign["send_time"])
    bounce_at = send + timedelta(seconds=rng.randrange(5, 600))
    if leaving == "cleaned" or (leaving is None and rng.random() < 0.015):
        kind = "hard" if leaving else "soft"
        event = {"action": "bounce", "type": kind, "timestamp": mc_time(bounce_at)}
        return [event], bounce_at if leaving else None
    if leaving is None and rng.random() >= engagement:
        return [], None
    ip = member["ip_opt"] or member["ip_signup"] or ip_address(rng)
    found = sorted(_opens_and_clicks(rng, send, campaign_urls(campaign), ip), key=lambda f: f[0])
    events = [{**event, "timestamp": mc_time(at)} for at, event in found if at < anchor]
    if leaving != "unsubscribed":
        return events, None
    left = found[0][0] + timedelta(minutes=rng.randrange(1, 30))
    return events, min(left, anchor - timedelta(minutes=1))


def _deliver(
    rng: random.Random,
    member: dict[str, Any],
    campaigns: list[dict[str, Any]],
    events: dict[str, dict[str, list[dict[str, Any]]]],
    unsubscribed: dict[str, list[dict[str, Any]]],
    anchor: datetime,
) -> None:
    status = member["status"]
    if status in ("pending", "transactional"):
        return
    joined = member["timestamp_opt"] or member["timestamp_signup"]
    got = [c for c in campaigns if c["send_time"] > joined]
    if status == "archived":
        got = [c for c in got if c["send_time"] < member["last_changed"]]
    if status in ("unsubscribed", "cleaned") and got:
        got = got[: rng.randrange(len(got)) + 1]
    engagement, opened, clicked = rng.choice((0.05, 0.2, 0.4, 0.7)), 0, 0
    exits = status in ("unsubscribed", "cleaned")
    for position, campaign in enumerate(got):
        leaving = status if exits and position == len(got) - 1 else None
        found, left = _events(rng, member, campaign, engagement, leaving, anchor)
        events[campaign["id"]][member["id"]] = found
        opened += any(e["action"] == "open" for e in found)
        clicked += any(e["action"] == "click" for e in found)
        if left is not None:
            member["last_changed"] = max(member["last_changed"], mc_time(left))
        if left is not None and leaving == "unsubscribed":
            reason = member.get("unsubscribe_reason", "")
            unsubscribed.setdefault(campaign["id"], []).append(
                {"email_id": member["id"], "timestamp": mc_time(left), "reason": reason}
            )
    member["stats"] = {"avg_open_rate": rate(opened, len(got)),
                       "avg_click_rate": rate(clicked, len(got))}  # fmt: skip
    member["member_rating"] = rating(member)


def send_all(
    rng: random.Random,
    campaigns: list[dict[str, Any]],
    store: dict[str, dict[str, dict[str, Any]]],
    anchor: datetime,
) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], dict[str, list[dict[str, Any]]]]:
    """Deliver every sent campaign: ``(events, unsubscribed)`` keyed by campaign id."""
    sent = sorted((c for c in campaigns if c["status"] == "sent"), key=lambda c: c["send_time"])
    events: dict[str, dict[str, list[dict[str, Any]]]] = {c["id"]: {} for c in sent}
    unsubscribed: dict[str, list[dict[str, Any]]] = {}
    for list_id, rows in store.items():
        mine = [c for c in sent if c["recipients"]["list_id"] == list_id]
        for member in rows.values():
            _deliver(rng, member, mine, events, unsubscribed, anchor)
    for campaign in sent:
        campaign["emails_sent"] = len(events[campaign["id"]])
        campaign["recipients"]["recipient_count"] = len(events[campaign["id"]])
    for rows in unsubscribed.values():
        rows.sort(key=lambda row: row["timestamp"])
    return events, unsubscribed
