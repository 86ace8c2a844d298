"""Every platform connector by source type: the ``type:`` of a configured source."""

from __future__ import annotations

from leadflow.connectors.base import Connector
from leadflow.connectors.google_ads import connector as google_ads
from leadflow.connectors.hubspot import connector as hubspot
from leadflow.connectors.linkedin import connector as linkedin
from leadflow.connectors.mailchimp import connector as mailchimp
from leadflow.connectors.meta import connector as meta
from leadflow.connectors.salesforce import connector as salesforce

REGISTRY: dict[str, Connector] = {
    connector.name: connector
    for connector in (
        hubspot.CONNECTOR,
        meta.CONNECTOR,
        google_ads.CONNECTOR,
        linkedin.CONNECTOR,
        mailchimp.CONNECTOR,
        salesforce.CONNECTOR,
    )
}
