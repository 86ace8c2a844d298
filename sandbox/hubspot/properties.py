"""Object types and property definitions of the HubSpot sandbox (``GET /crm/v3/properties``).

Sources:
* https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/get-properties
  (``{"results": [{name, label, type, fieldType, groupName, options, displayOrder,
  hasUniqueValue, hidden, hubspotDefined, modificationMetadata{archivable,
  readOnlyDefinition, readOnlyValue, readOnlyOptions}, formField, ...}]}``, no paging)
* https://developers.hubspot.com/docs/api-reference/search/guide ("Default returned
  properties": contacts ``createdate, email, firstname, hs_object_id, lastmodifieddate,
  lastname``; calls/emails/meetings ``hs_createdate, hs_lastmodifieddate, hs_object_id``)
* https://developers.hubspot.com/docs/api/crm/calls (``hs_call_disposition`` holds outcome
  GUIDs; the six default outcomes below), .../emails (``hs_email_direction`` EMAIL,
  INCOMING_EMAIL, FORWARDED_EMAIL; ``hs_email_status`` BOUNCED, FAILED, SCHEDULED, SENDING,
  SENT), .../meetings (``hs_meeting_outcome``: scheduled, completed, rescheduled, no show,
  canceled; internal values SCHEDULED, COMPLETED, RESCHEDULED, NO_SHOW, CANCELED)
* https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/object-definition
  (object type ids: contacts 0-1, meetings 0-47, calls 0-48, emails 0-49)

``company_size`` and ``preferred_demo_date`` are this portal's custom contact properties
(no ``hubspotDefined``, archivable). Dates (``type: date``) hold ``YYYY-MM-DD`` values.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from leadflow.sandbox.hubspot.search import DEFAULT_PROPERTIES, QUERY_PROPERTIES

CALL_DISPOSITIONS: dict[str, str] = {
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "Left live message",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "17b47fee-58de-441e-a44c-c6300d46f273": "Wrong number",
}
CALL_STATUSES = ("BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING", "FAILED",
                 "IN_PROGRESS", "NO_ANSWER", "QUEUED", "RINGING")  # fmt: skip
EMAIL_DIRECTIONS = {"EMAIL": "Sent", "INCOMING_EMAIL": "Reply", "FORWARDED_EMAIL": "Forwarded"}
EMAIL_STATUSES = ("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT")
MEETING_OUTCOMES = {
    "SCHEDULED": "Scheduled", "COMPLETED": "Completed", "RESCHEDULED": "Rescheduled",
    "NO_SHOW": "No show", "CANCELED": "Canceled",
}  # fmt: skip
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1001+")
LIFECYCLE_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                    "opportunity", "customer", "evangelist", "other")  # fmt: skip
LEAD_STATUSES = ("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED",
                 "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING")  # fmt: skip
SOURCES = ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS",
           "OTHER_CAMPAIGNS", "DIRECT_TRAFFIC", "OFFLINE", "PAID_SOCIAL")  # fmt: skip
ENGAGEMENT_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
DEFINED_AT = "2019-08-06T02:41:52.264Z"
CUSTOM_AT = "2025-06-02T09:15:00.000Z"


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type: its names, id and timestamp/default properties."""

    name: str
    singular: str
    type_id: str
    created: str
    modified: str
    default_properties: tuple[str, ...]
    query_properties: tuple[str, ...]

    @property
    def always_returned(self) -> tuple[str, ...]:
        return tuple(sorted({self.created, self.modified, "hs_object_id"}))


CONTACTS = ObjectType("contacts", "contact", "0-1", "createdate", "lastmodifieddate",
                      DEFAULT_PROPERTIES, QUERY_PROPERTIES)  # fmt: skip
CALLS = ObjectType("calls", "call", "0-48", "hs_createdate", "hs_lastmodifieddate",
                   ENGAGEMENT_DEFAULTS, ("hs_call_title", "hs_call_body"))  # fmt: skip
