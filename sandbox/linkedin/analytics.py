"""Ad analytics reports of the LinkedIn sandbox: the date range, pivots, granularity, totals.

Docs used:
https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/ads-reporting
(``q=analytics`` with ``pivot`` CAMPAIGN, ACCOUNT or CREATIVE, ``timeGranularity`` DAILY, MONTHLY
or ALL, a ``dateRange`` whose end defaults to the day before the dataset's anchor; only
impressions and clicks unless ``fields`` is given). The HTTP side (parameter checks, facets) is
``leadflow.sandbox.linkedin.app``'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadflow.sandbox.linkedin.data import DailyStat, LinkedInDataset
from leadflow.sandbox.linkedin.restli import ParamError

PIVOTS = {"CAMPAIGN": "campaign", "ACCOUNT": "account", "CREATIVE": "creative"}
GRANULARITIES = ("DAILY", "MONTHLY", "ALL")


def date_range(value: dict[str, Any], anchor: datetime) -> tuple[date, date]:
    """``dateRange`` as (first, last) day; without an end, the day before ``anchor``."""
    try:
        first = date(*(int(value["start"][k]) for k in ("year", "month", "day")))
        end = value.get("end")
        last = date(*(int(end[k]) for k in ("year", "month", "day"))) if end else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ParamError("dateRange") from exc
    return first, last or (anchor - timedelta(days=1)).date()


def analytics_elements(
    dataset: LinkedInDataset,
    pivot: str,
    granularity: str,
    bounds: tuple[date, date],
    facets: tuple[Sequence[str], Sequence[str]],
    fields: list[str],
) -> list[dict[str, Any]]:
    """One element per period and pivot value over the stats of ``facets`` (campaign URNs,
    account URNs; an empty one does not filter) within ``bounds``, with the ``fields``
    asked for (impressions and clicks when none)."""
    campaigns, accounts = facets
    first, last = bounds
    stats = [
        s for s in dataset.daily
        if first <= s.day <= last and (not campaigns or s.campaign in campaigns)
        and (not accounts or s.account in accounts)
    ]  # fmt: skip
    creative = {c["urn"]: c["creative"] for c in dataset.campaigns}
    groups: dict[tuple, list[DailyStat]] = defaultdict(list)
    for stat in stats:
        value = getattr(stat, PIVOTS[pivot]) if pivot != "CREATIVE" else creative[stat.campaign]
        groups[(_period(stat.day, granularity, bounds), value)].append(stat)
    wanted = fields or ["impressions", "clicks"]
    return [
        _element(period, value, group, wanted) for (period, value), group in sorted(groups.items())
    ]


def _period(day: date, granularity: str, bounds: tuple[date, date]) -> tuple[date, date]:
    if granularity == "DAILY":
        return day, day
    if granularity == "ALL":
        return bounds
    month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return max(day.replace(day=1), bounds[0]), min(month_end, bounds[1])


def _element(period: tuple[date, date], value: str, stats: list, wanted: list[str]) -> dict:
    totals: dict[str, Any] = {
        "impressions": sum(s.impressions for s in stats),
        "clicks": sum(s.clicks for s in stats),
        "costInLocalCurrency": str(sum((s.cost for s in stats), Decimal(0))),
        "costInUsd": str(sum((s.cost_usd for s in stats), Decimal(0))),
        "oneClickLeads": sum(s.leads for s in stats),
        "pivotValues": [value],
        "dateRange": {edge: {"year": d.year, "month": d.month, "day": d.day}
                      for edge, d in zip(("start", "end"), period, strict=True)},
    }  # fmt: skip
    return {name: totals[name] for name in wanted if name in totals}
