"""A ``prefect deploy`` build step: what prefect.yaml needs from leadflow's configuration.

prefect.yaml cannot read the configuration file itself, yet its schedules run in the
business time zone and business hours the file names, and runs need the file's path.
This step (listed under ``build:``, id ``leadflow``) returns them, plus the project
folder for the pull step: ``{{ leadflow.config_path }}``, ``{{ leadflow.timezone }}``,
``{{ leadflow.business_hours_cron }}``, ``{{ leadflow.business_hours_timezone }}`` and
``{{ leadflow.directory }}``. Only ``timezone`` and ``sla.calendar`` are read from the
file, so deploying needs none of the tokens the file refers to.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ValidationError

from leadflow.config.settings import ConfigError, interpolate
from leadflow.config.settings import config_path as chosen_config
from leadflow.models.sla.clock import BusinessCalendar
from leadflow.models.sla.config import CalendarSettings

PROJECT_DIR = Path(__file__).resolve().parents[1]


def leadflow_settings(config_path: str | None = None) -> dict[str, str | None]:
    """The chosen configuration file (a Prefect variable, else ``LEADFLOW_CONFIG``), its
    business time zone and hours (UTC, 09:00-17:00 Monday to Friday without a file) and
    the project folder."""
    chosen = chosen_config(config_path or None)
    raw = _read(chosen) if chosen is not None else {}
    timezone = _zone(interpolate(raw.get("timezone", "UTC"), os.environ, "timezone"), chosen)
    calendar = business_calendar(raw, timezone, chosen)
    return {
        "config_path": str(chosen.resolve()) if chosen is not None else None,
        "timezone": timezone,
        "business_hours_cron": every_ten_minutes_open(calendar),
        "business_hours_timezone": calendar.timezone,
        "directory": str(PROJECT_DIR),
    }


def every_ten_minutes_open(calendar: BusinessCalendar) -> str:
    """A cron for every 10 minutes while the business is open (holidays aside):
    09:00-17:00 on Monday to Friday gives ``*/10 9-16 * * 1-5``."""
    last = calendar.closes.hour if calendar.closes.minute else calendar.closes.hour - 1
    hours = f"{calendar.opens.hour}-{max(last, calendar.opens.hour)}"
    days = ",".join(str(d) for d in sorted((day + 1) % 7 for day in calendar.workdays))  # 0=Sun
    return f"*/10 {hours} * * {days}"


def business_calendar(raw: dict[str, Any], timezone: str, origin: Path | None) -> BusinessCalendar:
    """``sla.calendar`` of the raw configuration, checked (defaults when absent)."""
    section = (raw.get("sla") or {}).get("calendar") or {}
    try:
        settings = CalendarSettings.model_validate(interpolate(section, os.environ, "calendar"))
    except ValidationError:
        raise ConfigError(f"{origin}: sla.calendar: invalid (see leadflow.example.yaml)") from None
    calendar = settings.calendar(timezone)
    _zone(calendar.timezone, origin)
    return calendar


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the configuration file ({error})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return raw


def _zone(name: Any, origin: Path | None) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"{origin}: timezone: not an IANA time zone name") from None
    return name
