"""One campaign's metrics for one day on one ad platform: what cost per lead is made of, and
the checks a reported row passes before it loads.

A row that fails them is not loaded and does not fail its account: it becomes a ``Rejected``
bound for the quarantine table (issue 19), keyed ``spend:<campaign_id>:<day>`` (``spend_key``)
so it never collides with a lead id, with the field (CampaignDay's name for it) and the
problem, never the value. ``read_campaign_day`` turns one platform row into a CampaignDay or
a Rejected; ``split_spend`` adds the check that needs the load time (a day in the future).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadflow.models.records.leads import InvalidRecord, Rejected

# A day before EARLIEST_DAY (year 0001) or more than DAY_TOLERANCE after the load time
# (year 9999) is a platform's placeholder or a typo: the row is quarantined. The tolerance
# covers account time zones ahead of UTC.
EARLIEST_DAY = date(2000, 1, 1)
DAY_TOLERANCE = timedelta(days=1)
MICRO_DIGITS = 6
FIGURES = ("campaign_id", "day", "spend", "impressions", "clicks")
# Errors a platform row of the wrong shape raises while one figure is read from it.
UNREADABLE = (LookupError, TypeError, ValueError, ArithmeticError, AttributeError)


@dataclass(frozen=True, slots=True)
class CampaignDay:
    """Spend, impressions and clicks of a campaign on one day, in the account's currency.

    ``day`` is the date in the ad account's own time zone, as the platform reports it.
    ``spend`` is exact (Decimal): platforms send decimal strings or integer micros.
    ``raw`` is the platform's row as received (for quarantine; not compared or hashed).
    A value no day may carry (negative spend, a non-finite or finer-than-micros amount, no
    campaign id, a day before 2000, negative counts) raises ``InvalidRecord`` naming the field.
    """

    platform: str
    account_id: str
    campaign_id: str
    day: date
    spend: Decimal
    currency: str | None = None
    campaign_name: str | None = None
    impressions: int = 0
    clicks: int = 0
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem is not None:
            key = spend_key(self.campaign_id, self.day)
            raise InvalidRecord(self.platform, key, *problem)

    @property
    def natural_key(self) -> tuple[str, str, str, date]:
        return (self.platform, self.account_id, self.campaign_id, self.day)

    @property
    def record_key(self) -> str:
        """The day's quarantine key (``spend_key``)."""
        return f"spend:{self.campaign_id}:{self.day.isoformat()}"


def spend_key(campaign_id: object, day: object) -> str | None:
    """``spend:<campaign_id>:<YYYY-MM-DD>``, the quarantine key of a campaign day (no lead id
    has that form); None when either part is unknown (quarantine then uses the row's hash)."""
    if not isinstance(campaign_id, str) or not campaign_id or not isinstance(day, date):
        return None
    return f"spend:{campaign_id}:{day.isoformat()}"


def _problem(day: CampaignDay) -> tuple[str, str] | None:
    """(field, problem) of the first value ``day`` may not carry, else None."""
    if not isinstance(day.campaign_id, str) or not day.campaign_id.strip():
        return ("campaign_id", "missing")
    if not isinstance(day.day, date):
        return ("day", "not a date")
    if day.day < EARLIEST_DAY:
        return ("day", f"before {EARLIEST_DAY.isoformat()}, out of range")
    spend = _amount_problem(day.spend)
    if spend is not None:
        return ("spend", spend)
    for name in ("impressions", "clicks"):
        value = getattr(day, name)
        if not isinstance(value, int) or isinstance(value, bool):
            return (name, "not a whole number")
        if value < 0:
            return (name, "negative")
    return None


def _amount_problem(spend: object) -> str | None:
    if not isinstance(spend, Decimal):
        return "not a decimal amount"
    if not spend.is_finite():
        return "not a finite amount"
    if spend < 0:
        return "negative"
    micros = spend.scaleb(MICRO_DIGITS)
    if micros != micros.to_integral_value():
        return "finer than a millionth of the currency unit"
    return None


Figure = tuple[str, Callable[[], Any]]
"""Where a platform row keeps one figure: the platform's name for it (said in the reason of
a row it cannot be read from) and a function reading it from the row."""


