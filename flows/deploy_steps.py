"""A ``prefect deploy`` build step: what prefect.yaml needs from leadflow's configuration.

prefect.yaml cannot read the configuration file itself, yet its schedules run in the
business time zone the file names, and runs need the file's path. This step (listed
under ``build:``, id ``leadflow``) returns them, plus the project folder for the pull
step, as ``{{ leadflow.timezone }}``, ``{{ leadflow.config_path }}`` and
``{{ leadflow.directory }}``. Only ``timezone`` is read from the file, so deploying needs
none of the tokens the file refers to.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from flows.config import ConfigError, interpolate
from flows.config import config_path as chosen_config

PROJECT_DIR = Path(__file__).resolve().parents[1]


def leadflow_settings(config_path: str | None = None) -> dict[str, str | None]:
    """The chosen configuration file (a Prefect variable, else ``LEADFLOW_CONFIG``), its
    business time zone (UTC without a file) and the project folder."""
    chosen = chosen_config(config_path or None)
    timezone = business_timezone(chosen) if chosen is not None else "UTC"
    return {
        "config_path": str(chosen.resolve()) if chosen is not None else None,
        "timezone": timezone,
        "directory": str(PROJECT_DIR),
    }


def business_timezone(path: Path) -> str:
    """The ``timezone`` key of the configuration file at ``path``, checked."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the configuration file ({error})") from None
    zone = interpolate(raw.get("timezone", "UTC"), os.environ, "timezone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"{path}: timezone: not an IANA time zone name") from None
    return zone
