"""Platform connectors: each a ``Connector`` value (spec + ``to_lead``), by source type."""

from __future__ import annotations

from connectors import google_ads, hubspot, linkedin, mailchimp, meta
from connectors.base import AdPlatformConfig, Connector, LeadContext, Page, SourceConfig

REGISTRY: dict[str, Connector] = {
    connector.name: connector
    for connector in (
        hubspot.CONNECTOR,
        meta.CONNECTOR,
        google_ads.CONNECTOR,
        linkedin.CONNECTOR,
        mailchimp.CONNECTOR,
    )
}

__all__ = ["REGISTRY", "AdPlatformConfig", "Connector", "LeadContext", "Page", "SourceConfig"]
