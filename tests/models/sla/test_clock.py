"""The business-hours clock: weekends, holidays, DST, the 17:59-on-Friday lead."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.models.sla.clock import BusinessCalendar, parse_workdays, period_month, period_week

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
US = BusinessCalendar(timezone="America/New_York", country="US")
DE = BusinessCalendar(timezone="Europe/Berlin", country="DE", subdivision="BE")
PLAIN = BusinessCalendar(timezone="America/New_York")
US_TO_SIX = BusinessCalendar(timezone="America/New_York", country="US", closes=time(18))


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("calendar", "start", "minutes", "due"),
    [
        (US, ny(2026, 11, 24, 10, 0), 60, ny(2026, 11, 24, 11, 0)),  # inside hours
        (US, ny(2026, 11, 24, 16, 30), 60, ny(2026, 11, 25, 9, 30)),  # spills overnight
        (US_TO_SIX, ny(2026, 11, 20, 17, 59), 60, ny(2026, 11, 23, 9, 59)),  # Friday 17:59 -> Monday
        (US, ny(2026, 11, 20, 17, 59), 60, ny(2026, 11, 23, 10, 0)),  # after closing: Monday
        (US, ny(2026, 11, 21, 12, 0), 60, ny(2026, 11, 23, 10, 0)),  # Saturday: starts Monday
        (US, ny(2026, 11, 24, 6, 0), 60, ny(2026, 11, 24, 10, 0)),  # before opening
        (US, ny(2026, 11, 25, 16, 30), 60, ny(2026, 11, 27, 9, 30)),  # Thanksgiving skipped
        (PLAIN, ny(2026, 11, 25, 16, 30), 60, ny(2026, 11, 26, 9, 30)),  # no holiday calendar
        (US, ny(2026, 12, 24, 16, 0), 120, ny(2026, 12, 28, 10, 0)),  # Christmas Fri, weekend
        (DE, berlin(2026, 12, 24, 16, 0), 120, berlin(2026, 12, 28, 10, 0)),  # 25th-27th off
        (DE, berlin(2026, 5, 13, 16, 30), 60, berlin(2026, 5, 15, 9, 30)),  # Ascension Day 14 May
        (US, ny(2026, 3, 6, 16, 30), 60, ny(2026, 3, 9, 9, 30)),  # over the DST change (8 Mar)
        (DE, berlin(2026, 3, 27, 16, 30), 60, berlin(2026, 3, 30, 9, 30)),  # Berlin DST 29 Mar
        (DE, berlin(2026, 10, 23, 16, 30), 60, berlin(2026, 10, 26, 9, 30)),  # DST ends 25 Oct
        (US, ny(2026, 11, 24, 10, 0), 0, ny(2026, 11, 24, 10, 0)),
    ],
    ids=[
        "inside-hours", "overnight", "friday-17-59", "friday-17-59-after-closing", "saturday", "before-opening",
        "thanksgiving", "no-holidays", "christmas-weekend", "berlin-christmas", "ascension",
        "ny-dst-spring", "berlin-dst-spring", "berlin-dst-autumn", "zero",
    ],
)  # fmt: skip
def test_due_dates(
    calendar: BusinessCalendar, start: datetime, minutes: int, due: datetime
) -> None:
    assert calendar.add_business_minutes(start, minutes) == due
    assert calendar.business_minutes(start, due) == pytest.approx(minutes)


@pytest.mark.parametrize(
    ("calendar", "start", "end", "minutes"),
    [
        (US_TO_SIX, ny(2026, 11, 20, 17, 59), ny(2026, 11, 23, 9, 0), 1),  # Friday 17:59 to Monday 9:00
        (US, ny(2026, 11, 21, 9, 0), ny(2026, 11, 22, 23, 0), 0),  # a whole weekend
        (US, ny(2026, 11, 23, 0, 0), ny(2026, 11, 30, 0, 0), 4 * 480),  # week with Thanksgiving
        (PLAIN, ny(2026, 11, 23, 0, 0), ny(2026, 11, 30, 0, 0), 5 * 480),
        (US, ny(2026, 11, 24, 12, 0), ny(2026, 11, 24, 11, 0), -60),  # reversed
        (US, ny(2026, 3, 6, 12, 0), ny(2026, 3, 9, 12, 0), 480),  # across spring-forward
        (US, ny(2026, 10, 30, 12, 0), ny(2026, 11, 2, 12, 0), 480),  # across fall-back
        (DE, berlin(2026, 12, 24, 8, 0), berlin(2026, 12, 27, 20, 0), 480),  # only the 24th
    ],
    ids=[
        "friday-to-monday", "weekend", "thanksgiving-week", "plain-week", "reversed",
        "spring-forward", "fall-back", "berlin-christmas",
    ],
)  # fmt: skip
def test_business_minutes(
    calendar: BusinessCalendar, start: datetime, end: datetime, minutes: float
) -> None:
    assert calendar.business_minutes(start, end) == pytest.approx(minutes)


def test_a_dst_day_is_as_long_as_it_really_is() -> None:
    """Hours spanning the 02:00 change: the spring-forward day is an hour shorter."""
    night = BusinessCalendar(timezone="America/New_York", opens=time(0), closes=time(6),
                             workdays=frozenset(range(7)))  # fmt: skip
    assert night.business_minutes(ny(2026, 3, 8, 0), ny(2026, 3, 8, 6)) == 300
    assert night.business_minutes(ny(2026, 11, 1, 0), ny(2026, 11, 1, 6)) == 420
    assert night.business_minutes(ny(2026, 3, 7, 0), ny(2026, 3, 7, 6)) == 360


def test_times_in_other_zones_mean_the_same_instant() -> None:
    start_utc = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in New York
    assert US.add_business_minutes(start_utc, 30) == ny(2026, 11, 24, 10, 30)
    assert US.add_business_minutes(start_utc, 30).tzinfo == UTC


def test_long_spans_are_exact() -> None:
    start = ny(2025, 1, 2, 9, 0)
    end = ny(2026, 1, 2, 9, 0)
    working_days = sum(
        1
        for n in range((end.date() - start.date()).days)
        if US.is_business_day(start.date() + timedelta(days=n))
    )
    assert US.business_minutes(start, end) == working_days * 480
    assert US.add_business_minutes(start, working_days * 480) == ny(2025, 12, 31, 17, 0)


def test_add_business_days() -> None:
    assert US.add_business_days(ny(2026, 11, 17, 10, 0), 2) == ny(2026, 11, 19, 10, 0)
    assert US.add_business_days(ny(2026, 11, 25, 10, 0), 2) == ny(2026, 11, 30, 10, 0)


def test_holidays_follow_country_and_subdivision() -> None:
    assert not US.is_business_day(date(2026, 11, 26))
    assert not DE.is_business_day(date(2026, 10, 3))  # German Unity Day
    assert not DE.is_business_day(date(2026, 3, 8))  # a Sunday anyway
    assert DE.is_business_day(date(2026, 1, 6))  # Epiphany: Bavaria, not Berlin
    bavaria = BusinessCalendar(timezone="Europe/Berlin", country="DE", subdivision="BY")
    assert not bavaria.is_business_day(date(2026, 1, 6))
    extra = BusinessCalendar(timezone="UTC", extra_holidays=frozenset({date(2026, 11, 24)}))
    assert not extra.is_business_day(date(2026, 11, 24))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"opens": time(17), "closes": time(9)},
        {"timezone": "Mars/Olympus"},
        {"country": "XX"},
        {"workdays": frozenset({7})},
        {"workdays": frozenset()},
    ],
    ids=["closes-before-opens", "unknown-zone", "unknown-country", "bad-weekday", "no-workdays"],
)
def test_invalid_calendars_are_refused(kwargs: dict) -> None:
    with pytest.raises((ValueError, NotImplementedError, KeyError)):
        BusinessCalendar(**kwargs)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        US.business_minutes(datetime(2026, 11, 24, 10), ny(2026, 11, 24, 11))  # noqa: DTZ001


def test_periods_are_local() -> None:
    late_sunday = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Sunday 22:00 in New York
    assert period_month(late_sunday, NY) == "2026-11"
    assert period_month(late_sunday, BERLIN) == "2026-11"
    assert period_week(late_sunday, NY) == "2026-W48"
    assert period_week(late_sunday, BERLIN) == "2026-W49"
    assert period_week(datetime(2027, 1, 1, 12, tzinfo=UTC), BERLIN) == "2026-W53"


def test_parse_workdays() -> None:
    assert parse_workdays(["Mon", "tue", "SUNDAY"]) == frozenset({0, 1, 6})
    with pytest.raises(ValueError, match="unknown weekday"):
        parse_workdays(["funday"])


def test_answers_do_not_depend_on_what_was_asked_before() -> None:
    """The calendar keeps the clock of recently asked instants: a reused calendar must
    answer like a fresh one, for any instant in any zone, past its memory's size too."""
    zone = ZoneInfo("America/New_York")
    used = BusinessCalendar(timezone="America/New_York", country="US")
    start = datetime(2025, 3, 7, 15, 0, tzinfo=UTC)
    instants = [start + timedelta(minutes=37 * i) for i in range(5000)]
    for at in instants:  # fill the memory (and overflow it) with UTC instants
        used.business_minutes(start, at)
    for at in instants[::97]:
        fresh = BusinessCalendar(timezone="America/New_York", country="US")
        local = at.astimezone(zone)  # the same instant, asked in another zone
        assert used.business_minutes(start, local) == fresh.business_minutes(start, at)
        assert used.add_business_minutes(local, 90) == fresh.add_business_minutes(at, 90)
    with pytest.raises(ValueError, match="naive"):
        used.business_minutes(start, instants[3].replace(tzinfo=None))


ZONES = ["UTC", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe", "Pacific/Kiritimati"]
ANY_YEAR = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(ANY_YEAR, st.sampled_from(ZONES))
def test_period_month_writes_what_strftime_writes(at: datetime, zone: str) -> None:
    assert period_month(at, ZoneInfo(zone)) == f"{at.astimezone(ZoneInfo(zone)):%Y-%m}"
