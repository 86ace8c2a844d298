"""Salesforce's sales side: Users (the reps) and the Tasks and Events on leads.

Docs followed (Object Reference):
- Task: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
  (``WhoId`` a Lead or a Contact; ``TaskSubtype`` Task, Email, ListEmail, Cadence, Call,
  LinkedIn; ``CallType`` Internal, Inbound, Outbound; ``ActivityDate`` a date only, due date)
- Event: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_event.htm
  (``ActivityDateTime`` the start of a timed event; ``ActivityDate`` of an all-day one)
- User: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm
  (``IsActive``; ``UserRoleId`` whose relationship ``UserRole.Name`` is the role's name)
- Key prefixes (``00Q`` Lead, ``003`` Contact):
  https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_concepts.htm
- Convert leads (activities move to the contact):
  https://help.salesforce.com/s/articleView?id=sf.leads_convert.htm

Decisions:
- A touch is a row per lead it touched: ``WhoId`` a Lead is that lead; ``WhoId`` a Contact
  is each lead converted into that contact (converting moves a lead's activities to its
  contact; one query per page finds them); any other ``WhoId`` (none, another contact) is
  no row.
- Type: an Event is a meeting; a Task is a call (``TaskSubtype`` Call), an email (Email,
  ListEmail), else no touch (a to-do is not a touch).
- ``occurred_at``: an Event's ``ActivityDateTime`` (an all-day event's ``ActivityDate`` at
  midnight UTC), else ``CreatedDate``; a Task's ``CreatedDate`` (its ``ActivityDate`` is a
  due date without a time, kept in ``raw``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from leadflow.connectors.base import LeadContext, Page, StartFor, Stream
from leadflow.connectors.salesforce.client import SalesforceClient, org_of
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.connectors.salesforce.errors import SOURCE
from leadflow.connectors.salesforce.extract import object_pages, query_pages
from leadflow.connectors.salesforce.leads import flag
from leadflow.connectors.salesforce.soql import (
    CURSOR_FIELD,
    IN_BATCH,
    ObjectSpec,
    ids_in,
    record_ids,
)
from leadflow.models.records.activity import SalesRep, SalesTouch
from leadflow.models.records.contact import clean_text, parse_timestamp
from leadflow.models.records.leads import InvalidRecord

LEAD_PREFIX, CONTACT_PREFIX = "00Q", "003"
USER_PARTITION = "User"
TASK_FIELDS = ("WhoId", "OwnerId", "TaskSubtype", "CallType", "Status", "ActivityDate",
               "CreatedDate")  # fmt: skip
EVENT_FIELDS = ("WhoId", "OwnerId", "ActivityDateTime", "ActivityDate", "CreatedDate")
TASK_TYPES = {"Call": "call", "Email": "email", "ListEmail": "email"}
DIRECTIONS = {"Outbound": "outbound", "Inbound": "inbound"}


# -- User -> SalesRep -------------------------------------------------------------------
def user_spec(config: SalesforceConfig) -> ObjectSpec:
    fields = ("Email", "FirstName", "LastName", "IsActive", "CreatedDate", config.rep_team_field)
    return ObjectSpec("User", tuple(dict.fromkeys(fields)), deletable=False)


def org_accounts(config: SalesforceConfig) -> list[str]:
    return [org_of(config)]


def touch_accounts(config: SalesforceConfig) -> list[str]:
    return [org_of(config)] if config.touch_objects else []


def user_pages(client: SalesforceClient, org: str, start_for: StartFor) -> Iterator[Page]:
    """Every user modified since the partition's start (``User``), each record carrying
    ``team``: the value at the configured ``rep_team_field``."""
    team_field = client.config.rep_team_field
    spec = user_spec(client.config)
    for page in object_pages(client, spec, USER_PARTITION, start_for(USER_PARTITION)):
        for record in page.records:
            record["team"] = path_value(record, team_field)
        yield page


def path_value(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted field path (``UserRole.Name``); None where a link is empty."""
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def record_key(record: Mapping[str, Any]) -> str | None:
    value = record.get("Id")
    return str(value) if value not in (None, "") else None


def rep_rows(record: Mapping[str, Any], context: LeadContext) -> list[SalesRep]:
    """One User as a SalesRep; ``team`` as ``user_pages`` read it."""
    key = record_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "Id", "missing")
    try:
        updated = parse_timestamp(record.get(CURSOR_FIELD) or record.get("CreatedDate"))
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, CURSOR_FIELD, str(error)) from None
    email = clean_text(record.get("Email"))
    return [
        SalesRep(
            source=SOURCE,
            rep_id=key,
            updated_at=updated,
            email=email.lower() if email else None,
            first_name=clean_text(record.get("FirstName")),
            last_name=clean_text(record.get("LastName")),
            team=clean_text(record.get("team")),
            archived=flag(record.get("IsActive")) is False,
            raw=dict(record),
        )
    ]


