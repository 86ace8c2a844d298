"""What the report shows, read from the BI views (``leadflow.models.bi.views``) and rolled up in
Python.

Everything here is numbers and names of sources, campaigns, teams and rules: no person's data, so
the same figures can go into a Prefect artifact.

The data is read as of report time: a period that has not ended then is partial
(``leadflow.report.periods``), labelled so, and gets no month-over-month rate; the headline
lead velocity rate is the latest complete month's.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.report.periods import (
    LATEST_ZONE,
    day,
    is_partial,
    month_name,
    partial_label,
    period_of,
    previous,
)

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

    def label(self, as_of: datetime) -> str:
        """The period as the report names it: "2026-12 (partial, to Dec 6)" while it has
        not ended at ``as_of`` (UTC, like the views' months); everything, "to" a date."""
        if self.text is None:
            return f"all time, to {day(as_of)}, {as_of.astimezone(UTC).year}"
        return partial_label(self.text, as_of) if is_partial(self.text, as_of) else self.text


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class ReportData:
    """The rows behind each chart and the summary, as of ``as_of`` (report time)."""

    period: Period
    as_of: datetime = field(default_factory=lambda: datetime.now(UTC))
    funnel: list[dict[str, Any]] = field(default_factory=list)
    cost: list[dict[str, Any]] = field(default_factory=list)
    sla: list[dict[str, Any]] = field(default_factory=list)
    speed: list[dict[str, Any]] = field(default_factory=list)
    velocity: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # decisions_by_rep's


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(conn: Connection, sql: str) -> list[dict[str, Any]]:
    """The rows of ``sql`` as dicts of plain values (names zipped onto the driver's tuples:
    SQLAlchemy's mappings had cost a quarter of the report at 200,000 leads)."""
    return list(_each_row(conn, sql))


def _each_row(conn: Connection, sql: str) -> Iterator[dict[str, Any]]:
    """:func:`_rows` one at a time: what is rolled up as it is read is never held whole."""
    result = conn.execute(sa.text(sql))
    names = tuple(result.keys())
    for row in result:
        yield dict(zip(names, map(_plain, row), strict=True))


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


def read_report_data(conn: Connection, period: Period, as_of: datetime | None = None) -> ReportData:
    """Read the views and roll them up for ``period``, as of ``as_of`` (default: now):
    periods that had not ended then are marked partial and get no month-over-month rate."""
    data = ReportData(period, as_of or datetime.now(UTC))
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
    for row in data.sla:  # the team's week: partial until it ended in every time zone
        row["partial"] = is_partial(row["week"], data.as_of, LATEST_ZONE)
        row["week_label"] = f"{row['week']} (partial)" if row["partial"] else row["week"]
    data.speed = [row for row in _rows(conn, SPEED_SQL) if period.has_week(row["week"])]
    data.decisions = decisions_by_rep(
        row for row in _each_row(conn, DECISIONS_SQL) if period.has_week(row.pop("week"))
    )
    current = period_of(data.as_of, "month")  # the views' months are UTC
    data.velocity = [
        _velocity_row(row, data.as_of)
        for row in _rows(conn, "SELECT * FROM v_lead_velocity ORDER BY month")
        if period.has_month(row["month"]) and row["month"] <= current
    ]
    return data


# Each touched qualification's minutes to its first touch (the columns the report reads).
SPEED_SQL = """
SELECT week, team, business_minutes, wall_minutes FROM v_speed_to_lead
WHERE first_touch_at IS NOT NULL
"""

# Each accept/reject evaluation (sales' decision on a qualification, from the CRM's dated
# status changes: sales_decisions) with its rep, by the CRM's id (the report shows no
# names); business minutes only once decided.
DECISIONS_SQL = """
SELECT e.period_week AS week, COALESCE(e.rep_source, '-') AS crm,
       COALESCE(e.rep_id, 'unassigned') AS rep, e.team, e.status,
       CASE WHEN e.event_at IS NOT NULL THEN e.business_minutes END AS minutes
FROM sla_evaluations e
WHERE e.rule = 'accept_reject'
"""


def decisions_by_rep(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Accept/reject evaluations per CRM and rep: counts by status and the business
    minutes from qualification to the decision (nearest-rank median and p90). ``rows`` is
    read once and not kept: each group holds its counts and minutes only (a million
    leads' evaluations had taken 260 MB as rows)."""
    counts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    minutes: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for row in rows:
        key = (row["rep"], row["crm"], row["team"])
        counts[key][row["status"]] += 1
        if row["minutes"] is not None:
            minutes[key].append(row["minutes"])
    found = []
    for key in sorted(counts):
        rep, crm, team = key
        found.append(
            {"rep": rep, "crm": crm, "team": team, **{s: counts[key][s] for s in STATUSES}}
            | {f"p{p}_business_minutes": nearest_rank(minutes[key], p) for p in (50, 90)}
        )
    return found


STATUSES = ("met", "breached", "pending")


def _velocity_row(row: dict[str, Any], as_of: datetime) -> dict[str, Any]:
    """A month of ``v_lead_velocity``; one not ended at ``as_of`` is partial, and its rate
    (growth over the month before, from a count to date) is left out, not shown."""
    partial = is_partial(row["month"], as_of)
    name = month_name(row["month"])
    return row | {
        "partial": partial,
        "label": partial_label(name, as_of) if partial else name,
        "lead_velocity_rate": None if partial else row["lead_velocity_rate"],
    }


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


def hour_bins(rows: Iterable[Mapping[str, Any]], maxbins: int = 30) -> list[dict[str, Any]]:
    """The speed-to-lead histogram the report draws: each row's business hours to the first
    touch in equal bins (a step of 1, 2 or 5 times a power of ten, about ``maxbins`` of
    them from a multiple of the step), counted per team. The chart gets these counts, not
    every qualification's value: a million leads' report had embedded 74,077 values (9 MB
    of HTML, 18 s and some 700 MB to render)."""
    hours = [(row["team"], row["business_minutes"] / 60) for row in rows]
    if not hours:
        return []
    low, high = min(h for _, h in hours), max(h for _, h in hours)
    step = _bin_step(high - low, maxbins)
    start = math.floor(low / step) * step
    last = max(math.ceil((high - start) / step) - 1, 0)  # the top value closes the last bin
    counts = Counter((team, min(math.floor((h - start) / step), last)) for team, h in hours)
    return [
        {"team": team, "start": round(start + i * step, 9), "end": round(start + (i + 1) * step, 9),
         "count": n}
        for (team, i), n in sorted(counts.items(), key=lambda item: (str(item[0][0]), item[0][1]))
    ]  # fmt: skip


def _bin_step(span: float, maxbins: int) -> float:
    """The least of 1, 2 and 5 times a power of ten that cuts ``span`` in ``maxbins`` bins
    or fewer (1 for no span)."""
    if span <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(span / maxbins))
    return next(power * m for m in (1, 2, 5, 10) if span / (power * m) <= maxbins)


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
        "headline": headline(data),
        "funnel": data.funnel,
        "cost": cost,
        "sla": rules,
        "speed": speed,
        "velocity": [_velocity_summary(row) for row in data.velocity[-3:]],
        "sales decisions by rep": data.decisions,
    }


def _velocity_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "month": row["label"],
        "qualified": row["qualified"],
        "previous_month_qualified": row["previous_month_qualified"],
        "lead_velocity_rate": PARTIAL_RATE if row["partial"] else row["lead_velocity_rate"],
    }


PARTIAL_RATE = "n/a — partial period"


def headline(data: ReportData) -> list[dict[str, Any]]:
    """The lead velocity rate of the latest *complete* month, and the month to date (a
    count, never a rate nor a projection)."""
    rows = []
    complete = [row for row in data.velocity if not row["partial"]]
    if complete:
        last = complete[-1]
        rate = last["lead_velocity_rate"]
        rows.append({
            "metric": "lead velocity rate (latest complete month)", "period": last["label"],
            "value": "-" if rate is None else f"{rate:+.2f}%",
            "basis": f"{last['qualified']} qualified vs {last['previous_month_qualified']} in "
            f"{month_name(previous(last['month']))}",
        })  # fmt: skip
    for row in data.velocity:
        if row["partial"]:
            rows.append({
                "metric": "qualified leads to date", "period": row["label"],
                "value": str(row["qualified"]),
                "basis": "partial period: no rate until it ends, not extrapolated",
            })  # fmt: skip
    return rows


def _div(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None
