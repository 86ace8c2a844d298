"""Bulk API 2.0 query jobs: create one, wait for it, read its CSV results page by page.

Docs followed:
- Create a query job: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
  (``POST /services/data/vXX.X/jobs/query``, ``{"operation": "query"|"queryAll", "query"}``;
  queryAll includes deleted and archived records)
- Job info: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm
  (``state`` UploadComplete, InProgress, JobComplete, Failed, Aborted; ``errorMessage``)
- Results: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
  (``GET .../jobs/query/{id}/results?locator=&maxRecords=``, CSV; ``Sforce-Locator`` names
  the next set, the string ``null`` after the last; ``Sforce-NumberOfRecords``; same API
  version as the job's)
- Abort: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_abort_job.htm
  (``PATCH .../jobs/query/{id}`` ``{"state": "Aborted"}``)
- SOQL considerations (no ORDER BY, no COUNT()):
  https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm

Result pages go through ``leadflow.connectors.pagination`` (a locator handed back twice is
refused) and the transport (``fetch_text``), which asks again for a page ``whole_csv`` finds
cut short: a CSV page has no JSON to fail parsing, so a body cut at a line end would
otherwise load short (``Sforce-NumberOfRecords`` is the check). Polling waits double from
``bulk_poll_seconds`` to ``bulk_poll_max_seconds``; the job is aborted once
``bulk_timeout_seconds`` of waiting have passed.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from functools import partial
from typing import Any

import requests

from leadflow.connectors.errors import ConnectorError, TerminalError, TransientError
from leadflow.connectors.pagination import Cursor, Fetched, paginate
from leadflow.connectors.salesforce.client import SalesforceClient
from leadflow.connectors.salesforce.errors import SOURCE

log = logging.getLogger(__name__)

PENDING = ("UploadComplete", "InProgress")
CSV = "text/csv"
_JOB_ID = re.compile(r"[A-Za-z0-9]{15,18}")


def next_locator(response: requests.Response) -> str | None:
    """The ``Sforce-Locator`` of the next result set; None after the last (``null``)."""
    value = (response.headers.get("Sforce-Locator") or "").strip()
    return None if value in ("", "null") else value


LOCATOR = Cursor(next_locator, param="locator")


def parse_csv(text: str, object_name: str) -> list[dict[str, Any]]:
    """CSV rows as REST records: an empty cell is null, ``Owner.Name`` becomes
    ``{"Owner": {"Name": ...}}``, and ``attributes.type`` names the object."""
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    return [_nested(row, object_name) for row in rows]


def _nested(row: dict[str | Any, Any], object_name: str) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": object_name}}
    for column, value in row.items():
        if column is None:  # more cells than the header has: not a record this parser knows
            raise TerminalError(SOURCE, "a Bulk result row has more cells than its header")
        *parents, name = str(column).split(".")
        into = record
        for parent in parents:
            into = into.setdefault(parent, {})
        into[name] = value if value not in ("", None) else None
    return record


def bulk_pages(
    client: SalesforceClient, soql: str, object_name: str, *, all_rows: bool
) -> Iterator[Fetched[list[dict[str, Any]]]]:
    """Every result page of a new query job over ``soql``, as parsed records."""
    jobs = f"{client.data_path}/jobs/query"
    job = client.post_json(jobs, {"operation": "queryAll" if all_rows else "query", "query": soql})
    job_id = str(job.get("id") or "")
    if not _JOB_ID.fullmatch(job_id):
        raise TerminalError(SOURCE, f"POST {jobs} answered without a job id")
    wait_for_job(client, f"{jobs}/{job_id}")
    path = f"{jobs}/{job_id}/results"
    read = partial(_results, client, path)
    for fetched in paginate(read, LOCATOR, source=SOURCE, where=f"GET {jobs}/<id>/results"):
        records = parse_csv(fetched.reply.text, object_name)
        yield Fetched(records, fetched.number, fetched.last)


def _results(client: SalesforceClient, path: str, params: dict[str, Any]) -> requests.Response:
    params = {"maxRecords": client.config.bulk_page_records, **params}
    return client.get_text(path, params, accept=whole_csv, media=CSV)


def whole_csv(response: requests.Response) -> ConnectorError | None:
    """None for a whole CSV result set; else a ``TransientError`` (the transport asks again):
    another content type, or a body cut short (a proxy that lost its upstream can pass on
    what it had as a complete answer): one that does not end its last line, or holds fewer
    records than ``Sforce-NumberOfRecords`` says.

    The results are UTF-8: without a charset in ``Content-Type`` requests would read
    ``text/csv`` as ISO-8859-1 (its default for ``text/*``) and garble every accent."""
    kind = response.headers.get("Content-Type", "")
    if kind.split(";")[0].strip().lower() != CSV:
        return TransientError(SOURCE, f"a Bulk result set was not CSV ({kind or 'no type'})")
    if "charset" not in kind.lower():
        response.encoding = "utf-8"
    text, expected = response.text, response.headers.get("Sforce-NumberOfRecords", "")
    rows = len(_rows(text)) if expected.isdigit() else None
    if (text and not text.endswith("\n")) or (rows is not None and rows != int(expected)):
        read = f"{rows} of {expected} records" if rows is not None else "its last line unended"
        return TransientError(SOURCE, f"a Bulk result set was cut short ({read})")
    return None


def _rows(text: str) -> list[list[str]]:
    """The CSV's data rows (the header row left out), quoted newlines kept in their cell."""
    try:
        return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))[1:]
    except csv.Error:  # a quote left open by a cut: not a whole result set
        return []


def wait_for_job(client: SalesforceClient, path: str) -> dict[str, Any]:
    """The job once ``JobComplete``; ``TerminalError`` if it failed, was aborted, or was
    still running when the waits reached the timeout (then it is aborted)."""
    config = client.config
    waited, wait = 0.0, config.bulk_poll_seconds
    while True:
        job = client.get_json(path)
        state = str(job.get("state") or "")
        if state == "JobComplete":
            return job
        if state not in PENDING:
            why = str(job.get("errorMessage") or "no errorMessage")[:300]
            raise TerminalError(SOURCE, f"Bulk query job {state or 'in no state'}: {why}")
        if waited >= config.bulk_timeout_seconds:
            _abort(client, path)
            raise TerminalError(
                SOURCE, f"Bulk query job still {state} after {waited:.0f} s of waiting "
                "(bulk_timeout_seconds): aborted",
            )  # fmt: skip
        client.sleep(wait)
        waited += wait
        wait = min(wait * 2, config.bulk_poll_max_seconds)


def _abort(client: SalesforceClient, path: str) -> None:
    try:
        client.patch_json(path, {"state": "Aborted"})
    except ConnectorError as error:  # the timeout is the failure to report, not this
        log.warning("salesforce: could not abort a Bulk query job: %s", error)
