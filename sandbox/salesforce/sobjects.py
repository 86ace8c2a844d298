"""sObject resources: create a Task (the write-back) and read any record by id.

* ``POST /services/data/vXX.X/sobjects/Task`` with the fields as JSON answers 201
  ``{"id", "errors": [], "success": true}``; ``GET .../sobjects/{Type}/{id}`` the record with
  ``attributes`` and every field
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm,
  .../dome_get_field_values.htm).
* Refusals are 400 ``[{"message", "errorCode", "fields"}]``: ``Id`` in the body is
  INVALID_FIELD "The Id field should not be specified in the sobject data." (the create
  example); an unknown field INVALID_FIELD; a read-only one INVALID_FIELD_FOR_INSERT_UPDATE; an
  id of the wrong shape MALFORMED_ID; an id naming no record (or the wrong kind)
  INVALID_CROSS_REFERENCE_KEY "invalid cross reference id"; an inactive owner
  INACTIVE_OWNER_OR_USER; ``Status`` or ``Priority`` set empty REQUIRED_FIELD_MISSING "Required
  fields are missing: [Status]" (both are required and defaulted on create,
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm);
  a TaskSubtype outside its restricted picklist INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST;
  malformed JSON JSON_PARSER_ERROR (codes: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm#statuscode).
  Messages never echo the values sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from leadflow.sandbox.salesforce import limits, schema
from leadflow.sandbox.salesforce.ids import is_id, object_of
from leadflow.sandbox.salesforce.shapes import attributes, json_value
from leadflow.sandbox.salesforce.store import Store
from leadflow.sandbox.server import BadJSONError, Request, Response, json_response

CREATABLE = frozenset({"Task"})
TASK_DEFAULTS = {"Status": "Not Started", "Priority": "Normal", "TaskSubtype": "Task"}
SUBTYPES = frozenset({"Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"})
LABELS = {"WhoId": "Name ID", "WhatId": "Related To ID", "OwnerId": "Assigned To ID"}
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


class Refusal(Exception):
    def __init__(self, code: str, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


@dataclass(frozen=True)
class Write:
    """One record created through the API: what was sent, and the id it got."""

    object_name: str
    id: str
    fields: dict[str, Any]
    user_id: str


def _task_fields(store: Store, body: dict[str, Any], user_id: str) -> dict[str, Any]:
    fields = {**TASK_DEFAULTS, "OwnerId": user_id}
    for name, value in body.items():
        canonical = schema.find_field("Task", name)
        if name.lower() == "id":
            raise Refusal(
                "INVALID_FIELD", "The Id field should not be specified in the sobject data.", []
            )
        if canonical is None:
            raise Refusal("INVALID_FIELD", f"No such column '{name}' on sobject of type Task", [])
        if canonical in schema.READ_ONLY:
            message = (
                f"Unable to create/update fields: {canonical}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or permission set."
            )
            raise Refusal("INVALID_FIELD_FOR_INSERT_UPDATE", message, [canonical])
        fields[canonical] = value
    for name in ("Status", "Priority"):
        if fields.get(name) in (None, ""):
            raise Refusal(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name]
            )
    if fields.get("TaskSubtype") not in SUBTYPES:
        message = "Task Subtype: bad value for restricted picklist field"
        raise Refusal("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, ["TaskSubtype"])
    _check_date(fields)
    for name in ("WhoId", "WhatId", "OwnerId"):
        _check_reference(store, name, fields.get(name))
    return fields


def _check_date(fields: dict[str, Any]) -> None:
    value = fields.get("ActivityDate")
    if value is None:
        return
    if not isinstance(value, str) or not _DATE.match(value):
        raise Refusal(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of date from the value of ActivityDate",
            ["ActivityDate"],
        )
    fields["ActivityDate"] = date.fromisoformat(value)


def _check_reference(store: Store, name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not is_id(value):
        raise Refusal("MALFORMED_ID", f"{LABELS[name]}: id value of incorrect type", [name])
    target = store.get(value)
    allowed = schema.REFERENCES[name][1]
    if target is None or target.get("IsDeleted") or object_of(target["Id"]) not in allowed:
        raise Refusal("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    if name == "OwnerId" and not target.get("IsActive"):
        raise Refusal("INACTIVE_OWNER_OR_USER", "owner or user is inactive", [])


class SObjectApi:
    """Create (Task) and read records; ``writes`` lists what was created, in order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes: list[Write] = []

    def create(self, request: Request, object_name: str, user_id: str) -> Response:
        if object_name not in CREATABLE:
            return limits.not_found()
        try:
            body = request.json()
        except BadJSONError:
            return limits.error(
                400, "JSON_PARSER_ERROR", "Unexpected character in the request body"
            )
        if not isinstance(body, dict):
            return limits.error(
                400, "JSON_PARSER_ERROR", "Cannot deserialize the request body as an sObject"
            )
        try:
            fields = _task_fields(self.store, body, user_id)
        except Refusal as refusal:
            return limits.error(400, refusal.code, refusal.message, refusal.fields)
        row = self.store.add(object_name, fields, by=user_id)
        self.writes.append(Write(object_name, row["Id"], dict(body), user_id))
        return json_response(201, {"id": row["Id"], "errors": [], "success": True})

    def read(self, version: str, object_name: str, record_id: str) -> Response:
        row = self.store.get(record_id) if is_id(record_id) else None
        if row is None or row.get("IsDeleted") or object_of(row["Id"]) != object_name:
            return limits.not_found()
        record = {"attributes": attributes(row["Id"], version, object_name)}
        record.update({name: json_value(value) for name, value in row.items()})
        return json_response(200, record)
