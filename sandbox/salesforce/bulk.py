"""Bulk API 2.0 query jobs: create, poll, page through the CSV results, abort, delete.

* ``POST /services/data/vXX.X/jobs/query`` ``{"operation": "query"|"queryAll", "query": SOQL,
  "columnDelimiter"?, "lineEnding"?}`` answers the job in state ``UploadComplete``
  (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm;
  the fields of the walkthrough's example: id, operation, object, createdById, createdDate,
  systemModstamp, state, concurrencyMode, contentType, apiVersion, lineEnding,
  columnDelimiter).
* ``GET .../jobs/query/{id}`` shows the state moving ``UploadComplete`` -> ``InProgress`` ->
  ``JobComplete`` (here: after ``polls`` polls in progress, or ``seconds`` after creation),
  or ``Failed`` (with ``errorMessage``) / ``Aborted``; plus jobType, numberRecordsProcessed,
  retries, totalProcessingTime (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm).
* ``GET .../jobs/query/{id}/results?locator=&maxRecords=`` answers CSV (``text/csv``) with
  ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` (the next set's locator, the string
  ``null`` after the last; a locator like ``MTAwMDA``), only once the job is JobComplete, with
  the API version that created the job (else 409)
  (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm).
  Every result set starts with the header row.
* ``PATCH .../jobs/query/{id}`` ``{"state": "Aborted"}`` aborts; ``DELETE`` deletes (204)
  (.../query_abort_job.htm, .../query_delete_job.htm).
The rows are the query's result when the job completes. Errors whose text the docs do not give
(results asked for too early, a bad locator) answer ``[{"errorCode", "message"}]`` with
wording of this sandbox's own.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadflow.sandbox.salesforce import evaluate, limits, soql
from leadflow.sandbox.salesforce.evaluate import Path
from leadflow.sandbox.salesforce.ids import make_id, sf_datetime
from leadflow.sandbox.salesforce.shapes import DELIMITERS, LINE_ENDINGS, csv_text
from leadflow.sandbox.salesforce.store import Store
from leadflow.sandbox.server import Request, Response, json_response

DEFAULT_MAX_RECORDS = 50_000


@dataclass
class Job:
    id: str
    operation: str
    query: soql.Query
    version: str
    created_by: str
    delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "UploadComplete"
    polls: int = 0
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    rows: list[dict[str, Any]] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    error: str | None = None

    def info(self, full: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.query.object_name,
            "createdById": self.created_by,
            "createdDate": sf_datetime(self.created),
            "systemModstamp": sf_datetime(self.modified),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version[1:]),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
        }
        if full:
            body.update(
                jobType="V2Query",
                numberRecordsProcessed=len(self.rows),
                retries=0,
                totalProcessingTime=0,
                isPkChunkingSupported=True,
            )
        if self.error:
            body["errorMessage"] = self.error
        return body


def _bad(message: str, code: str = "INVALIDJOB") -> Response:
    return limits.error(400, code, message)


class BulkApi:
    """Query jobs over a :class:`Store`; ``polls`` status reads show InProgress first."""

    def __init__(
        self,
        store: Store,
        polls: int = 1,
        max_records: int = DEFAULT_MAX_RECORDS,
        seconds: float | None = None,
    ) -> None:
        self.store, self.polls, self.max_records = store, polls, max_records
        self.seconds = seconds  # when set, a job completes this long after creation instead
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._serial = 0

    def create(self, request: Request, version: str, user_id: str) -> Response:
        body = request.json()
        if not isinstance(body, dict) or body.get("operation") not in ("query", "queryAll"):
            return _bad("Invalid operation: expected query or queryAll")
        delimiter, ending = body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF")
        if delimiter not in DELIMITERS or ending not in LINE_ENDINGS:
            return _bad("Invalid columnDelimiter or lineEnding")
        query = soql.parse(str(body.get("query") or ""))
        evaluate.select(query)
        with self._lock:
            self._serial += 1
            job = Job(
                make_id("BulkJob", self._serial),
                body["operation"],
                query,
                version,
                user_id,
                delimiter,
                ending,
            )
            self.jobs[job.id] = job
        return json_response(200, job.info(full=False))

    def info(self, version: str, job_id: str) -> Response:
        job = self.jobs.get(job_id)
        if job is None:
            return limits.not_found()
        with self._lock:
            self._advance(job)
        return json_response(200, job.info(full=True))

    def _advance(self, job: Job) -> None:
        if job.state not in ("UploadComplete", "InProgress"):
            return
        job.polls += 1
        job.modified = datetime.now(UTC)
        if self.seconds is not None:
            running = (job.modified - job.created).total_seconds() < self.seconds
        else:
            running = job.polls <= self.polls
        if running:
            job.state = "InProgress"
        else:
            self.complete(job.id)

    def complete(self, job_id: str) -> None:
        """Run the job's query now and mark it JobComplete."""
        job = self.jobs[job_id]
        rows = self.store.rows(job.query.object_name, include_deleted=job.operation == "queryAll")
        job.paths, job.rows = evaluate.run(job.query, rows, self.store.get)
        job.state, job.modified = "JobComplete", datetime.now(UTC)

    def fail(self, job_id: str, message: str = "Query timed out") -> None:
        """The job ends Failed with ``errorMessage``."""
        job = self.jobs[job_id]
        job.state, job.error, job.modified = "Failed", message, datetime.now(UTC)

    def results(self, request: Request, version: str, job_id: str) -> Response:
        job = self.jobs.get(job_id)
        if job is None:
            return limits.not_found()
        if job.version != version:
            return limits.error(409, "INVALIDJOB", "Use the API version that created the job")
        if job.state != "JobComplete":
            return _bad(f"Job is in state {job.state}, not JobComplete")
        start = _offset(request.param("locator"))
        size = request.param("maxRecords")
        if start is None or start > len(job.rows) or (size is not None and not size.isdigit()):
            return _bad(
                "Invalid locator or maxRecords",
                "INVALID_LOCATOR" if start is None else "INVALIDJOB",
            )
        end = start + (int(size) if size and int(size) > 0 else self.max_records)
        text = csv_text(
            job.rows[start:end], job.paths, self.store.get, job.delimiter, job.line_ending
        )
        locator = _locator(end) if end < len(job.rows) else "null"
        headers = {
            "Content-Type": "text/csv",
            "Sforce-Locator": locator,
            "Sforce-NumberOfRecords": str(len(job.rows[start:end])),
        }
        return Response(200, text.encode("utf-8"), headers)

    def abort(self, request: Request, version: str, job_id: str) -> Response:
        job = self.jobs.get(job_id)
        if job is None:
            return limits.not_found()
        body = request.json()
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            return _bad("Only the state Aborted can be set on a query job")
        if job.state in ("JobComplete", "Failed"):
            return _bad(f"Job is already {job.state}")
        job.state, job.modified = "Aborted", datetime.now(UTC)
        return json_response(200, job.info(full=False))

    def delete(self, version: str, job_id: str) -> Response:
        if self.jobs.pop(job_id, None) is None:
            return limits.not_found()
        return Response(204)


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str | None) -> int | None:
    if locator is None or locator == "":
        return 0
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
