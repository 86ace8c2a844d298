"""Which configured sources a run syncs: the nightly sync's, and speed to lead's."""

from __future__ import annotations

from collections.abc import Collection

from leadflow.config.settings import Settings
from leadflow.connectors.base import SourceConfig

# Speed to lead: only the fast-moving parts, lead forms, the CRM's sales touches and its
# status changes (the accept/reject SLA's decisions).
FAST_SOURCE_TYPES = ("hubspot", "salesforce", "meta", "google_ads", "linkedin")
FAST_PARTS = ("leads", "sales_touches", "crm_status_changes")


def choose_sources(
    settings: Settings, names: Collection[str] | None = None
) -> dict[str, SourceConfig]:
    """The enabled sources, or the named ones; a name that is not configured is an error."""
    if names:
        unknown = sorted(set(names) - set(settings.sources))
        if unknown:
            known = ", ".join(sorted(settings.sources)) or "none"
            raise ValueError(f"unknown source {', '.join(unknown)} (configured: {known})")
    enabled = settings.enabled_sources()
    return {name: source for name, source in enabled.items() if not names or name in names}


def fast_sources(
    settings: Settings, names: Collection[str] | None = None
) -> dict[str, SourceConfig]:
    """The named sources, or every enabled source of a fast-moving platform."""
    chosen = choose_sources(settings, names)
    if names:
        return chosen
    return {name: source for name, source in chosen.items() if source.type in FAST_SOURCE_TYPES}