EMAILS = ObjectType("emails", "email", "0-49", "hs_createdate", "hs_lastmodifieddate",
                    ENGAGEMENT_DEFAULTS, ("hs_email_subject", "hs_email_text"))  # fmt: skip
MEETINGS = ObjectType("meetings", "meeting", "0-47", "hs_createdate", "hs_lastmodifieddate",
                      ENGAGEMENT_DEFAULTS, ("hs_meeting_title", "hs_meeting_body"))  # fmt: skip
OBJECT_TYPES = {t.name: t for t in (CONTACTS, CALLS, EMAILS, MEETINGS)}
ENGAGEMENT_TYPES = ("calls", "emails", "meetings")


def resolve_object_type(raw: str) -> ObjectType | None:
    """An object type from its plural or singular name or its id (``contacts``, ``0-1``)."""
    wanted = raw.strip().lower()
    for kind in OBJECT_TYPES.values():
        if wanted in (kind.name, kind.singular, kind.type_id):
            return kind
    return None


def _options(values: dict[str, str] | tuple[str, ...]) -> list[dict[str, Any]]:
    pairs = values.items() if isinstance(values, dict) else ((v, v.title()) for v in values)
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False, "description": ""}
        for i, (value, label) in enumerate(pairs)
    ]


def _prop(
    name: str,
    label: str,
    kind: str = "string",
    field: str = "text",
    group: str = "contactinformation",
    *,
    options: dict[str, str] | tuple[str, ...] = (),
    read_only: bool = False,
    custom: bool = False,
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": name, "label": label, "type": kind, "fieldType": field, "description": "",
        "groupName": group, "options": _options(options), "displayOrder": -1,
        "calculated": False, "externalOptions": False, "hasUniqueValue": False,
        "hidden": False, "formField": not read_only,
        "modificationMetadata": {"archivable": custom, "readOnlyDefinition": not custom,
                                 "readOnlyValue": read_only, "readOnlyOptions": not custom},
        "createdAt": CUSTOM_AT if custom else DEFINED_AT,
        "updatedAt": CUSTOM_AT if custom else DEFINED_AT, "archived": False,
    }  # fmt: skip
    if not custom:
        definition["hubspotDefined"] = True
    return definition


