"""HubSpot writes in the sandbox: tasks, contact batch updates and contact properties.

Docs followed:
* https://developers.hubspot.com/docs/api/crm/tasks (``POST /crm/v3/objects/tasks`` with
  ``properties`` and ``associations``; ``hs_timestamp`` required, the due date, as Unix
  milliseconds or UTC ISO; ``hs_task_status`` COMPLETED or NOT_STARTED (the property also
  knows IN_PROGRESS, WAITING, DEFERRED); ``hs_task_priority`` LOW, MEDIUM, HIGH;
  ``hs_task_type`` EMAIL, CALL, TODO; ``hubspot_owner_id``; ``PATCH
  /crm/v3/objects/tasks/{taskId}`` with ``properties``)
* https://developers.hubspot.com/docs/api/crm/associations/v4 (default association types:
  ``{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}`` is task to contact)
* https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm (``POST
  /crm/v3/objects/tasks/search``: ``filterGroups[].filters[]`` of ``propertyName``,
  ``operator`` (EQ, NEQ, CONTAINS_TOKEN, HAS_PROPERTY, NOT_HAS_PROPERTY here), ``value``;
  ``properties``, ``limit`` (max 200), ``after``; answer ``total``, ``results``,
  ``paging.next.after``; tasks return ``hs_createdate``, ``hs_lastmodifieddate``,
  ``hs_object_id`` by default)
* https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/update-contacts
  (``POST /crm/v3/objects/contacts/batch/update``, ``{"inputs": [{"id", "properties"}]}``, at
  most 100 inputs; "Read-only and non-existent properties will result in an error"; answer
  ``{"status": "COMPLETE", "results", "startedAt", "completedAt"}``, HTTP 207 with
  ``errors`` and ``numErrors`` when some ids do not exist)
* https://developers.hubspot.com/docs/api/crm/properties (``GET``/``POST
  /crm/v3/properties/contacts``: ``name``, ``label``, ``type``, ``fieldType``, ``groupName``
  required; a name already in use is HTTP 409 ``OBJECT_ALREADY_EXISTS``)
* https://developers.hubspot.com/docs/api/error-handling (400 ``"category":
  "VALIDATION_ERROR"``; property values are refused with the message "Property values were
  not valid: [...]" listing ``{"isValid": false, "message", "error", "name"}`` per property)

Rate limits, faults, auth and read scopes are the app's (``hubspot_app``): these routes
count against the same ten-secondly window (search: the per-second one) and get the same
429s. The write scopes (``crm.objects.contacts.write`` for tasks and contact updates,
``crm.schemas.contacts.write`` for property definitions, as the tasks and properties
references list them) are granted unless ``revoke_scope`` takes them away: then HubSpot's
403 MISSING_SCOPES.
What was written is exposed to tests and the demo: ``tasks``, ``contact_updates``,
``created_properties``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from datetime import UTC, datetime
from typing import Any, Protocol

from leadflow.sandbox.hubspot.limits import error_body
from leadflow.sandbox.hubspot.sales import list_properties
from leadflow.sandbox.hubspot.scopes import missing_scopes_body
from leadflow.sandbox.server import Request, Response, Router, json_response

WRITE_CONTACTS = "crm.objects.contacts.write"  # tasks, contact updates
WRITE_SCHEMAS = "crm.schemas.contacts.write"  # contact property definitions
TASK_TO_CONTACT = 204
BATCH_LIMIT = 100
SEARCH_LIMIT = 200
TASK_STATUSES = ("NOT_STARTED", "COMPLETED", "IN_PROGRESS", "WAITING", "DEFERRED")
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "NONE")
TASK_TYPES = ("EMAIL", "CALL", "TODO", "LINKED_IN", "CALL_AND_EMAIL")
TASK_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
_PROPERTY_FIELDS = ("name", "label", "type", "fieldType", "groupName")


class Portal(Protocol):
    """What the writes need of the HubSpot sandbox."""

    @property
    def owners(self) -> list[dict[str, Any]]: ...

    def contact_ids(self) -> list[str]: ...

    def upsert_contact(self, properties: dict[str, Any]) -> dict[str, Any]: ...


class Writes:
    """Tasks, contact updates and created contact properties of one sandbox portal."""

    def __init__(self, portal: Portal) -> None:
        self._portal = portal
        self._lock = threading.Lock()
        self._tasks: dict[str, dict[str, Any]] = {}
        self._next_id = 70_000_000_001
        self._updates: list[dict[str, Any]] = []
        self._properties: dict[str, dict[str, Any]] = {}
        self.revoked: set[str] = set()  # write scopes the token lacks (``revoke_scope``)

    def revoke_scope(self, *names: str) -> None:
        """The token no longer carries these write scopes: writes needing one get 403."""
        self.revoked.update(names)

    def _lacks(self, scope: str) -> Response | None:
        return json_response(403, missing_scopes_body(scope)) if scope in self.revoked else None

    def register(self, router: Router) -> None:
        """Add the write routes (before the app's read routes: the first match wins)."""
        router.add("POST", r"/crm/v3/objects/tasks", self._create_task)
        router.add("POST", r"/crm/v3/objects/tasks/search", self._search_tasks)
        router.add("GET", r"/crm/v3/objects/tasks/(?P<id>\d+)", self._read_task)
        router.add("PATCH", r"/crm/v3/objects/tasks/(?P<id>\d+)", self._update_task)
        router.add("POST", r"/crm/v3/objects/contacts/batch/update", self._batch_update)
        router.add("GET", r"/crm/v3/properties/contacts", self._list_properties)
        router.add("POST", r"/crm/v3/properties/contacts", self._create_property)

    # -- what was written ------------------------------------------------------------------
    @property
    def tasks(self) -> list[dict[str, Any]]:
        """Copies of the tasks, by id, each with ``associations`` (contact ids, type ids)."""
        with self._lock:
            return [copy.deepcopy(self._tasks[key]) for key in sorted(self._tasks, key=int)]

    @property
    def contact_updates(self) -> list[dict[str, Any]]:
        """Every accepted batch-update input (``{"id", "properties"}``), in order."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def created_properties(self) -> list[str]:
        with self._lock:
            return sorted(self._properties)

    # -- tasks -----------------------------------------------------------------------------
    def _create_task(self, request: Request) -> Response:
        if refused := self._lacks(WRITE_CONTACTS):
            return refused
        body = request.json() or {}
        props = body.get("properties")
        if not isinstance(props, dict):
            return _invalid("Invalid input JSON: properties is required", "properties")
        values = {k: None if v is None else str(v) for k, v in props.items()}
        problems = self._task_problems(values, creating=True)
        links, refused = self._associations(body.get("associations") or [])
        if problems:
            return _property_errors(problems)
        if refused:
            return refused
        with self._lock:
            task_id = str(self._next_id)
            self._next_id += 1
            stamp = _now()
            values.setdefault("hs_task_status", "NOT_STARTED")
            values.update(hs_object_id=task_id, hs_createdate=stamp, hs_lastmodifieddate=stamp)
            task = {
                "id": task_id,
                "properties": values,
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
                "associations": links,
            }
            self._tasks[task_id] = task
            return json_response(201, _public(task))

    def _read_task(self, request: Request) -> Response:
        assert request.match is not None
        with self._lock:
            task = self._tasks.get(request.match["id"])
            return _not_found() if task is None else json_response(200, _public(task))

    def _update_task(self, request: Request) -> Response:
        assert request.match is not None
        if refused := self._lacks(WRITE_CONTACTS):
            return refused
        props = (request.json() or {}).get("properties")
        if not isinstance(props, dict):
            return _invalid("Invalid input JSON: properties is required", "properties")
        values = {k: None if v is None else str(v) for k, v in props.items()}
        problems = self._task_problems(values, creating=False)
        if problems:
            return _property_errors(problems)
        with self._lock:
            task = self._tasks.get(request.match["id"])
            if task is None:
                return _not_found()
            stamp = _now()
            task["properties"].update(values, hs_lastmodifieddate=stamp)
            task["updatedAt"] = stamp
            return json_response(200, _public(task))

    def _task_problems(self, values: dict[str, str | None], *, creating: bool) -> list[dict]:
        problems = []
        if creating and not values.get("hs_timestamp"):
            problems.append(_problem("hs_timestamp", "REQUIRED_FIELD", "is required"))
        owner = values.get("hubspot_owner_id")
        if owner and owner not in {str(o["id"]) for o in self._portal.owners}:
            problems.append(
                _problem("hubspot_owner_id", "INVALID_OWNER_ID", f"{owner} is not a valid owner id")
            )
        for name, allowed in (
            ("hs_task_status", TASK_STATUSES),
            ("hs_task_priority", PRIORITIES),
            ("hs_task_type", TASK_TYPES),
        ):
            value = values.get(name)
            if value and value not in allowed:
                problems.append(
                    _problem(name, "INVALID_OPTION", f"{value} was not one of the allowed options")
                )
        return problems

    def _associations(self, entries: list[Any]) -> tuple[list[dict[str, Any]], Response | None]:
        contacts = set(self._portal.contact_ids())
        links = []
        for entry in entries:
            target = str((entry.get("to") or {}).get("id", ""))
            types = entry.get("types") or []
            known = [
                t
                for t in types
                if t.get("associationCategory") == "HUBSPOT_DEFINED"
                and t.get("associationTypeId") == TASK_TO_CONTACT
            ]
            if target not in contacts or not known or len(known) != len(types):
                message = f"One or more associations are invalid: to {target}, types {types}"
                return [], _invalid(message, "associations")
            links.append({"to": target, "associationTypeId": TASK_TO_CONTACT})
        return links, None

    def _search_tasks(self, request: Request) -> Response:
        body = request.json() or {}
        limit = int(body.get("limit") or 10)
        if not 1 <= limit <= SEARCH_LIMIT:
            return _invalid(f"limit must be between 1 and {SEARCH_LIMIT}", "limit")
        groups = body.get("filterGroups") or []
        wanted = list(TASK_DEFAULTS) + [p for p in body.get("properties") or [] if p]
        with self._lock:
            found = [
                t
                for _, t in sorted(self._tasks.items(), key=lambda kv: int(kv[0]))
                if not groups or any(_matches(t, g) for g in groups)
            ]
            start = int(body.get("after") or 0)
            page = found[start : start + limit]
            results = [_public(t, wanted) for t in page]
        answer: dict[str, Any] = {"total": len(found), "results": results}
        if start + limit < len(found):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return json_response(200, answer)

    # -- contacts ---------------------------------------------------------------------------
    def _batch_update(self, request: Request) -> Response:
        if refused := self._lacks(WRITE_CONTACTS):
            return refused
        inputs = (request.json() or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return _invalid("Invalid input JSON: inputs is required", "inputs")
        if len(inputs) > BATCH_LIMIT:
            return _invalid(
                f"Batch size {len(inputs)} exceeds the limit of {BATCH_LIMIT}", "inputs"
            )
        known = self._property_names()
        unknown = sorted(
            {
                name
                for item in inputs
                for name in (item.get("properties") or {})
                if name not in known
            }
        )
        if unknown:
            return _property_errors(
                [
                    _problem(n, "PROPERTY_DOESNT_EXIST", f'Property "{n}" does not exist')
                    for n in unknown
                ]
            )
        contacts = set(self._portal.contact_ids())
        missing = [str(item.get("id")) for item in inputs if str(item.get("id")) not in contacts]
        started, results = _now(), []
        for item in inputs:
            if str(item.get("id")) in missing:
                continue
            props = {k: "" if v is None else str(v) for k, v in item["properties"].items()}
            results.append(self._portal.upsert_contact({"hs_object_id": str(item["id"]), **props}))
            with self._lock:
                self._updates.append({"id": str(item["id"]), "properties": props})
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _now(),
        }
        if not missing:
            return json_response(200, answer)
        error = error_body(
            "OBJECT_NOT_FOUND",
            "Could not get some CONTACT objects, they may be "
            "deleted or not exist. Check that ids are valid.",
            context={"ids": missing},
        )
        answer.update(errors=[error], numErrors=1)
        return json_response(207, answer)

    def _list_properties(self, request: Request) -> Response:
        response = list_properties(self._portal.owners, "contacts")
        assert isinstance(response.body, dict)
        with self._lock:
            response.body["results"] += copy.deepcopy(list(self._properties.values()))
        return response

    def _create_property(self, request: Request) -> Response:
        if refused := self._lacks(WRITE_SCHEMAS):
            return refused
        body = request.json() or {}
        absent = [f for f in _PROPERTY_FIELDS if not body.get(f)]
        if absent:
            return _invalid(f"Missing required fields: {', '.join(absent)}", absent[0])
        name = str(body["name"])
        if name in self._property_names():
            message = f"Property named '{name}' already exists."
            return json_response(409, error_body("OBJECT_ALREADY_EXISTS", message))
        definition = {field: body[field] for field in _PROPERTY_FIELDS}
        definition.update(
            description=body.get("description", ""),
            options=body.get("options", []),
            hidden=False,
            hasUniqueValue=False,
            createdAt=_now(),
            updatedAt=_now(),
            modificationMetadata={
                "archivable": True,
                "readOnlyDefinition": False,
                "readOnlyValue": False,
            },
        )
        with self._lock:
            self._properties[name] = definition
        return json_response(201, copy.deepcopy(definition))

    def _property_names(self) -> set[str]:
        body = list_properties(self._portal.owners, "contacts").body
        assert isinstance(body, dict)
        with self._lock:
            return {p["name"] for p in body["results"]} | set(self._properties)


def _matches(task: dict[str, Any], group: dict[str, Any]) -> bool:
    for spec in group.get("filters") or []:
        value = task["properties"].get(spec.get("propertyName"))
        wanted, operator = str(spec.get("value", "")), spec.get("operator")
        if operator == "EQ" and (value or "").lower() != wanted.lower():
            return False
        if operator == "NEQ" and (value or "").lower() == wanted.lower():
            return False
        if operator == "CONTAINS_TOKEN" and wanted.lower() not in _tokens(value):
            return False
        if operator == "HAS_PROPERTY" and not value:
            return False
        if operator == "NOT_HAS_PROPERTY" and value:
            return False
    return True


def _tokens(text: str | None) -> set[str]:
    """Words as search indexes them: letters and digits between anything else."""
    return set(re.split(r"[^0-9a-z]+", (text or "").lower())) - {""}


def _public(task: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    props = task["properties"]
    shown = props if names is None else {n: props.get(n) for n in names}
    return {
        "id": task["id"],
        "properties": copy.deepcopy(shown),
        "createdAt": task["createdAt"],
        "updatedAt": task["updatedAt"],
        "archived": False,
    }


def _problem(name: str, error: str, message: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": error, "name": name}


def _property_errors(problems: list[dict[str, Any]]) -> Response:
    message = f"Property values were not valid: {json.dumps(problems, separators=(',', ':'))}"
    return json_response(400, error_body("VALIDATION_ERROR", message))


def _invalid(message: str, field: str) -> Response:
    error = {"message": message, "code": "INVALID", "context": {"propertyName": [field]}}
    return json_response(400, error_body("VALIDATION_ERROR", message, errors=[error]))


def _not_found() -> Response:
    message = "Object not found.  objectId are usually numeric."
    return json_response(404, error_body("OBJECT_NOT_FOUND", message))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
