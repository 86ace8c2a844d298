"""What happened to each seeded lead: status history, tasks, events, conversions, campaigns.

Each lead walks the default status path: created 'Open - Not Contacted' (a LeadHistory row with
``Field`` 'created'), then at its first touch 'Working - Contacted', then 'Closed - Converted'
(a Contact, ``ConvertedDate``) or 'Closed - Not Converted', each change a LeadHistory row
(``Field`` 'Status', ``OldValue``, ``NewValue``) at the time the Lead's ``Status`` took that
value, so the history and ``Lead.Status`` agree; nothing happens after the anchor.
Touches are Tasks (``TaskSubtype`` Call with ``CallType`` Outbound, Email or Task) and, for
leads that got as far as a meeting, Events (``StartDateTime`` = ``ActivityDateTime``). As
Salesforce does on conversion, a converted lead's activities are re-parented to its contact
(``WhoId`` = ``ConvertedContactId``). Half the leads came from a campaign (a CampaignMember
with ``LeadId`` and, once converted, ``ContactId``). A deleted lead's activities, members and
history are deleted with it.

Sources: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_leadhistory.htm,
.../sforce_api_objects_task.htm, .../sforce_api_objects_event.htm,
.../sforce_api_objects_campaignmember.htm, and convertLead()
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_convertlead.htm;
IsConverted, ConvertedDate without a time, ConvertedContactId:
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_standard_objects_lead_conversion.htm).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from leadflow.sandbox.salesforce.data import (
    CONVERTED,
    NOT_CONVERTED,
    OPEN,
    WORKING,
    Org,
    audit,
    contact_from,
)

DELETED_RATE = 0.02
MEMBER_RATE = 0.5
SUBJECTS = {
    "Call": ("Call", "Intro call", "Follow-up call"),
    "Email": ("Email: Intro", "Email: Follow up", "Email: Case study"),
    "Task": ("Send pricing", "Research account"),
}


def history(
    org: Org, lead: dict[str, Any], at: datetime, field: str, old: Any, new: Any
) -> dict[str, Any]:
    """A LeadHistory row (``Field`` 'created' has no old or new value)."""
    return {
        "Id": org.next_id("LeadHistory"),
        "LeadId": lead["Id"],
        "Field": field,
        "OldValue": old,
        "NewValue": new,
        "CreatedDate": at,
        "CreatedById": lead["OwnerId"],
        "IsDeleted": False,
    }


def task(
    org: Org, who: str, owner: str, at: datetime, subtype: str, subject: str, done: bool = True
) -> dict[str, Any]:
    return {
        "Id": org.next_id("Task"),
        "WhoId": who,
        "WhatId": None,
        "OwnerId": owner,
        "Subject": subject,
        "TaskSubtype": subtype,
        "CallType": "Outbound" if subtype == "Call" else None,
        "ActivityDate": at.date(),
        "Status": "Completed" if done else "Not Started",
        "Priority": "Normal",
        "Description": None,
        "IsClosed": done,
        **audit(at, at, owner),
    }


def event(org: Org, who: str, owner: str, booked: datetime, start: datetime) -> dict[str, Any]:
    return {
        "Id": org.next_id("Event"),
        "WhoId": who,
        "WhatId": None,
        "OwnerId": owner,
        "Subject": "Demo",
        "StartDateTime": start,
        "EndDateTime": start + timedelta(minutes=30),
        "ActivityDateTime": start,
        "ActivityDate": start.date(),
        "DurationInMinutes": 30,
        **audit(booked, booked, owner),
    }


class _Life:
    """One lead's walk through the status path, collecting the rows it leaves behind."""

    def __init__(
        self, org: Org, rng: random.Random, lead: dict[str, Any], owners: list[str]
    ) -> None:
        self.org, self.rng, self.lead, self.owners = org, rng, lead, owners
        self.target, self.rows = (
            lead["Status"],
            {"LeadHistory": [], "Task": [], "Event": [], "Contact": []},
        )
        lead["Status"] = OPEN
        self.rows["LeadHistory"].append(
            history(org, lead, lead["CreatedDate"], "created", None, None)
        )

    def move(self, at: datetime, status: str) -> None:
        self.rows["LeadHistory"].append(
            history(self.org, self.lead, at, "Status", self.lead["Status"], status)
        )
        self.lead.update(Status=status, LastModifiedDate=at, SystemModstamp=at)

    def touch(self, at: datetime) -> None:
        subtype = self.rng.choice(("Call", "Call", "Email", "Email", "Task"))
        owner = self.lead["OwnerId"] if self.rng.random() < 0.9 else self.rng.choice(self.owners)
        subject = self.rng.choice(SUBJECTS[subtype])
        self.rows["Task"].append(task(self.org, self.lead["Id"], owner, at, subtype, subject))

    def live(self) -> None:
        anchor, rng, lead = self.org.anchor, self.rng, self.lead
        first = lead["CreatedDate"] + timedelta(minutes=rng.randrange(5, 4 * 24 * 60))
        if self.target == OPEN or first > anchor:
            if rng.random() < 0.2:  # a call scheduled, not made yet
                self.rows["Task"].append(
                    task(self.org, lead["Id"], lead["OwnerId"], first, "Call", "Call", done=False)
                )
            return
        self.touch(first)
        self.move(first + timedelta(minutes=2), WORKING)
        at = first
        for _ in range(rng.randrange(0, 4)):
            at += timedelta(hours=rng.randrange(20, 96))
            if at < anchor:
                self.touch(at)
        decided = at + timedelta(days=rng.randrange(1, 15))
        if self.target in (CONVERTED, NOT_CONVERTED) and decided < anchor:
            self.decide(decided)

    def decide(self, at: datetime) -> None:
        if self.target == CONVERTED:
            start = at - timedelta(days=1)
            self.rows["Event"].append(
                event(
                    self.org,
                    self.lead["Id"],
                    self.lead["OwnerId"],
                    start - timedelta(days=2),
                    start,
                )
            )
            contact = contact_from(self.org, self.lead, at)
            self.rows["Contact"].append(contact)
            self.lead.update(
                IsConverted=True, ConvertedDate=at.date(), ConvertedContactId=contact["Id"]
            )
            for row in self.rows["Task"] + self.rows["Event"]:
                row["WhoId"] = contact["Id"]
        self.move(at, self.target)


