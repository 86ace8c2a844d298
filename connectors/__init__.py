"""Platform connectors: each a ``Connector`` value (spec + ``to_lead``), by source type."""

from __future__ import annotations

from connectors import hubspot
from connectors.base import Connector, LeadContext, Page, SourceConfig

REGISTRY: dict[str, Connector] = {
    hubspot.CONNECTOR.name: hubspot.CONNECTOR,
}

OPENERS = {
    hubspot.CONNECTOR.name: hubspot.open_session,
}

__all__ = ["OPENERS", "REGISTRY", "Connector", "LeadContext", "Page", "SourceConfig"]
