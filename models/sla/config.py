"""The SLA as configuration: the ``sla:`` section of leadflow's YAML, with documented defaults.

Marketing's side: qualified leads per period (``qualified_volume``), their fit with the
ideal customer profile (``icp_fit``) and how many sales rejects (``sales_acceptance``).
Sales' side: a first touch within business minutes (``first_touch``), attempts within
business days unless connected (``touch_attempts``) and an accept/reject decision within
business hours (``accept_reject``). Every rule has a target share and a severity:
``critical`` fails the SLA check, ``warning`` only reports. See ``leadflow.example.yaml``.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadflow.models.sla.clock import BusinessCalendar, parse_workdays

Severity = Literal["critical", "warning"]
PER_PERSON_RULES = ("first_touch", "touch_attempts", "accept_reject", "icp_fit", "sales_acceptance")
ALL_RULES = (*PER_PERSON_RULES, "qualified_volume")


def _clock_time(value: str) -> time:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if not match:
        raise ValueError("must be a time of day as HH:MM (24-hour), e.g. 09:00")
    return time(int(match[1]), int(match[2]))


class CalendarSettings(BaseModel):
    """A team's working hours. Unset fields inherit from ``sla.calendar`` (and the zone from
    the top-level ``timezone``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str | None = Field(None, description="IANA zone; default: top-level timezone")
    workdays: list[str] | None = Field(None, description="default: mon..fri")
    opens: str | None = Field(None, description="local opening time HH:MM; default 09:00")
    closes: str | None = Field(None, description="local closing time HH:MM; default 17:00")
    country: str | None = Field(None, description="holidays country code (US, DE, GB...)")
    subdivision: str | None = Field(None, description="holidays subdivision (NY, BE...)")
    extra_holidays: list[date] | None = Field(None, description="company days off")

    @field_validator("opens", "closes")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None:
            _clock_time(value)
        return value

    @field_validator("workdays")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            parse_workdays(value)
        return value

    def over(self, base: CalendarSettings) -> CalendarSettings:
        """These settings with unset fields taken from ``base``."""
        mine = self.model_dump(exclude_none=True)
        return CalendarSettings(**{**base.model_dump(exclude_none=True), **mine})

    def calendar(self, default_zone: str) -> BusinessCalendar:
        return BusinessCalendar(
            timezone=self.timezone or default_zone,
            workdays=parse_workdays(self.workdays or ["mon", "tue", "wed", "thu", "fri"]),
            opens=_clock_time(self.opens or "09:00"),
            closes=_clock_time(self.closes or "17:00"),
            country=self.country,
            subdivision=self.subdivision,
            extra_holidays=frozenset(self.extra_holidays or ()),
        )


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    severity: Severity = "warning"
    target: float = Field(1.0, ge=0, le=1, description="share of decided cases that must be met")


class FirstTouchRule(_Rule):
    """Sales touches each qualified lead within N business minutes of qualification.

    A warning by default, like every rule: a new installation reports before it fails;
    make it ``critical`` once the SLA is agreed (the demo does).
    """

    business_minutes: float = Field(60, gt=0)


class TouchAttemptsRule(_Rule):
    """At least K outbound attempts within D business days, unless connected earlier."""

    attempts: int = Field(3, ge=1)
    business_days: int = Field(2, ge=1)
    target: float = Field(0.9, ge=0, le=1)


class AcceptRejectRule(_Rule):
    """Sales accepts (SQL) or rejects each qualified lead within H business hours."""

    business_hours: float = Field(16, gt=0)
    target: float = Field(0.9, ge=0, le=1)


class IcpFitRule(_Rule):
    """At least a share of qualified leads reach the fit (ideal customer profile) threshold."""

    min_fit: int = 30
    target: float = Field(0.7, ge=0, le=1)


class SalesAcceptanceRule(_Rule):
    """No more than a share of qualified leads rejected by sales."""

    max_rejected: float = Field(0.2, ge=0, le=1)
    target: float = Field(0.8, ge=0, le=1, description="1 - max_rejected; not set directly")

    @model_validator(mode="before")
    @classmethod
    def _target_from_max_rejected(cls, data: Any) -> Any:
        """The target is the accepted share; a ``target`` of its own would be ignored."""
        if isinstance(data, dict):
            if "target" in data:
                raise ValueError("set max_rejected, not target (target is 1 - max_rejected)")
            data = {**data, "target": round(1 - float(data.get("max_rejected", 0.2)), 6)}
        return data


class QualifiedVolumeRule(_Rule):
    """Marketing delivers at least N qualified leads per period, overall and per team."""

    per_period: int = Field(50, ge=0)
    per_team: dict[str, int] = Field(default_factory=dict)


class SlaRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first_touch: FirstTouchRule = FirstTouchRule()
    touch_attempts: TouchAttemptsRule = TouchAttemptsRule()
    accept_reject: AcceptRejectRule = AcceptRejectRule()
    icp_fit: IcpFitRule = IcpFitRule()
    sales_acceptance: SalesAcceptanceRule = SalesAcceptanceRule()
    qualified_volume: QualifiedVolumeRule = QualifiedVolumeRule()

    def enabled(self) -> dict[str, _Rule]:
        return {name: getattr(self, name) for name in ALL_RULES if getattr(self, name).enabled}


class SlaSettings(BaseModel):
    """The ``sla:`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period: Literal["month", "week"] = Field("month", description="roll-up period")
    periods_checked: int = Field(
        2, ge=1, le=24, description="recent periods the checks validate (current + previous)"
    )
    calendar: CalendarSettings = CalendarSettings()
    teams: dict[str, CalendarSettings] = Field(
        default_factory=dict, description="per-team calendar overrides, by sales_reps.team"
    )
    rules: SlaRules = SlaRules()
    data_docs_dir: str | None = Field(
        ".leadflow/data-docs", description="fixed folder for GX Data Docs; null: none"
    )
    webhook_url: str | None = Field(None, description="Slack-compatible webhook for breaches")

    @field_validator("webhook_url", "data_docs_dir")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://", value):
            raise ValueError("must be an http(s) URL")
        return value

    def calendars(self, default_zone: str) -> tuple[BusinessCalendar, dict[str, BusinessCalendar]]:
        """The default calendar and one per configured team."""
        default = self.calendar.calendar(default_zone)
        teams = {
            team: overrides.over(self.calendar).calendar(default_zone)
            for team, overrides in self.teams.items()
        }
        return default, teams
