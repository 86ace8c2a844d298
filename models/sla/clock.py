"""The business-hours clock of the marketing↔sales SLA (pure: no I/O).

A :class:`BusinessCalendar` is a team's working week: an IANA time zone, working days,
opening and closing time, and public holidays from the ``holidays`` package for a country
(and subdivision). The clock runs only inside working hours: outside them, on weekends and
on holidays it pauses. Opening hours are local wall-clock times, so a working day that
contains a DST change is as long as it really is in elapsed time, and "09:00" stays 09:00
local on both sides of the change.

Arithmetic uses a running total: ``B(t)`` is the number of business minutes from the
calendar's epoch to ``t``; then ``business_minutes(a, b) = B(b) - B(a)`` and
``add_business_minutes`` inverts ``B`` with a binary search over day boundaries. Day totals
are computed once per calendar and day, so evaluating many leads costs a lookup each.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

EPOCH = date(2000, 1, 3)  # a Monday; business time is counted from here
MINUTE = timedelta(minutes=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessCalendar:
    """A team's working hours; see the module docstring for the clock's semantics."""

    timezone: str = "UTC"
    workdays: frozenset[int] = frozenset(range(5))  # 0 = Monday
    opens: time = time(9)
    closes: time = time(17)
    country: str | None = None
    subdivision: str | None = None
    extra_holidays: frozenset[date] = frozenset()
    _days: list[float] = field(default_factory=list, init=False, repr=False, compare=False)
    _totals: list[float] = field(
        default_factory=lambda: [0.0], init=False, repr=False, compare=False
    )
    # Each day's working hours (UTC instants, None on a day off), computed with _days.
    _windows: list[tuple[datetime, datetime] | None] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    # B(t) of recently asked instants: one qualification's start is asked by every rule.
    _recent: dict[datetime, float] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")
        if not self.workdays or not self.workdays <= set(range(7)):
            raise ValueError(f"workdays must be weekday numbers 0-6, got {sorted(self.workdays)}")
        ZoneInfo(self.timezone)  # raises for an unknown zone
        if self.country:
            self._holidays  # noqa: B018 - raises NotImplementedError for an unknown country

    @functools.cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @functools.cached_property
    def _holidays(self) -> holidays.HolidayBase | dict[date, str]:
        if not self.country:
            return {}
        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def is_business_day(self, day: date) -> bool:
        """A working weekday that is not a public (or extra) holiday."""
        return (
            day.weekday() in self.workdays
            and day not in self._holidays
            and day not in self.extra_holidays
        )

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's working hours as aware UTC instants, or None on a day off."""
        if not self.is_business_day(day):
            return None
        opens = datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
        return opens, closes

    def local_date(self, at: datetime) -> date:
        return _aware(at).astimezone(self.zone).date()

    def business_minutes(self, start: datetime, end: datetime) -> float:
        """Business minutes between two instants; negative if ``end`` is before ``start``."""
        return self._clock(end) - self._clock(start)

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` business minutes after ``start`` (aware UTC).

        From a paused moment (night, weekend) the count starts at the next opening; the
        result is the moment the last minute is used up, so a lead qualified at 17:59 on a
        Friday with 60 minutes due is due at 09:59 on the next business day.
        """
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        target = self._clock(start) + minutes
        if minutes == 0:
            return _aware(start).astimezone(UTC)
        index = self._day_index_reaching(target)
        opens, _ = self._windows[index]  # type: ignore[misc]  # a day that adds minutes is open
        return opens + (target - self._totals[index]) * MINUTE

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """``days`` full business days after ``start``: ``days`` times a standard day's
        minutes of business time (so 2 business days from Tuesday 10:00 is Thursday 10:00)."""
        return self.add_business_minutes(start, days * self.minutes_per_day)

    @property
    def minutes_per_day(self) -> float:
        opens = datetime.combine(EPOCH, self.opens)
        return (datetime.combine(EPOCH, self.closes) - opens) / MINUTE

    def _clock(self, at: datetime) -> float:
        """B(t): business minutes from the epoch to ``at``."""
        known = self._recent.get(at)
        if known is not None:
            return known
        index = (_aware(at).astimezone(self.zone).date() - EPOCH).days
        if index < 0:
            raise ValueError(f"{at.isoformat()} is before the SLA calendar's epoch {EPOCH}")
        if index >= len(self._days):
            self._extend(index + 1)
        minutes = self._totals[index]
        window = self._windows[index]
        if window is not None:
            opens, closes = window
            if at > opens:
                minutes += ((at if at < closes else closes) - opens) / MINUTE
        if len(self._recent) >= 4096:
            self._recent.clear()
        self._recent[at] = minutes
        return minutes

    def _day_index_reaching(self, target: float) -> int:
        """The first day whose working hours reach ``target`` on the running clock."""
        while self._totals[-1] < target:
            self._extend(len(self._days) + 366)
        # _totals[i] = minutes before day i; find the first i with _totals[i + 1] >= target.
        return bisect.bisect_left(self._totals, target, lo=1) - 1

    def _extend(self, days: int) -> None:
        while len(self._days) < days:
            day = EPOCH + timedelta(days=len(self._days))
            window = self.window(day)
            length = (window[1] - window[0]) / MINUTE if window else 0.0
            self._windows.append(window)
            self._days.append(length)
            self._totals.append(self._totals[-1] + length)


def period_month(at: datetime, zone: ZoneInfo) -> str:
    """The month of ``at`` in ``zone``: ``YYYY-MM`` (what ``%Y-%m`` writes, without
    strftime: half the time, and this runs for every qualification)."""
    local = _aware(at).astimezone(zone)
    return f"{local.year}-{local.month:02d}"


def period_week(at: datetime, zone: ZoneInfo) -> str:
    """The ISO week of ``at`` in ``zone``: ``YYYY-Www``."""
    year, week, _ = _aware(at).astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def parse_workdays(names: Iterable[str]) -> frozenset[int]:
    """``["mon", "tue", ...]`` (any case) as weekday numbers (Monday = 0)."""
    days = set()
    for name in names:
        key = name.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ValueError(f"unknown weekday {name!r}: use {', '.join(WEEKDAYS)}")
        days.add(WEEKDAYS.index(key))
    return frozenset(days)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: SLA times must be timezone-aware")
    return at
