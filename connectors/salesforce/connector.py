"""Salesforce Leads, incrementally on ``SystemModstamp``; Tasks, Events, Users and the
Status history (``LeadHistory``) too.

Docs followed:
- REST API query: https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md
- Bulk API 2.0 query: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm
- OAuth (JWT bearer, refresh token): connectors/salesforce/auth.py
- The Lead object: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm

How an object is read (windows, ties, deleted rows, Bulk jobs) is
connectors/salesforce/extract.py; the mapping of a Lead, connectors/salesforce/leads.py;
reps and touches, connectors/salesforce/sales.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from leadflow.connectors.base import Connector, Page, StartFor
from leadflow.connectors.salesforce.campaigns import attach_campaigns
from leadflow.connectors.salesforce.client import SalesforceClient, open_session, org_of
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.connectors.salesforce.errors import SOURCE
from leadflow.connectors.salesforce.extract import object_pages
from leadflow.connectors.salesforce.history import HISTORY_STREAM
from leadflow.connectors.salesforce.leads import lead_spec, record_key, to_lead
from leadflow.connectors.salesforce.sales import REPS_STREAM, TOUCHES_STREAM

__all__ = ["CONNECTOR", "SalesforceConfig", "accounts", "pages"]


def accounts(config: SalesforceConfig) -> list[str]:
    """One org per configured source: ``org_id``, else the token's."""
    return [org_of(config)]


def pages(client: SalesforceClient, org: str, start_for: StartFor) -> Iterator[Page]:
    """Every Lead modified at or after the org's start, ``SystemModstamp`` ascending, each
    carrying its first campaign (``lead_campaigns``)."""
    for page in object_pages(client, lead_spec(client.config), org, start_for(org)):
        if client.config.lead_campaigns:
            attach_campaigns(client, page.records)
        yield page


CONNECTOR = Connector(
    name=SOURCE,
    config_class=SalesforceConfig,
    open=open_session,
    accounts=accounts,
    pages=pages,
    to_lead=to_lead,
    record_key=record_key,
    doc_url="https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md",
    streams=(REPS_STREAM, TOUCHES_STREAM, HISTORY_STREAM),
)