def read_campaign_day(
    platform: str,
    account_id: str,
    raw: Mapping[str, Any],
    figures: Mapping[str, Figure],
    *,
    currency: str | None = None,
    campaign_name: str | None = None,
) -> CampaignDay | Rejected:
    """One row of a platform's spend report -> a CampaignDay, or a Rejected naming the field
    and the problem (never the value) when a figure cannot be read or may not be loaded.

    ``figures`` maps each of ``FIGURES`` (campaign_id, day, spend, impressions, clicks) to its
    ``Figure``: the day's reader returns a ``date``, the others the value as sent (a string
    or number; None or a missing key for a figure not sent). Pure: no clock (``split_spend``
    checks the day against the load time).
    """
    values: dict[str, Any] = {}
    for name in FIGURES:
        label, read = figures[name]
        try:
            values[name] = _convert(name, read())
        except UNREADABLE as error:
            key = spend_key(values.get("campaign_id"), values.get("day"))
            why = "missing" if isinstance(error, _Missing | KeyError) else _UNREADABLE_AS[name]
            return Rejected(platform, account_id, key, name, f"{label}: {why}", raw)
    try:
        return CampaignDay(
            platform=platform,
            account_id=account_id,
            currency=currency,
            campaign_name=campaign_name,
            raw=raw,
            **values,
        )
    except InvalidRecord as error:
        return Rejected.from_error(error, account_id, raw)


class _Missing(ValueError):
    """A figure the row does not carry."""


_UNREADABLE_AS = {
    "campaign_id": "not an id",
    "day": "not a date",
    "spend": "not a valid amount",
    "impressions": "not a whole number",
    "clicks": "not a whole number",
}


def _convert(name: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Missing(name)
    if isinstance(value, bool):
        raise TypeError(name)
    if name == "campaign_id":
        if not isinstance(value, str | int):
            raise TypeError(name)
        return str(value).strip()
    if name == "day":
        if not isinstance(value, date) or isinstance(value, datetime):
            raise TypeError(name)
        return value
    if name == "spend":
        if not isinstance(value, str | int | float | Decimal):
            raise TypeError(name)
        return value if isinstance(value, Decimal) else Decimal(str(value).strip())
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise TypeError(name)
    return int(value.strip())  # impressions and clicks: whole numbers, as int64 strings


def iso_day(value: object) -> date | None:
    """A ``YYYY-MM-DD`` string as a date, for a day's reader; None stays None (missing)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("day")
    return date.fromisoformat(value.strip())


def check_day(day: CampaignDay, now: datetime, *, tolerance: timedelta = DAY_TOLERANCE) -> None:
    """InvalidRecord naming ``day`` when the day is more than ``tolerance`` after ``now``
    (the load time); the reason names the bound, never the value."""
    if day.day > (now + tolerance).date():
        days = tolerance / timedelta(days=1)
        why = f"more than {days:g} day{'s' if days != 1 else ''} after the load time, out of range"
        raise InvalidRecord(day.platform, day.record_key, "day", why)


def split_spend(
    items: Iterable[CampaignDay | Rejected], now: datetime
) -> tuple[list[CampaignDay], list[Rejected]]:
    """A spend batch as loaded: the days to load, and the rejects (those the connector
    rejected, and days in the future: ``check_day``) bound for quarantine."""
    rows: list[CampaignDay] = []
    rejected: list[Rejected] = []
    for item in items:
        if isinstance(item, Rejected):
            rejected.append(item)
            continue
        try:
            check_day(item, now)
        except InvalidRecord as error:
            rejected.append(Rejected.from_error(error, item.account_id, _raw(item)))
            continue
        rows.append(item)
    return rows, rejected


def _raw(day: CampaignDay) -> Mapping[str, Any]:
    """The row as received, else (a day built without it) its own figures."""
    if day.raw:
        return day.raw
    return {
        "campaign_id": day.campaign_id,
        "day": day.day.isoformat(),
        "spend": str(day.spend),
        "impressions": day.impressions,
        "clicks": day.clicks,
    }
