"""REST API query resources: ``GET /services/data/vXX.X/query?q=SOQL``, ``/queryAll?q=SOQL``
and the next batches at ``nextRecordsUrl``.

* https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
  and .../dome_query.htm: up to 2,000 records a batch; the answer is ``{"totalSize", "done",
  "nextRecordsUrl", "records"}``, ``nextRecordsUrl`` like
  ``/services/data/v62.0/query/01gD0000002HU6KIAW-2000`` only while ``done`` is false; the next
  batch is fetched there without parameters.
* https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm:
  queryAll also returns deleted rows (``IsDeleted`` true) and archived activities.
* https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm:
  ``Sforce-Query-Options: batchSize=N``, default 2,000, minimum 200, maximum 2,000 (a size
  outside is taken to the nearest bound here; Salesforce does not guarantee the size).
* An invalid or expired locator: 400 ``INVALID_QUERY_LOCATOR``; a user keeps a limited number
  of open cursors (the oldest is closed first), https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_querymore.htm.
  queryAll's next batches are served under ``/queryAll/`` (the docs show only ``/query/``).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from leadflow.sandbox.salesforce import evaluate, limits, soql
from leadflow.sandbox.salesforce.evaluate import Path
from leadflow.sandbox.salesforce.ids import make_id
from leadflow.sandbox.salesforce.shapes import json_record
from leadflow.sandbox.salesforce.store import Store
from leadflow.sandbox.server import Request, Response, json_response

DEFAULT_BATCH, MIN_BATCH, MAX_BATCH = 2000, 200, 2000
OPEN_CURSORS = 50
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class Cursor:
    """A query's matching rows as they were when it ran, and how to show them."""

    rows: list[dict[str, Any]]
    paths: list[Path]
    object_name: str
    batch: int
    resource: str  # query | queryAll


def batch_size(request: Request) -> int:
    found = _BATCH.search(request.header("Sforce-Query-Options") or "")
    return DEFAULT_BATCH if found is None else min(max(int(found.group(1)), MIN_BATCH), MAX_BATCH)


class QueryApi:
    """The query, queryAll and query-more resources over a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._lock = threading.Lock()
        self._serial = itertools.count(1)

    def query(self, request: Request, version: str, resource: str) -> Response:
        text = request.param("q")
        if text is None:
            return limits.error(400, "MALFORMED_QUERY", "A query string has to be specified")
        parsed = soql.parse(text)
        evaluate.select(parsed)  # the object's canonical name, or INVALID_TYPE
        rows = self.store.rows(parsed.object_name, include_deleted=resource == "queryAll")
        paths, matched = evaluate.run(parsed, rows, self.store.get)
        if parsed.count_only:  # the size of the result, no records
            return json_response(200, {"totalSize": len(matched), "done": True, "records": []})
        cursor = Cursor(matched, paths, parsed.object_name, batch_size(request), resource)
        return self._page(cursor, version, 0)

    def more(self, request: Request, version: str, resource: str, locator: str) -> Response:
        cursor_id, _, start = locator.rpartition("-")
        with self._lock:
            cursor = self._cursors.get(cursor_id)
        if cursor is None or not start.isdigit() or int(start) > len(cursor.rows):
            return limits.error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, version, int(start), cursor_id)

    def _page(
        self, cursor: Cursor, version: str, start: int, cursor_id: str | None = None
    ) -> Response:
        end = start + cursor.batch
        lookup = self.store.get
        records = [
            json_record(row, cursor.paths, version, cursor.object_name, lookup)
            for row in cursor.rows[start:end]
        ]
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
        if not body["done"]:
            cursor_id = cursor_id or self._open(cursor)
            body["nextRecordsUrl"] = f"/services/data/{version}/{cursor.resource}/{cursor_id}-{end}"
        body["records"] = records
        return json_response(200, body)

    def _open(self, cursor: Cursor) -> str:
        with self._lock:
            cursor_id = make_id("QueryLocator", next(self._serial))
            self._cursors[cursor_id] = cursor
            while len(self._cursors) > OPEN_CURSORS:
                self._cursors.popitem(last=False)
        return cursor_id

    def close_cursors(self) -> None:
        """Every open query locator expires (as after 15 minutes without use)."""
        with self._lock:
            self._cursors.clear()