# (name, label, kind, groupName or "" for the object's default group, options, flags):
# kind is a key of _KINDS; flags "r" = read-only value, "c" = custom property
Row = tuple[str, str, str, str, Any, str]
_KINDS = {
    "text": ("string", "text"), "html": ("string", "html"), "area": ("string", "textarea"),
    "number": ("number", "number"), "datetime": ("datetime", "date"), "date": ("date", "date"),
    "select": ("enumeration", "select"), "radio": ("enumeration", "radio"),
    "checkbox": ("enumeration", "checkbox"),
}  # fmt: skip
_TIMESTAMPS: tuple[Row, ...] = (
    ("hs_object_id", "Record ID", "number", "", (), "r"),
    ("hubspot_owner_id", "Activity assigned to", "select", "", (), ""),
    ("hs_timestamp", "Activity date", "datetime", "", (), ""),
    ("hs_createdate", "Create date", "datetime", "", (), "r"),
    ("hs_lastmodifieddate", "Last modified date", "datetime", "", (), "r"),
)
_SALES, _SOURCE = "sales_properties", "analyticsinformation"
_DIRECTIONS = {"INBOUND": "Inbound", "OUTBOUND": "Outbound"}
_ROWS: dict[str, tuple[Row, ...]] = {
    "contacts": (
        *((name, label, "text", "", (), "") for name, label in (
            ("email", "Email"), ("firstname", "First name"), ("lastname", "Last name"),
            ("phone", "Phone number"), ("mobilephone", "Mobile phone number"),
            ("fax", "Fax number"), ("company", "Company name"), ("jobtitle", "Job title"),
            ("country", "Country/Region"), ("city", "City"),
            ("hs_additional_emails", "Additional email addresses"))),
        ("hs_object_id", "Record ID", "number", "", (), "r"),
        ("createdate", "Create date", "datetime", "", (), "r"),
        ("lastmodifieddate", "Last modified date", "datetime", "", (), "r"),
        ("lifecyclestage", "Lifecycle stage", "radio", "", LIFECYCLE_STAGES, ""),
        ("hs_lead_status", "Lead status", "radio", _SALES, LEAD_STATUSES, ""),
        ("hubspot_owner_id", "Contact owner", "select", _SALES, (), ""),
        ("hubspot_owner_assigneddate", "Owner assigned date", "datetime", _SALES, (), "r"),
        ("hs_analytics_source", "Original source", "select", _SOURCE, SOURCES, "r"),
        ("hs_analytics_source_data_1", "Original source drill-down 1", "text", _SOURCE, (), "r"),
        ("hs_analytics_source_data_2", "Original source drill-down 2", "text", _SOURCE, (), "r"),
        ("hs_merged_object_ids", "Merged record IDs", "checkbox", "", (), "r"),
        ("hs_legal_basis", "Legal basis for processing contact's data", "checkbox", "", (), ""),
        ("company_size", "Company size", "select", "", COMPANY_SIZES, "c"),
        ("preferred_demo_date", "Preferred demo date", "date", "", (), "c"),
    ),
    "calls": (
        *_TIMESTAMPS,
        ("hs_call_title", "Call title", "text", "", (), ""),
        ("hs_call_body", "Call notes", "html", "", (), ""),
        ("hs_call_direction", "Call direction", "select", "", _DIRECTIONS, ""),
        ("hs_call_disposition", "Call outcome", "select", "", CALL_DISPOSITIONS, ""),
        ("hs_call_status", "Call status", "select", "", CALL_STATUSES, ""),
        ("hs_call_duration", "Call duration", "number", "", (), ""),
    ),
    "emails": (
        *_TIMESTAMPS,
        ("hs_email_subject", "Email subject", "text", "", (), ""),
        ("hs_email_text", "Email body", "area", "", (), ""),
        ("hs_email_direction", "Email direction", "select", "", EMAIL_DIRECTIONS, ""),
        ("hs_email_status", "Email send status", "select", "", EMAIL_STATUSES, ""),
    ),
    "meetings": (
        *_TIMESTAMPS,
        ("hs_meeting_title", "Meeting name", "text", "", (), ""),
        ("hs_meeting_body", "Meeting description", "area", "", (), ""),
        ("hs_meeting_start_time", "Meeting start time", "datetime", "", (), ""),
        ("hs_meeting_end_time", "Meeting end time", "datetime", "", (), ""),
        ("hs_meeting_outcome", "Meeting outcome", "select", "", MEETING_OUTCOMES, ""),
    ),
}  # fmt: skip
_DEFAULT_GROUPS = {"contacts": "contactinformation", "calls": "call", "emails": "email",
                   "meetings": "meeting"}  # fmt: skip


def _definition(row: Row, object_type: str) -> dict[str, Any]:
    name, label, kind, group, options, flags = row
    data_type, field_type = _KINDS[kind]
    return _prop(
        name, label, data_type, field_type, group or _DEFAULT_GROUPS[object_type],
        options=options, read_only="r" in flags, custom="c" in flags,
    )  # fmt: skip


CATALOGUE: dict[str, list[dict[str, Any]]] = {
    object_type: [_definition(row, object_type) for row in rows]
    for object_type, rows in _ROWS.items()
}


def property_names(object_type: str) -> frozenset[str]:
    return frozenset(p["name"] for p in CATALOGUE[object_type])


def property_definitions(object_type: str, owners: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the definitions; ``hubspot_owner_id`` lists the active owners as options."""
    active = [o for o in owners if not o.get("archived")]
    owner_options = {o["id"]: f"{o['firstName']} {o['lastName']}".strip() for o in active}
    definitions = copy.deepcopy(CATALOGUE[object_type])
    for definition in definitions:
        if definition["name"] == "hubspot_owner_id":
            definition.update(options=_options(owner_options), externalOptions=True,
                              referencedObjectType="OWNER")  # fmt: skip
    return definitions
