"""Reporting periods and the ones that have not ended yet.

A period is a year (``YYYY``), a month (``YYYY-MM``) or an ISO week (``YYYY-Www``) of local
dates in a time zone. At a given instant (report time, or an SLA run's evaluation time) a
period that has not ended is *partial*: it is shown to date, labelled so, e.g. ``Dec 2026
(partial, to Dec 6)``, and no period-over-period rate is computed from or for it (nothing is
extrapolated). This is what "this month (to date)" means on a CRM dashboard, said out loud.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

# The last time zone on Earth (UTC-12): a period whose zone is unknown has surely ended
# once it ended there.
LATEST_ZONE = timezone(timedelta(hours=-12))
_LABEL = re.compile(r"(\d{4})(?:-(\d{2})|-W(\d{2}))?")


def bounds(label: str) -> tuple[date, date]:
    """The first local day of the period ``label`` and the first day after it."""
    match = _LABEL.fullmatch(label)
    if match is None:
        raise ValueError(f"not a period (YYYY, YYYY-MM or YYYY-Www): {label!r}")
    year, month, week = int(match[1]), match[2], match[3]
    if month:
        first = date(year, int(month), 1)
        return first, date(year + first.month // 12, first.month % 12 + 1, 1)
    if week:
        first = date.fromisocalendar(year, int(week), 1)
        return first, first + timedelta(days=7)
    return date(year, 1, 1), date(year + 1, 1, 1)


def period_end(label: str, zone: tzinfo = UTC) -> datetime:
    """The instant ``label`` ends: midnight starting its first day after, in ``zone``."""
    return datetime.combine(bounds(label)[1], time(), tzinfo=zone)


def is_partial(label: str, as_of: datetime, zone: tzinfo = UTC) -> bool:
    """True when the period had not ended at ``as_of`` (in ``zone``)."""
    return as_of < period_end(label, zone)


def period_of(at: datetime, kind: str, zone: tzinfo = UTC) -> str:
    """The month (``kind`` "month") or ISO week ("week") ``at`` falls in, in ``zone``."""
    local = at.astimezone(zone).date()
    if kind == "month":
        return f"{local.year:04d}-{local.month:02d}"
    year, week, _ = local.isocalendar()
    return f"{year:04d}-W{week:02d}"


def previous(label: str) -> str:
    """The month or ISO week before ``label``."""
    first, _ = bounds(label)
    kind = "week" if "-W" in label else "month"
    return period_of(datetime.combine(first - timedelta(days=1), time(12), tzinfo=UTC), kind)


def recent(label: str, count: int) -> list[str]:
    """``label`` and the ``count - 1`` months or weeks before it, newest first."""
    found = [label]
    while len(found) < count:
        found.append(previous(found[-1]))
    return found


def day(at: datetime, zone: tzinfo = UTC) -> str:
    """``at``'s local date, short: "Dec 6"."""
    local = at.astimezone(zone)
    return f"{local:%b} {local.day}"


def month_name(label: str) -> str:
    """A month as its name: 2026-12 is "Dec 2026" (a week or year as given)."""
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return f"{date.fromisoformat(label + '-01'):%b %Y}"
    return label


def partial_label(name: str, as_of: datetime, zone: tzinfo = UTC, *, zone_name: str = "") -> str:
    """``name`` of a period that had not ended at ``as_of``: "Dec 2026 (partial, to Dec 6)"
    (``zone_name``, when given, follows the date: the zone it is read in)."""
    suffix = f" {zone_name}" if zone_name else ""
    return f"{name} (partial, to {day(as_of, zone)}{suffix})"
