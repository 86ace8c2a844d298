"""Writing to HubSpot: tasks for SLA breaches, leadflow's contact properties.

Every request goes through the one transport (``leadflow.connectors.http``), which retries
429s (waiting what HubSpot asks, else its backoff), connection failures and, for the
idempotent writes (a search, a PATCH, a batch update of property values, a property
creation that answers 409 when repeated), 5xx answers. A task creation is not idempotent
in HubSpot: a 5xx answer to it may come after the task was stored, so it is not retried
here (``OutcomeUnknown``); the caller leaves its ledger row pending and finds the task by
its key (``find_task``) before it ever asks again. Nor is a creation whose connection failed
after the request went out (a read timeout, a reset): the transport repeats a creation only
when HubSpot throttled it (429) or no connection was made (``NotSent``), so a task is never
sent twice.

Errors never carry a value: a refused write is a ``WriteRefused`` naming the HTTP status,
HubSpot's category and the properties (fields) concerned, read from the body's
``errors[].context.propertyName`` or the "Property values were not valid: [...]" list's
``name`` and ``error``.

Docs followed:
* https://developers.hubspot.com/docs/api/crm/tasks (create with ``properties`` and
  ``associations``, update by PATCH; ``hs_timestamp`` is the due date)
* https://developers.hubspot.com/docs/api/crm/associations/v4 (task to contact: type 204,
  ``HUBSPOT_DEFINED``)
* https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm (task search,
  ``CONTAINS_TOKEN`` on ``hs_task_subject``, a plain text property: the key's search word is
  at the end of the subject, the key itself in the body; results lag a little behind writes)
* https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/update-contacts
  (at most 100 inputs; 207 with ``errors`` for ids that do not exist)
* https://developers.hubspot.com/docs/api/crm/properties (create: 409 when the name exists)
* https://developers.hubspot.com/docs/api/error-handling (VALIDATION_ERROR bodies)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from leadflow.connectors.errors import ConnectorError, OutcomeUnknown, WriteRefused
from leadflow.connectors.http import build_retry
from leadflow.connectors.hubspot.client import SOURCE, classify_error, open_session
from leadflow.connectors.hubspot.config import HubSpotConfig

TASKS_PATH = "/crm/v3/objects/tasks"
BATCH_UPDATE_PATH = "/crm/v3/objects/contacts/batch/update"
PROPERTIES_PATH = "/crm/v3/properties/contacts"
TASK_TO_CONTACT = 204
BATCH_SIZE = 100
PROPERTY_GROUP = "contactinformation"
_NAMED = re.compile(r'"name"\s*:\s*"([A-Za-z0-9_]+)"')
_CODED = re.compile(r'"error"\s*:\s*"([A-Z0-9_]+)"')


def __init__(self, reason: str) -> None:
    self.reason = reason
    super().__init__(SOURCE, reason)


def refusal_fields(body: Any) -> list[str]:
    """``field (CODE)`` for each property a 400 body names; never the value."""
    if not isinstance(body, Mapping):
        return []
    found: list[str] = []
    for error in body.get("errors") or []:
        context = error.get("context") if isinstance(error, Mapping) else None
        names = context.get("propertyName") if isinstance(context, Mapping) else None
        for name in [names] if isinstance(names, str) else names or []:
            found.append(str(name))
    message = str(body.get("message") or "")
    start = message.find("[")
    if start >= 0:
        try:
            listed = json.loads(message[start:])
        except ValueError:
            listed = None
        if isinstance(listed, list):
            for item in listed:
                if isinstance(item, Mapping) and item.get("name"):
                    code = item.get("error")
                    found.append(f"{item['name']} ({code})" if code else str(item["name"]))
        else:  # a message cut short: its names and codes only
            codes = _CODED.findall(message)
            for index, name in enumerate(_NAMED.findall(message)):
                found.append(f"{name} ({codes[index]})" if index < len(codes) else name)
    return [field for index, field in enumerate(found) if field not in found[:index]]


def _where(response: requests.Response) -> str:
    request = response.request
    path = requests.utils.urlparse(request.url or "").path if request is not None else "?"
    return f"{request.method if request is not None else '?'} {path}"


def classify_write(response: requests.Response, body: Any) -> ConnectorError | None:
    """HubSpot's own reading first (auth, scopes, daily limit); then a 4xx other than 429
    is a ``WriteRefused`` naming fields, never values."""
    known = classify_error(response, body)
    status = response.status_code
    if known is not None or status == 429 or status >= 500:
        return known
    category = body.get("category") if isinstance(body, Mapping) else None
    reason = f"HTTP {status}{' ' + str(category) if category else ''} on {_where(response)}"
    fields = refusal_fields(body)
    return WriteRefused(SOURCE, f"{reason}: {', '.join(fields)}" if fields else reason)


def classify_create(response: requests.Response, body: Any) -> ConnectorError | None:
    """As ``classify_write``, but a 5xx is ``OutcomeUnknown``: not retried (module doc)."""
    if response.status_code >= 500:
        return OutcomeUnknown(
            SOURCE, f"HTTP {response.status_code} on {_where(response)}: outcome unknown"
        )
    return classify_write(response, body)


class HubSpotWriter:
    """The writes of one portal (its token, its pace, the transport), in two sessions: one
    whose policy repeats every write here but task creation (searches, PATCHes, batch
    updates and property creations are safe to repeat), and one for task creation, which
    the transport repeats only when HubSpot throttled it or it never left (``NotSent``)."""

    batch_size = BATCH_SIZE  # contacts per batch update
    missing_reason = "HTTP 207 OBJECT_NOT_FOUND: the contact"
    refused: tuple[type[ConnectorError], ...] = (WriteRefused,)
    unknown: tuple[type[ConnectorError], ...] = (OutcomeUnknown,)

    def __init__(self, config: HubSpotConfig) -> None:
        self.client = open_session(config)
        self.client.session.retry = build_retry(
            attempts=config.max_attempts,
            backoff_factor=config.backoff_seconds,
            methods=("GET", "POST", "PATCH"),
        )
        self.creating = open_session(config)
        self.creating.session.retry = build_retry(
            attempts=config.max_attempts, backoff_factor=config.backoff_seconds
        )  # GET only: a created task is never sent twice
        self.config = config
        self.base_url = config.base_url

    def _send(
        self, method: str, path: str, body: Any, classify: Any = classify_write, client: Any = None
    ) -> Any:
        limits = self.client.limits
        url = self.base_url + path
        session = (client or self.client).session
        with (limits.search if path.endswith("/search") else limits.burst).slot():
            return session.fetch_json(method, url, classify=classify, json=body)

    def create_task(self, properties: Mapping[str, str], contact_id: str) -> str:
        """Create a task associated with the contact; its id."""
        body = {
            "properties": dict(properties),
            "associations": [
                {
                    "to": {"id": contact_id},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": TASK_TO_CONTACT,
                        }
                    ],
                }
            ],
        }
        return str(self._send("POST", TASKS_PATH, body, classify_create, self.creating)["id"])

    def find_task(self, token: str, marker: str) -> str | None:
        """The task whose subject holds the word ``token`` and whose body holds ``marker``
        (the lowest id if several); searched at the pace every search of this token keeps."""
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_task_subject",
                            "operator": "CONTAINS_TOKEN",
                            "value": token,
                        }
                    ]
                }
            ],
            "properties": ["hs_task_subject", "hs_task_body"],
            "limit": 10,
        }
        found = self._send("POST", f"{TASKS_PATH}/search", body)
        ids = [
            int(item["id"])
            for item in found.get("results") or []
            if marker in str((item.get("properties") or {}).get("hs_task_body") or "")
        ]
        return str(min(ids)) if ids else None

    def complete_task(self, task_id: str) -> None:
        self._send(
            "PATCH", f"{TASKS_PATH}/{task_id}", {"properties": {"hs_task_status": "COMPLETED"}}
        )

    def ensure_properties(self, names: Sequence[str]) -> list[str]:
        """Create the contact properties that do not exist yet (a 409: someone else did)."""
        existing = {p.get("name") for p in self._send("GET", PROPERTIES_PATH, None)["results"]}
        created = []
        for name in names:
            if name in existing:
                continue
            definition = {
                "name": name,
                "label": name.replace("_", " ").replace("leadflow", "leadflow:", 1),
                "type": "string",
                "fieldType": "text",
                "groupName": PROPERTY_GROUP,
                "description": "Written by leadflow (leadflow writeback); do not edit.",
            }
            try:
                self._send("POST", PROPERTIES_PATH, definition)
            except WriteRefused as refused:
                if not refused.reason.startswith("HTTP 409"):
                    raise
            created.append(name)
        return created

    def update_contacts(self, inputs: Sequence[tuple[str, Mapping[str, str]]]) -> set[str]:
        """Batch-update contacts (at most 100); the contact ids HubSpot did not find."""
        if len(inputs) > BATCH_SIZE:
            raise ValueError(f"at most {BATCH_SIZE} contacts per batch update")
        body = {"inputs": [{"id": cid, "properties": dict(props)} for cid, props in inputs]}
        answer = self._send("POST", BATCH_UPDATE_PATH, body)
        missing: set[str] = set()
        for error in answer.get("errors") or []:
            ids = (error.get("context") or {}).get("ids") or []
            missing.update(str(i) for i in ids)
        return missing

    def close(self) -> None:
        self.client.close()
        self.creating.close()
