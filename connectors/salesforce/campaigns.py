"""The campaign a Salesforce lead came from: its first CampaignMember.

Docs followed:
- CampaignMember: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_campaignmember.htm
  (``LeadId``, ``CampaignId``, relationship ``Campaign``, ``CreatedDate``; a lead may be a
  member of several campaigns)
- Relationship fields in SOQL (``Campaign.Name``):
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_using.htm

Decisions: the earliest membership is the lead's campaign (first touch: the campaign that
brought the lead in); one query per ``IN_BATCH`` leads of a page. A membership added after
the lead's last change is seen when the lead next changes (adding a member does not move the
lead's ``SystemModstamp``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadflow.connectors.salesforce.client import SalesforceClient
from leadflow.connectors.salesforce.extract import query_pages
from leadflow.connectors.salesforce.soql import IN_BATCH, ids_in, record_ids

CAMPAIGN_KEY = "campaign"  # where a lead record carries its campaign: {"Id", "Name"}


def first_campaigns(client: SalesforceClient, lead_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each lead's earliest campaign membership, as ``{"Id", "Name"}`` of the campaign."""
    found: dict[str, dict[str, Any]] = {}
    for begin in range(0, len(lead_ids), IN_BATCH):
        soql = (
            "SELECT LeadId, CampaignId, Campaign.Name, CreatedDate FROM CampaignMember "
            f"WHERE {ids_in('LeadId', lead_ids[begin : begin + IN_BATCH])} "
            "ORDER BY CreatedDate ASC, Id ASC"
        )
        for fetched in query_pages(client, soql, "CampaignMember"):
            for member in fetched.reply.get("records") or []:
                lead = str(member.get("LeadId"))
                campaign = member.get("Campaign")
                name = campaign.get("Name") if isinstance(campaign, Mapping) else None
                found.setdefault(lead, {"Id": member.get("CampaignId"), "Name": name})
    return found


def attach_campaigns(client: SalesforceClient, records: list[dict[str, Any]]) -> None:
    """Add ``campaign`` (``{"Id", "Name"}`` or None) to each lead record of a page."""
    ids = record_ids(record.get("Id") for record in records)
    campaigns = first_campaigns(client, ids) if ids else {}
    for record in records:
        record[CAMPAIGN_KEY] = campaigns.get(str(record.get("Id")))
