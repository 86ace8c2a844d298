"""Salesforce's record of sales' decisions: ``LeadHistory`` rows of ``Status`` and conversion.

Docs followed:
- LeadHistory: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_leadhistory.htm
  (``LeadId``, ``Field``, ``OldValue``, ``NewValue``, ``CreatedDate``, ``CreatedById``; a
  history row is never updated, so it has no ``SystemModstamp``: the window is on
  ``CreatedDate``; rows exist only for fields with history tracking on, and conversion is
  the ``Field`` value ``leadConverted``)
- Field history tracking: https://help.salesforce.com/s/articleView?id=sf.tracking_field_history.htm

Each row becomes one ``crm_status_changes`` row (``StatusChange``): the change's id, the
lead, the field (``Status``; ``leadConverted`` as ``IsConverted`` changed to ``true``), the
values before and after, when, and the user who made it (``changed_by``: a User id, the
same ids as ``sales_reps`` and the leads' owners). Which values are decisions is the
classification rules' (``sales.decision_statuses``). A lead whose Status has no tracked
history still gets its decision from the lead's current Status.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from leadflow.connectors.base import LeadContext, Page, StartFor, Stream
from leadflow.connectors.salesforce.client import SalesforceClient, org_of
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.connectors.salesforce.errors import SOURCE
from leadflow.connectors.salesforce.extract import object_pages
from leadflow.connectors.salesforce.sales import record_key as history_key
from leadflow.connectors.salesforce.soql import ObjectSpec
from leadflow.models.records.activity import StatusChange
from leadflow.models.records.contact import clean_text, parse_timestamp
from leadflow.models.records.leads import InvalidRecord

STREAM_NAME = "crm_status_changes"
HISTORY = ObjectSpec(
    "LeadHistory",
    ("LeadId", "Field", "OldValue", "NewValue", "CreatedDate", "CreatedById"),
    cursor="CreatedDate",
    where="Field IN ('Status', 'leadConverted')",
)
CONVERTED = "leadConverted"


def history_accounts(config: SalesforceConfig) -> list[str]:
    """One org (``streams: {crm_status_changes: false}`` turns it off)."""
    return [org_of(config)]


def history_pages(client: SalesforceClient, org: str, start_for: StartFor) -> Iterator[Page]:
    """Every Status and conversion history row created at or after the org's start."""
    yield from object_pages(client, HISTORY, org, start_for(org))


def _text(value: Any) -> str | None:
    """A history value as text (a picklist's label, a boolean's ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean_text(value)


def change_rows(record: Mapping[str, Any], context: LeadContext) -> list[StatusChange]:
    """One history row as a ``StatusChange``."""
    key, lead = history_key(record), clean_text(record.get("LeadId"))
    if key is None or lead is None:
        raise InvalidRecord(SOURCE, key, "LeadId", "a history row without its id or lead")
    try:
        at = parse_timestamp(record.get("CreatedDate"))
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, "CreatedDate", str(error)) from None
    field = str(record.get("Field") or "")
    converted = field == CONVERTED
    return [
        StatusChange(
            source=SOURCE,
            change_id=key,
            lead_id=lead,
            field="IsConverted" if converted else field,
            occurred_at=at,
            updated_at=at,
            new_value="true" if converted else _text(record.get("NewValue")),
            old_value="false" if converted else _text(record.get("OldValue")),
            changed_by=clean_text(record.get("CreatedById")),
            raw={k: v for k, v in record.items() if k != "attributes"},
        )
    ]


HISTORY_STREAM = Stream(
    name=STREAM_NAME,
    accounts=history_accounts,
    pages=history_pages,
    to_rows=change_rows,
    record_key=history_key,
)
