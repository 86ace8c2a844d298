"""The org's records, by object, and the changes tests make to them.

Every change replaces the record's dict (copy on write), so a query cursor or a Bulk job
that holds the old dicts keeps serving the rows as they were when it ran. A change bumps
``SystemModstamp`` (and ``LastModifiedDate``) to its time, a delete sets ``IsDeleted`` (the row
stays for queryAll, https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm),
a Lead ``Status`` change writes a LeadHistory row (field history tracking,
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_leadhistory.htm);
history rows cannot be updated or deleted. ``convert_lead`` converts as Salesforce does (a
Contact, ``IsConverted``, ``ConvertedDate``, ``ConvertedContactId``, activities re-parented).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from leadflow.sandbox.salesforce import schema
from leadflow.sandbox.salesforce.activity import history
from leadflow.sandbox.salesforce.data import CONVERTED, Org, audit, contact_from
from leadflow.sandbox.salesforce.ids import normalize_id, object_of

NOT_UPDATEABLE = frozenset({"LeadHistory"})


class StoreError(ValueError):
    """A change the org refuses (unknown record, a history row, an unknown field)."""


class Store:
    """Records by object and id (18-character ids), seeded from an :class:`Org`."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.lock = threading.RLock()
        self._rows = {
            name: {row["Id"]: row for row in org.rows.get(name, [])} for name in schema.FIELDS
        }

    def rows(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The current records of an object (live dicts: do not edit), by id."""
        with self.lock:
            rows = list(self._rows[object_name].values())
        return rows if include_deleted else [row for row in rows if not row.get("IsDeleted")]

    def get(self, record_id: str) -> dict[str, Any] | None:
        """A record (deleted or not) by 15- or 18-character id."""
        name = object_of(record_id)
        if name not in self._rows:
            return None
        return self._rows[name].get(normalize_id(record_id))

    def add(
        self,
        object_name: str,
        fields: dict[str, Any],
        at: datetime | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Create a record (missing fields null, audit fields at ``at``, default now)."""
        at = at or datetime.now(UTC)
        by = by or self.org.rows["User"][0]["Id"]
        _known(object_name, fields)
        with self.lock:
            row = dict.fromkeys(schema.FIELDS[object_name])
            stamps = audit(at, at, by)
            row.update({k: v for k, v in stamps.items() if k in row})
            row.update(fields, Id=self.org.next_id(object_name))
            _derive(object_name, row)
            self._rows[object_name][row["Id"]] = row
            if object_name == "Lead":
                self._history(row, at, "created", None, None)
            return row

    def update(
        self, object_name: str, record_id: str, fields: dict[str, Any], at: datetime | None = None
    ) -> dict[str, Any]:
        """Change fields of a record; a Lead Status change is written to LeadHistory."""
        if object_name in NOT_UPDATEABLE:
            raise StoreError(f"{object_name} rows cannot be updated")
        _known(object_name, fields)
        at = at or datetime.now(UTC)
        with self.lock:
            old = self._current(object_name, record_id)
            row = {**old, **fields}
            _stamp(row, at)
            _derive(object_name, row)
            self._rows[object_name][row["Id"]] = row
            if object_name == "Lead" and fields.get("Status", old["Status"]) != old["Status"]:
                self._history(row, at, "Status", old["Status"], row["Status"])
            return row

    def delete(
        self, object_name: str, record_id: str, at: datetime | None = None
    ) -> dict[str, Any]:
        """Move a record to the recycle bin: ``IsDeleted`` true, only queryAll sees it."""
        if object_name in NOT_UPDATEABLE:
            raise StoreError(f"{object_name} rows cannot be deleted")
        with self.lock:
            row = {**self._current(object_name, record_id), "IsDeleted": True}
            _stamp(row, at or datetime.now(UTC))
            self._rows[object_name][row["Id"]] = row
            return row

    def convert_lead(self, lead_id: str, at: datetime | None = None) -> dict[str, Any]:
        """Convert a lead: a Contact, the lead closed as converted, activities moved to the
        contact; returns the contact."""
        at = at or datetime.now(UTC)
        with self.lock:
            lead = self._current("Lead", lead_id)
            contact = contact_from(self.org, lead, at)
            self._rows["Contact"][contact["Id"]] = contact
            fields = {
                "Status": CONVERTED,
                "IsConverted": True,
                "ConvertedDate": at.date(),
                "ConvertedContactId": contact["Id"],
            }
            self.update("Lead", lead["Id"], fields, at)
            for name in ("Task", "Event"):
                for row in self.rows(name, include_deleted=True):
                    if row["WhoId"] == lead["Id"]:
                        self._rows[name][row["Id"]] = {**row, "WhoId": contact["Id"]}
            return contact

    def _current(self, object_name: str, record_id: str) -> dict[str, Any]:
        row = self._rows[object_name].get(normalize_id(record_id))
        if row is None:
            raise StoreError(f"no {object_name} with that id")
        return row

    def _history(self, lead: dict[str, Any], at: datetime, field: str, old: Any, new: Any) -> None:
        row = history(self.org, lead, at, field, old, new)
        self._rows["LeadHistory"][row["Id"]] = row


def _known(object_name: str, fields: dict[str, Any]) -> None:
    unknown = [name for name in fields if name not in schema.FIELDS[object_name]]
    if unknown:
        raise StoreError(f"unknown {object_name} fields: {', '.join(unknown)}")


def _stamp(row: dict[str, Any], at: datetime) -> None:
    for name in ("SystemModstamp", "LastModifiedDate"):
        if name in row:
            row[name] = at


def _derive(object_name: str, row: dict[str, Any]) -> None:
    """Computed fields: a person's Name, a Task's IsClosed."""
    if "Name" in row and "FirstName" in row and object_name != "UserRole":
        row["Name"] = " ".join(part for part in (row.get("FirstName"), row.get("LastName")) if part)
    if object_name == "Task":
        row["IsClosed"] = row.get("Status") == "Completed"
