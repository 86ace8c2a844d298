"""What the report shows, read from the BI views (``leadflow.models.bi.views``) and rolled up in
Python.

Everything here is numbers and names of sources, campaigns, teams and rules: no person's data, so
the same figures can go into a Prefect artifact.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_PERIOD = re.compile(r"(\d{4})(?:-(\d{2}))?")


@dataclass(frozen=True)
class Period:
    """A month (YYYY-MM), a year (YYYY), or everything (None), with its ISO weeks."""

    text: str | None
    weeks: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str | None) -> Period:
        """Raises ValueError for anything but YYYY, YYYY-MM or None."""
        if text is None:
            return cls(None)
        match = _PERIOD.fullmatch(text)
        if match is None or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
            raise ValueError(f"period must be YYYY or YYYY-MM, not {text!r}")
        year, month = int(match.group(1)), int(match.group(2) or 0)
        if month:
            first, last = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
        else:
            first, last = date(year, 1, 1), date(year + 1, 1, 1)
        days = (first + timedelta(days=n) for n in range((last - first).days))
        return cls(text, frozenset(_iso_week(day) for day in days))

    def has_month(self, month: str | None) -> bool:
        return self.text is None or (month or "").startswith(self.text)

    def has_week(self, week: str | None) -> bool:
        return self.text is None or week in self.weeks


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class ReportData:
    """The rows behind each chart and the summary."""

    period: Period
    funnel: list[dict[str, Any]] = field(default_factory=list)
    cost: list[dict[str, Any]] = field(default_factory=list)
    sla: list[dict[str, Any]] = field(default_factory=list)
    speed: list[dict[str, Any]] = field(default_factory=list)
    velocity: list[dict[str, Any]] = field(default_factory=list)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(conn: Connection, sql: str) -> list[dict[str, Any]]:
    result = conn.execute(sa.text(sql))
    return [{k: _plain(v) for k, v in row.items()} for row in result.mappings()]


def _sum_by(
    rows: Iterable[Mapping[str, Any]], keys: tuple[str, ...], values: tuple[str, ...]
) -> list[dict[str, Any]]:
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        slot = totals.setdefault(key, dict(zip(keys, key, strict=True)) | dict.fromkeys(values, 0))
        for name in values:
            slot[name] += row[name] or 0
    return [totals[key] for key in sorted(totals, key=lambda k: tuple(str(v) for v in k))]


def read_report_data(conn: Connection, period: Period) -> ReportData:
    """Read the views and roll them up for ``period``."""
    data = ReportData(period)
    funnel = [
        row
        for row in _rows(conn, "SELECT * FROM v_funnel_monthly")
        if period.has_month(row["month"])
    ]
    data.funnel = _sum_by(
        funnel, ("source",), ("leads", "people", "cohort_qualified", "cohort_sql")
    )
    cost = [
        row
        for row in _rows(conn, "SELECT * FROM v_cost_per_lead_monthly")
        if period.has_month(row["month"])
    ]
    data.cost = _sum_by(
        cost,
        ("platform", "campaign_id", "campaign_name", "currency"),
        ("spend_micros", "leads", "qualified"),
    )
    data.cost = [row for row in data.cost if row["spend_micros"]]  # no spend reported: no cost
    for row in data.cost:
        row["spend"] = row["spend_micros"] / 1e6
        row["cost_per_qualified_lead"] = (
            row["spend"] / row["qualified"] if row["qualified"] else None
        )
    sla = [
        row
        for row in _rows(conn, "SELECT * FROM v_sla_compliance_weekly")
        if period.has_week(row["week"])
    ]
    data.sla = _percent(_sum_by(sla, ("week", "team", "rule"), ("met", "breached", "pending")))
    data.speed = [
        {k: row[k] for k in ("week", "team", "business_minutes", "wall_minutes")}
        for row in _rows(conn, "SELECT * FROM v_speed_to_lead WHERE first_touch_at IS NOT NULL")
        if period.has_week(row["week"])
    ]
    data.velocity = [
        row
        for row in _rows(conn, "SELECT * FROM v_lead_velocity")
        if period.has_month(row["month"])
    ]
    return data


def _percent(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        decided = row["met"] + row["breached"]
        row["percentage"] = 100.0 * row["met"] / decided if decided else None
    return rows


def nearest_rank(values: Iterable[float], percent: int) -> float | None:
    """The nearest-rank percentile (the same definition as the views)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, -(-percent * len(ordered) // 100)) - 1]


def summary_tables(data: ReportData) -> dict[str, list[dict[str, Any]]]:
    """The report's numbers as small tables: funnel, cost, SLA, speed to lead, velocity."""
    by_currency: dict[str | None, dict[str, float]] = defaultdict(
        lambda: {"spend": 0.0, "leads": 0, "qualified": 0}
    )
    for row in data.cost:
        for name in ("spend", "leads", "qualified"):
            by_currency[row["currency"]][name] += row[name]
    cost = [
        {"currency": currency or "?", **totals}
        | {"cost_per_qualified_lead": _div(totals["spend"], totals["qualified"])}
        for currency, totals in sorted(by_currency.items(), key=lambda item: str(item[0]))
    ]
    rules = _percent(_sum_by(data.sla, ("rule",), ("met", "breached", "pending")))
    speed = [
        {"touched": len(data.speed)}
        | {
            f"p{p}_{kind}_minutes": nearest_rank([row[f"{kind}_minutes"] for row in data.speed], p)
            for kind in ("business", "wall")
            for p in (50, 90)
        }
    ]
    return {
        "funnel": data.funnel,
        "cost": cost,
        "sla": rules,
        "speed": speed,
        "velocity": data.velocity[-3:],
    }


def _div(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None
