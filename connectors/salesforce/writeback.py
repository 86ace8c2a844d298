"""Writing to Salesforce: a Task for each SLA breach, leadflow's values on the lead.

Every request goes through the one transport (``leadflow.connectors.http``) on the org's
session (``leadflow.connectors.salesforce.client``): reads (a Task search, the Lead
describe) are retried after a failure; an update (PATCH) is idempotent and retried too; a
Task creation (POST) is not idempotent, so the transport repeats it only when no
connection was made (``NotSent``), and a 5xx answer to it is ``OutcomeUnknown``: the caller
leaves its ledger row pending and looks the Task up by its key (``find_task``) before it
ever asks again. A refusal (4xx) is a ``WriteRefused`` naming the status, Salesforce's
``errorCode`` and the fields, never a value.

Docs followed:
* Create a record: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm
  (``POST /services/data/vXX.X/sobjects/Task``, 201 ``{"id", "success", "errors"}``)
* Task fields: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
  (``WhoId`` the lead or contact, ``OwnerId`` the assignee, ``ActivityDate`` the due date
  (a date), ``Subject``, ``Description``, ``Status``, ``Priority``, ``TaskSubtype``)
* Update a record: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
  (``PATCH .../sobjects/Task/{id}``, 204 No Content)
* sObject Collections update: https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html
  (``PATCH .../composite/sobjects``, at most 200 records with ``attributes.type`` and ``id``,
  ``allOrNone`` false: a SaveResult list in order, ``errors: [{statusCode, message, fields}]``)
* Describe: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
  (``GET .../sobjects/Lead/describe``, ``fields[].name``)
* Errors: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm

Salesforce custom fields cannot be created through the REST API (that is the Metadata API's,
with an admin's rights), so ``ensure_properties`` only checks that the Lead has the fields
``Leadflow_Stage__c``, ``Leadflow_Fit_Score__c``, ``Leadflow_Engagement_Score__c`` and
``Leadflow_Reasons__c`` (text) and refuses, naming the missing ones, when it does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from leadflow.connectors.errors import ConnectorError, OutcomeUnknown, WriteRefused
from leadflow.connectors.http import build_retry
from leadflow.connectors.salesforce.client import SalesforceClient, open_session
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.connectors.salesforce.errors import SOURCE, classify_error
from leadflow.connectors.salesforce.soql import quote

COLLECTION_SIZE = 200
# leadflow's property names -> the Lead's custom fields (API names).
LEAD_FIELDS = {
    "leadflow_stage": "Leadflow_Stage__c",
    "leadflow_fit_score": "Leadflow_Fit_Score__c",
    "leadflow_engagement_score": "Leadflow_Engagement_Score__c",
    "leadflow_reasons": "Leadflow_Reasons__c",
}
GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "INVALID_ID_FIELD"})


def __init__(self, reason: str) -> None:
    self.reason = reason
    super().__init__(SOURCE, reason)


def _where(response: requests.Response) -> str:
    request = response.request
    path = requests.utils.urlparse(request.url or "").path if request is not None else "?"
    return f"{request.method if request is not None else '?'} {path}"


def refusal(status: int, body: Any, where: str) -> str:
    """``HTTP 400 REQUIRED_FIELD_MISSING on POST /...: Status``: status, codes and the
    fields Salesforce names, never the message (it may quote a value)."""
    errors = body if isinstance(body, list) else [body]
    codes, fields = [], []
    for error in errors:
        if isinstance(error, Mapping):
            code = error.get("errorCode") or error.get("statusCode")
            codes += [str(code)] if code else []
            fields += [str(f) for f in error.get("fields") or [] if isinstance(f, str)]
    text = f"HTTP {status}{' ' + ', '.join(dict.fromkeys(codes)) if codes else ''} on {where}"
    return f"{text}: {', '.join(dict.fromkeys(fields))}" if fields else text


def classify_write(response: requests.Response, body: Any) -> ConnectorError | None:
    """Salesforce's own reading first (session, daily limit); then a 4xx other than 429 is a
    ``WriteRefused``."""
    known = classify_error(response, body)
    status = response.status_code
    if known is not None or status == 429 or status >= 500:
        return known
    return WriteRefused(SOURCE, refusal(status, body, _where(response)))


def classify_create(response: requests.Response, body: Any) -> ConnectorError | None:
    """As ``classify_write``, but a 5xx is ``OutcomeUnknown``: not retried (module doc)."""
    if response.status_code >= 500:
        return OutcomeUnknown(
            SOURCE, f"HTTP {response.status_code} on {_where(response)}: outcome unknown"
        )
    return classify_write(response, body)


class SalesforceWriter:
    """The writes of one org (its session and allowance, the transport)."""

    batch_size = COLLECTION_SIZE  # leads per collection update
    missing_reason = "ENTITY_IS_DELETED or INVALID_CROSS_REFERENCE_KEY: the lead"
    refused: tuple[type[ConnectorError], ...] = (WriteRefused,)
    unknown: tuple[type[ConnectorError], ...] = (OutcomeUnknown,)

    def __init__(self, config: SalesforceConfig) -> None:
        self.client: SalesforceClient = open_session(config)
        # Updates (PATCH) are idempotent: repeated after a failure; a creation (POST) only
        # when it never left.
        self.client.session.retry = build_retry(
            attempts=config.max_attempts,
            backoff_factor=config.backoff_seconds,
            methods=("GET", "PATCH"),
        )
        self.config = config

    def _send(self, method: str, path: str, body: Any, classify: Any = classify_write) -> Any:
        """A write under the org's data path (the daily reserve kept, as for reads)."""
        path = self.client.data_path + path
        return self.client.exchange(method, path, classify=classify, json=body)

    def create_task(self, fields: Mapping[str, str], record_id: str) -> str:
        """Create a Task on the lead (``WhoId``); its id."""
        body = {**fields, "WhoId": record_id}
        answer = self._send("POST", "/sobjects/Task", body, classify_create)
        if not isinstance(answer, Mapping) or not answer.get("id"):
            raise OutcomeUnknown(
                SOURCE, "POST /sobjects/Task answered without an id: outcome unknown"
            )
        return str(answer["id"])

    def find_task(self, token: str, marker: str) -> str | None:
        """The Task whose subject holds ``token`` and whose description holds ``marker``
        (the lowest id if several)."""
        soql = (
            "SELECT Id, Description FROM Task WHERE Subject LIKE "
            f"{quote('%' + token + '%')} ORDER BY Id LIMIT 10"
        )
        found = self.client.query(soql)
        ids = [
            str(row["Id"])
            for row in found.get("records") or []
            if marker in str(row.get("Description") or "")
        ]
        return min(ids) if ids else None

    def complete_task(self, task_id: str) -> None:
        self._send("PATCH", f"/sobjects/Task/{task_id}", {"Status": "Completed"})

    def ensure_properties(self, names: Sequence[str]) -> list[str]:
        """Check the Lead has leadflow's fields (none is created: module doc)."""
        described = self._send("GET", "/sobjects/Lead/describe", None)
        have = {str(f.get("name")) for f in described.get("fields") or []}
        missing = [LEAD_FIELDS[n] for n in names if LEAD_FIELDS[n] not in have]
        if missing:
            raise WriteRefused(
                SOURCE,
                "the Lead lacks the custom fields "
                + ", ".join(missing)
                + " (create them as text fields in Setup, or set writeback.properties false)",
            )
        return []

    def update_contacts(self, inputs: Sequence[tuple[str, Mapping[str, str]]]) -> set[str]:
        """Update leads (at most 200); the lead ids Salesforce found gone."""
        if len(inputs) > COLLECTION_SIZE:
            raise ValueError(f"at most {COLLECTION_SIZE} records per collection update")
        records = [
            {"attributes": {"type": "Lead"}, "id": lead_id}
            | {LEAD_FIELDS[name]: value or None for name, value in values.items()}
            for lead_id, values in inputs
        ]
        answer = self._send(
            "PATCH", "/composite/sobjects", {"allOrNone": False, "records": records}
        )
        results = answer if isinstance(answer, list) else []
        missing: set[str] = set()
        for (lead_id, _), result in zip(inputs, results, strict=False):
            codes = {str(e.get("statusCode")) for e in result.get("errors") or []}
            if not result.get("success") and codes & GONE:
                missing.add(lead_id)
            elif not result.get("success"):
                raise WriteRefused(SOURCE, f"HTTP 200 {', '.join(sorted(codes))} on a lead update")
        return missing

    def close(self) -> None:
        self.client.close()
