"""Filters and sorting of the Mailchimp sandbox's collection endpoints.

* List members (https://mailchimp.com/developer/marketing/api/list-members/): ``status``,
  ``email_type``, ``since_/before_timestamp_opt``, ``since_/before_last_changed``, ``vip_only``,
  ``unique_email_id``. The docs say "after"/"before the set timeframe": bounds are exclusive.
  Archived members are left out unless asked for with ``status=archived`` (not documented;
  ``archived_by_default`` keeps them).
* Campaigns (https://mailchimp.com/developer/marketing/api/campaigns/): ``type``, ``status``,
  ``list_id``, ``since_/before_send_time``, ``since_/before_create_time``.
* ``sort_field``/``sort_dir`` (ASC|DESC, default ASC); equal keys keep stored order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadflow.sandbox.mailchimp import http as mc
from leadflow.sandbox.mailchimp.members import STATUSES
from leadflow.sandbox.server import Request

CAMPAIGN_TYPES = ("regular", "plaintext", "absplit", "rss", "variate")
CAMPAIGN_STATUSES = ("save", "paused", "schedule", "sending", "sent")
Row = dict[str, Any]


def _bounds(request: Request, fields: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
    names = {field: (f"since_{field}", f"before_{field}") for field in fields}
    return {field: (mc.timestamp(request, since), mc.timestamp(request, before))
            for field, (since, before) in names.items()}  # fmt: skip


def _within(row: Row, bounds: dict[str, tuple[Any, Any]]) -> bool:
    return all(mc.in_window(row[field], *bound) for field, bound in bounds.items())


def member_filter(request: Request, archived_by_default: bool) -> Callable[[Row], bool]:
    """The member query of ``request`` as a predicate (parameters validated up front)."""
    status = mc.choice(request, "status", STATUSES)
    email_type = mc.choice(request, "email_type", ("html", "text"))
    bounds = _bounds(request, ("timestamp_opt", "last_changed"))
    vip_only = (request.param("vip_only") or "").lower() == "true"
    unique_id = request.param("unique_email_id")

    def keep(member: Row) -> bool:
        if status:
            wanted = member["status"] == status
        else:
            wanted = archived_by_default or member["status"] != "archived"
        return (wanted and (not email_type or member["email_type"] == email_type)
                and (not vip_only or member["vip"])
                and (not unique_id or member["unique_email_id"] == unique_id)
                and _within(member, bounds))  # fmt: skip

    return keep


def campaign_filter(request: Request) -> Callable[[Row], bool]:
    kind = mc.choice(request, "type", CAMPAIGN_TYPES)
    status = mc.choice(request, "status", CAMPAIGN_STATUSES)
    list_id = request.param("list_id")
    bounds = _bounds(request, ("send_time", "create_time"))

    def keep(campaign: Row) -> bool:
        return ((not kind or campaign["type"] == kind)
                and (not status or campaign["status"] == status)
                and (not list_id or campaign["recipients"]["list_id"] == list_id)
                and _within(campaign, bounds))  # fmt: skip

    return keep


def sort_rows(
    request: Request, rows: list[Row], fields: tuple[str, ...], default: str = ""
) -> list[Row]:
    """Rows ordered by ``sort_field`` (else ``default``, else as given). Timestamps share one
    format, so string order is time order; unset ("") sorts first."""
    field = mc.choice(request, "sort_field", fields) or default
    descending = mc.choice(request, "sort_dir", ("ASC", "DESC"), upper=True) == "DESC"
    return sorted(rows, key=lambda row: row[field], reverse=descending) if field else rows
