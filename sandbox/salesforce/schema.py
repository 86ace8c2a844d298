"""The objects and fields the sandbox org has: the standard objects' fields that a lead sync
reads, with their SOAP types.

Fields as the Object Reference lists them:
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm
(Lead; Status picklist defaults 'Open - Not Contacted', 'Working - Contacted', 'Closed -
Converted', 'Closed - Not Converted'), .../sforce_api_objects_contact.htm,
.../sforce_api_objects_task.htm (TaskSubtype Call/Email/Task..., CallType Inbound/Outbound/
Internal), .../sforce_api_objects_event.htm, .../sforce_api_objects_user.htm,
.../sforce_api_objects_userrole.htm, .../sforce_api_objects_campaign.htm,
.../sforce_api_objects_campaignmember.htm and
.../sforce_api_objects_leadhistory.htm (Field, OldValue, NewValue, CreatedDate, CreatedById;
history rows have no SystemModstamp and cannot be updated).

A reference field (``OwnerId``) has a relationship name (``Owner``) that a query follows with
a dot (``Owner.Name``), https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_understanding.htm.
"""

from __future__ import annotations

ID, STRING, BOOLEAN, DATETIME, DATE, NUMBER, REFERENCE, ANY = (
    "id",
    "string",
    "boolean",
    "datetime",
    "date",
    "number",
    "reference",
    "anyType",
)

_AUDIT = {
    "CreatedDate": DATETIME,
    "CreatedById": REFERENCE,
    "LastModifiedDate": DATETIME,
    "LastModifiedById": REFERENCE,
    "SystemModstamp": DATETIME,
    "IsDeleted": BOOLEAN,
}
_PERSON = {
    "FirstName": STRING,
    "LastName": STRING,
    "Name": STRING,
    "Email": STRING,
    "Phone": STRING,
    "Title": STRING,
}

FIELDS: dict[str, dict[str, str]] = {
    "Lead": {
        "Id": ID,
        **_PERSON,
        "Company": STRING,
        "Country": STRING,
        "City": STRING,
        "Status": STRING,
        "IsConverted": BOOLEAN,
        "ConvertedDate": DATE,
        "ConvertedContactId": REFERENCE,
        "OwnerId": REFERENCE,
        "LeadSource": STRING,
        # Custom text fields the org's admin created for leadflow's write-back.
        "Leadflow_Stage__c": STRING,
        "Leadflow_Fit_Score__c": STRING,
        "Leadflow_Engagement_Score__c": STRING,
        "Leadflow_Reasons__c": STRING,
        **_AUDIT,
    },
    "Contact": {
        "Id": ID,
        **_PERSON,
        "MailingCountry": STRING,
        "MailingCity": STRING,
        "OwnerId": REFERENCE,
        "LeadSource": STRING,
        **_AUDIT,
    },
    "Task": {
        "Id": ID,
        "WhoId": REFERENCE,
        "WhatId": REFERENCE,
        "OwnerId": REFERENCE,
        "Subject": STRING,
        "TaskSubtype": STRING,
        "CallType": STRING,
        "ActivityDate": DATE,
        "Status": STRING,
        "Priority": STRING,
        "Description": STRING,
        "IsClosed": BOOLEAN,
        **_AUDIT,
    },
    "Event": {
        "Id": ID,
        "WhoId": REFERENCE,
        "WhatId": REFERENCE,
        "OwnerId": REFERENCE,
        "Subject": STRING,
        "StartDateTime": DATETIME,
        "EndDateTime": DATETIME,
        "ActivityDateTime": DATETIME,
        "ActivityDate": DATE,
        "DurationInMinutes": NUMBER,
        **_AUDIT,
    },
    "User": {
        "Id": ID,
        "Username": STRING,
        "FirstName": STRING,
        "LastName": STRING,
        "Name": STRING,
        "Email": STRING,
        "IsActive": BOOLEAN,
        "UserRoleId": REFERENCE,
        "TimeZoneSidKey": STRING,
        "CreatedDate": DATETIME,
        "SystemModstamp": DATETIME,
    },
    "UserRole": {
        "Id": ID,
        "Name": STRING,
        "DeveloperName": STRING,
        "ParentRoleId": REFERENCE,
        "SystemModstamp": DATETIME,
    },
    "LeadHistory": {
        "Id": ID,
        "LeadId": REFERENCE,
        "Field": STRING,
        "OldValue": ANY,
        "NewValue": ANY,
        "CreatedDate": DATETIME,
        "CreatedById": REFERENCE,
        "IsDeleted": BOOLEAN,
    },
    "Campaign": {
        "Id": ID,
        "Name": STRING,
        "Type": STRING,
        "Status": STRING,
        "IsActive": BOOLEAN,
        "StartDate": DATE,
        "OwnerId": REFERENCE,
        **_AUDIT,
    },
    "CampaignMember": {
        "Id": ID,
        "CampaignId": REFERENCE,
        "LeadId": REFERENCE,
        "ContactId": REFERENCE,
        "Status": STRING,
        "HasResponded": BOOLEAN,
        **_AUDIT,
    },
}

# reference field -> (relationship name, objects it may point to)
REFERENCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "OwnerId": ("Owner", ("User",)),
    "CreatedById": ("CreatedBy", ("User",)),
    "LastModifiedById": ("LastModifiedBy", ("User",)),
    "UserRoleId": ("UserRole", ("UserRole",)),
    "ParentRoleId": ("ParentRole", ("UserRole",)),
    "WhoId": ("Who", ("Lead", "Contact")),
    "WhatId": ("What", ("Campaign",)),
    "LeadId": ("Lead", ("Lead",)),
    "ContactId": ("Contact", ("Contact",)),
    "CampaignId": ("Campaign", ("Campaign",)),
    "ConvertedContactId": ("ConvertedContact", ("Contact",)),
}
# Fields of a polymorphic relationship (Who, What): the Name object's fields.
NAME_FIELDS = {"Id": ID, "Name": STRING, "Type": STRING}
READ_ONLY = frozenset(
    {
        "Id",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "IsDeleted",
        "Name",
        "IsClosed",
    }
)


def field_names(object_name: str) -> dict[str, str]:
    """``{canonical name: type}`` of an object's fields."""
    return FIELDS[object_name]


def find_field(object_name: str, name: str) -> str | None:
    """The canonical spelling of a field (SOQL names are case-insensitive), or None."""
    lowered = name.lower()
    return next((field for field in FIELDS[object_name] if field.lower() == lowered), None)


def find_object(name: str) -> str | None:
    lowered = name.lower()
    return next((obj for obj in FIELDS if obj.lower() == lowered), None)


def relationship(object_name: str, name: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(reference field, relationship name, target objects) for a relationship of an object."""
    lowered = name.lower()
    for field, (rel, targets) in REFERENCES.items():
        if rel.lower() == lowered and field in FIELDS[object_name]:
            return field, rel, targets
    return None