# -- Task, Event -> SalesTouch ------------------------------------------------------------
def touch_spec(object_name: str) -> ObjectSpec:
    return ObjectSpec(object_name, TASK_FIELDS if object_name == "Task" else EVENT_FIELDS)


def touch_pages(client: SalesforceClient, org: str, start_for: StartFor) -> Iterator[Page]:
    """Each configured activity object (its own partition) modified since its start, each
    record carrying ``lead_ids``: the leads it touched (module doc)."""
    for object_name in dict.fromkeys(client.config.touch_objects):
        for page in object_pages(
            client, touch_spec(object_name), object_name, start_for(object_name)
        ):
            attach_leads(client, page.records)
            yield page


def attach_leads(client: SalesforceClient, records: list[dict[str, Any]]) -> None:
    """Add ``lead_ids`` to each record: its Lead, or the leads converted into its Contact."""
    contacts = record_ids(r.get("WhoId") for r in records if _prefix(r) == CONTACT_PREFIX)
    converted = converted_leads(client, contacts)
    for record in records:
        who = str(record.get("WhoId") or "")
        if _prefix(record) == LEAD_PREFIX:
            record["lead_ids"] = [who]
        else:
            record["lead_ids"] = converted.get(who, [])


def converted_leads(client: SalesforceClient, contacts: list[str]) -> dict[str, list[str]]:
    """The leads converted into each contact (``ConvertedContactId``)."""
    found: dict[str, list[str]] = {}
    for begin in range(0, len(contacts), IN_BATCH):
        where = ids_in("ConvertedContactId", contacts[begin : begin + IN_BATCH])
        soql = f"SELECT Id, ConvertedContactId FROM Lead WHERE {where} ORDER BY Id"
        for fetched in query_pages(client, soql, "Lead"):
            for lead in fetched.reply.get("records") or []:
                found.setdefault(str(lead.get("ConvertedContactId")), []).append(str(lead["Id"]))
    return found


def _prefix(record: Mapping[str, Any]) -> str:
    return str(record.get("WhoId") or "")[:3]


def touch_key(record: Mapping[str, Any]) -> str | None:
    object_name = (record.get("attributes") or {}).get("type")
    key = record_key(record)
    return f"{object_name}:{key}" if key and object_name in ("Task", "Event") else None


def touch_type(record: Mapping[str, Any], object_name: str) -> str | None:
    if object_name == "Event":
        return "meeting"
    return TASK_TYPES.get(str(record.get("TaskSubtype") or ""))


def occurred_at(record: Mapping[str, Any], object_name: str) -> datetime:
    """When the touch happened (module doc); ValueError when no time is readable."""
    if object_name == "Event":
        if record.get("ActivityDateTime"):
            return parse_timestamp(record["ActivityDateTime"])
        if record.get("ActivityDate"):
            return parse_timestamp(f"{record['ActivityDate']}T00:00:00Z")
    return parse_timestamp(record.get("CreatedDate"))


def touch_rows(record: Mapping[str, Any], context: LeadContext) -> list[SalesTouch]:
    """One SalesTouch per lead touched; no rows for a to-do or a touch on no lead."""
    key = touch_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, record_key(record), "Id", "missing Id or attributes.type")
    object_name = key.split(":", 1)[0]
    kind = touch_type(record, object_name)
    found = record.get("lead_ids") or []
    if not isinstance(found, list):
        raise InvalidRecord(SOURCE, key, "lead_ids", "not a list of lead ids")
    leads = [str(lead) for lead in found if lead]
    if kind is None or not leads:
        return []
    try:
        occurred = occurred_at(record, object_name)
        updated = parse_timestamp(record.get(CURSOR_FIELD))
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, "CreatedDate", str(error)) from None
    common = {
        "source": SOURCE, "touch_id": key, "touch_type": kind, "occurred_at": occurred,
        "updated_at": updated, "owner_id": clean_text(record.get("OwnerId")),
        "direction": DIRECTIONS.get(str(record.get("CallType") or "")),
        "outcome": clean_text(record.get("Status")) if object_name == "Task" else None,
        "raw": dict(record),
    }  # fmt: skip
    return [SalesTouch(lead_id=lead, **common) for lead in leads]


REPS_STREAM = Stream(
    name="sales_reps",
    accounts=org_accounts,
    pages=user_pages,
    to_rows=rep_rows,
    record_key=record_key,
)
TOUCHES_STREAM = Stream(
    name="sales_touches",
    accounts=touch_accounts,
    pages=touch_pages,
    to_rows=touch_rows,
    record_key=touch_key,
)
