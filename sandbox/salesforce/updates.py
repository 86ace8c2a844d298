"""Updating records and describing objects: what a write-back does besides creating Tasks.

* ``PATCH /services/data/vXX.X/sobjects/{Type}/{id}`` with the fields to change answers 204
  No Content
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm);
  an id naming no live record of the type 404 ``NOT_FOUND``; an unknown field 400
  ``INVALID_FIELD``; a read-only one ``INVALID_FIELD_FOR_INSERT_UPDATE``.
* ``PATCH .../composite/sobjects`` ``{"allOrNone": false, "records": [...]}``: at most 200
  records, each with ``attributes.type`` and ``id``, updated in order; 200 with one SaveResult
  per record, ``{"id", "success", "errors": [{"statusCode", "message", "fields"}]}``
  (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html).
  A deleted record's result is ``ENTITY_IS_DELETED``, an id naming nothing
  ``INVALID_CROSS_REFERENCE_KEY`` (codes: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm#statuscode;
  which of them an update of a missing id gets is not stated there). With ``allOrNone`` true
  a failing record rolls the others back. More than 200 records: 400 (the code is not
  documented; ``INVALID_BATCH_SIZE`` here).
* ``GET .../sobjects/{Type}/describe``: ``{"name", "fields": [{"name", "type", "custom",
  "updateable"}...]}``
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm).

The org's Lead has leadflow's custom text fields (``Leadflow_Stage__c``...) unless the
sandbox was made without them (``leadflow_fields=False``: then they are unknown fields).
"""

from __future__ import annotations

from typing import Any

from leadflow.sandbox.salesforce import limits, schema
from leadflow.sandbox.salesforce.ids import is_id, object_of
from leadflow.sandbox.salesforce.store import NOT_UPDATEABLE, Store
from leadflow.sandbox.server import Request, Response, json_response

COLLECTION_LIMIT = 200
LEADFLOW_FIELDS = (
    "Leadflow_Stage__c",
    "Leadflow_Fit_Score__c",
    "Leadflow_Engagement_Score__c",
    "Leadflow_Reasons__c",
)


Change = tuple[str, str, dict[str, Any]]  # object, id, fields


class UpdateRefusal(Exception):
    def __init__(self, code: str, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


class UpdateApi:
    """Record updates (one, or a collection) and object descriptions."""

    def __init__(self, store: Store, leadflow_fields: bool = True) -> None:
        self.store = store
        self.hidden = () if leadflow_fields else LEADFLOW_FIELDS
        self.updates: list[tuple[str, str, dict[str, Any]]] = []  # (type, id, fields)

    def update(self, request: Request, object_name: str, record_id: str) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return limits.error(400, "JSON_PARSER_ERROR", "Cannot deserialize the request body")
        try:
            self._apply(object_name, record_id, body)
        except UpdateRefusal as refusal:
            if refusal.code == "NOT_FOUND":
                return limits.not_found()
            return limits.error(400, refusal.code, refusal.message, refusal.fields)
        return Response(204, None)

    def collection(self, request: Request) -> Response:
        body = request.json()
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            return limits.error(400, "JSON_PARSER_ERROR", "records: a list of sObjects")
        if len(records) > COLLECTION_LIMIT:
            message = f"Exceeded max limit of {COLLECTION_LIMIT} records"
            return limits.error(400, "INVALID_BATCH_SIZE", message)
        with self.store.lock:
            checked = [self._one(record) for record in records]
            failed = any(change is None for _, change in checked)
            if body.get("allOrNone") and failed:  # nothing is written
                return json_response(200, [_rolled_back(result) for result, _ in checked])
            for _, change in checked:
                if change is not None:
                    self._write(*change)
        return json_response(200, [result for result, _ in checked])

    def describe(self, object_name: str) -> Response:
        name = schema.find_object(object_name)
        if name is None:
            return limits.not_found()
        fields = [
            {"name": field, "type": kind, "custom": field.endswith("__c"),
             "updateable": field not in schema.READ_ONLY}
            for field, kind in schema.field_names(name).items()
            if field not in self.hidden
        ]  # fmt: skip
        return json_response(200, {"name": name, "custom": False, "fields": fields})

    def _one(self, record: Any) -> tuple[dict[str, Any], Change | None]:
        """A collection record's SaveResult, and the change to write when it succeeds."""
        fields = dict(record) if isinstance(record, dict) else {}
        kind = (fields.pop("attributes", None) or {}).get("type")
        record_id = str(fields.pop("id", None) or fields.pop("Id", None) or "")
        try:
            if not kind:
                raise UpdateRefusal("INVALID_TYPE", "sObject type not specified", [])
            change = self._check(str(kind), record_id, fields)
        except UpdateRefusal as refusal:
            code = "INVALID_CROSS_REFERENCE_KEY" if refusal.code == "NOT_FOUND" else refusal.code
            error = {"statusCode": code, "message": refusal.message, "fields": refusal.fields}
            return {"id": record_id or None, "success": False, "errors": [error]}, None
        return {"id": change[1], "success": True, "errors": []}, change

    def _apply(self, object_name: str, record_id: str, body: dict[str, Any]) -> None:
        self._write(*self._check(object_name, record_id, body))

    def _write(self, name: str, row_id: str, fields: dict[str, Any]) -> None:
        self.store.update(name, row_id, fields)
        self.updates.append((name, row_id, fields))

    def _check(self, object_name: str, record_id: str, body: dict[str, Any]) -> Change:
        name = schema.find_object(object_name)
        if name is None or name in NOT_UPDATEABLE:
            raise UpdateRefusal("NOT_FOUND", "The requested resource does not exist", [])
        row = self.store.get(record_id) if is_id(record_id) else None
        if row is None or object_of(row["Id"]) != name:
            raise UpdateRefusal("NOT_FOUND", "The requested resource does not exist", [])
        if row.get("IsDeleted"):
            raise UpdateRefusal("ENTITY_IS_DELETED", "entity is deleted", [])
        fields = {}
        for given, value in body.items():
            field = schema.find_field(name, given)
            if field is None or field in self.hidden:
                message = f"No such column '{given}' on sobject of type {name}"
                raise UpdateRefusal("INVALID_FIELD", message, [])
            if field in schema.READ_ONLY:
                message = f"Unable to create/update fields: {field}."
                raise UpdateRefusal("INVALID_FIELD_FOR_INSERT_UPDATE", message, [field])
            fields[field] = value
        return name, row["Id"], fields


def _rolled_back(result: dict[str, Any]) -> dict[str, Any]:
    if not result["success"]:
        return result
    error = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back "
             "because not all records were valid and the request was using AllOrNone header",
             "fields": []}  # fmt: skip
    return {"id": result["id"], "success": False, "errors": [error]}
