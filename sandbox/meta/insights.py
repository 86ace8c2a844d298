"""Ads Insights reports of the Meta sandbox: the period asked for, its time slices, the rows.

Docs used: https://developers.facebook.com/docs/marketing-api/insights and
https://developers.facebook.com/docs/marketing-api/reference/ad-account/insights : ``level``,
``fields`` (default impressions and spend), ``time_range``, ``time_increment`` (default
all_days), ``date_preset`` (default last_30d), metrics as strings. The HTTP side (routing,
field and parameter checks, paging) is ``leadflow.sandbox.meta.app``'s.
"""

from __future__ import annotations

import bisect
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from leadflow.sandbox.meta import errors as errs
from leadflow.sandbox.meta.data import AdAccount, MetaDataset
from leadflow.sandbox.meta.errors import GraphError

INSIGHT_FIELDS = ("account_currency", "account_id", "account_name", "ad_id", "ad_name",
                  "adset_id", "adset_name", "campaign_id", "campaign_name", "clicks",
                  "date_start", "date_stop", "impressions", "spend")  # fmt: skip
LEVELS = ("account", "campaign", "adset", "ad")
PRESETS = {"today": (0, 0), "yesterday": (1, 1), "last_3d": (3, 1), "last_7d": (7, 1),
           "last_14d": (14, 1), "last_28d": (28, 1), "last_30d": (30, 1),
           "last_90d": (90, 1)}  # fmt: skip


def report_period(
    time_range: str | None, date_preset: str | None, today: date
) -> tuple[date, date]:
    """``time_range``, else ``date_preset`` (default last_30d) in the account's time zone."""
    if time_range:
        since, until = errs.parse_time_range(time_range)
    elif (preset := date_preset or "last_30d") in PRESETS:
        since, until = (today - timedelta(days=n) for n in PRESETS[preset])
    else:
        raise errs.invalid("param date_preset must be one of: " + ", ".join(PRESETS))
    if (today.year - since.year) * 12 + today.month - since.month > 37:
        raise GraphError(3018)
    return since, until


def insight_rows(
    dataset: MetaDataset,
    account: AdAccount,
    level: str,
    fields: list[str],
    period: tuple[date, date],
    increment: int | str,
) -> list[dict[str, str]]:
    """The AdsInsights rows of ``account`` at ``level`` over ``period``, one per time slice
    and entity, in slice then entity order."""
    since, until = period
    buckets = _buckets(since, until, increment)
    starts, depth = [bucket[0] for bucket in buckets], LEVELS.index(level)
    totals: dict[tuple[int, str], list[Any]] = {}
    for stat in dataset.stats:
        if stat.account_id == account.id and since <= stat.day <= until:
            entity = (account.id, stat.campaign_id, stat.adset_id, stat.ad_id)[depth]
            key = (bisect.bisect_right(starts, stat.day) - 1, entity)
            total = totals.setdefault(key, [0, 0, 0, dataset.get("ad", stat.ad_id)])
            for i, value in enumerate((stat.spend_cents, stat.impressions, stat.clicks)):
                total[i] += value
    return [_insight(fields, depth, account, buckets[bucket], *total)
            for (bucket, _entity), total in sorted(totals.items())]  # fmt: skip


def _buckets(since: date, until: date, increment: int | str) -> list[tuple[date, date]]:
    """The report's time slices: the whole period, calendar months or N days."""
    if increment == "all_days":
        return [(since, until)]
    buckets, start = [], since
    while start <= until:
        if increment == "monthly":
            stop = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            stop = start + timedelta(days=int(increment) - 1)
        buckets.append((start, min(stop, until)))
        start = min(stop, until) + timedelta(days=1)
    return buckets


def _insight(fields: list[str], depth: int, account: Any, bucket: tuple[date, date],
             spend: int, impressions: int, clicks: int, ad: Any) -> dict[str, str]:  # fmt: skip
    """One AdsInsights row: ids and names down to the level, metrics as decimal strings."""
    values = {"account_id": account.id, "account_name": account.name,
              "account_currency": account.currency, "impressions": str(impressions),
              "clicks": str(clicks), "spend": format((Decimal(spend) / 100).normalize(), "f"),
              "campaign_id": ad.campaign_id, "campaign_name": ad.campaign_name,
              "adset_id": ad.adset_id, "adset_name": ad.adset_name,
              "ad_id": ad.id, "ad_name": ad.name}  # fmt: skip
    shown = {"account", *LEVELS[1 : depth + 1], "impressions", "clicks", "spend"}
    row = {name: values[name] for name in fields if name.split("_")[0] in shown}
    return {**row, "date_start": bucket[0].isoformat(), "date_stop": bucket[1].isoformat()}