def _delete(rows: dict[str, list[dict[str, Any]]], lead: dict[str, Any], at: datetime) -> None:
    lead.update(IsDeleted=True, SystemModstamp=at, LastModifiedDate=at)
    for name in ("LeadHistory", "Task", "Event"):
        for row in rows[name]:
            row["IsDeleted"] = True
            if "SystemModstamp" in row:
                row["SystemModstamp"] = at


def _member(org: Org, rng: random.Random, lead: dict[str, Any]) -> dict[str, Any]:
    campaign = rng.choice(org.rows["Campaign"])
    at = lead["CreatedDate"]
    responded = rng.random() < 0.6
    return {
        "Id": org.next_id("CampaignMember"),
        "CampaignId": campaign["Id"],
        "LeadId": lead["Id"],
        "ContactId": lead["ConvertedContactId"],
        "Status": "Responded" if responded else "Sent",
        "HasResponded": responded,
        **audit(at, lead["SystemModstamp"] if lead["IsConverted"] else at, campaign["OwnerId"]),
    }


def add_activity(org: Org, rng: random.Random, touches: bool = True) -> None:
    """Walk every lead of ``org`` and add the history, contacts and (with ``touches``) the
    tasks, events and campaign members it leaves behind."""
    owners = [user["Id"] for user in org.rows["User"][1:] if user["IsActive"]]
    for name in ("LeadHistory", "Task", "Event", "Contact", "CampaignMember"):
        org.rows.setdefault(name, [])
    for lead in org.rows["Lead"]:
        life = _Life(org, rng, lead, owners)
        life.live()
        if rng.random() < DELETED_RATE:
            gap = max(int((org.anchor - lead["SystemModstamp"]).total_seconds()), 2)
            _delete(
                life.rows, lead, lead["SystemModstamp"] + timedelta(seconds=rng.randrange(1, gap))
            )
        for name, rows in life.rows.items():
            if touches or name in ("LeadHistory", "Contact"):
                org.rows[name].extend(rows)
        if rng.random() < MEMBER_RATE and touches:
            org.rows["CampaignMember"].append(_member(org, rng, lead))
