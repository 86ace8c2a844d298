"""Reading one object incrementally on ``SystemModstamp``: REST pages for an increment, a
Bulk API 2.0 job when the window holds more than ``bulk_threshold`` rows.

Docs followed:
- Query / QueryAll / Query More Results (``done``, ``nextRecordsUrl``):
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md,
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm,
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query-more-results.html
- ``IsDeleted`` (a record in the Recycle Bin, seen by queryAll only):
  https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm
- Bulk API 2.0: ``leadflow.connectors.salesforce.bulk``

Decisions:
- The window is ``SystemModstamp >= watermark - lookback``, ordered by ``SystemModstamp, Id``;
  a page's cursor is the highest ``SystemModstamp`` read so far. Rows sharing a timestamp
  across a page boundary lose nothing when a run stops there: the watermark is a time, not
  a (time, id) pair (``sync_state`` keeps only the time), so the next run reads from that
  time inclusive and the upsert on (source, Id) absorbs the rows read twice.
- Within one run, a query cursor that expires (``INVALID_QUERY_LOCATOR``) is asked again
  strictly after the last row read, by keyset: ``SystemModstamp > X OR (SystemModstamp = X
  AND Id > last)`` (``soql.window``), so rows sharing X are neither skipped nor repeated.
- Deleted rows (queryAll, ``IsDeleted`` true) move the cursor but are not loaded: the
  warehouse has no deletion or archival of leads or touches today; each partition's last
  page notes how many were skipped.
- A Bulk job's rows come unordered (its SOQL takes no ORDER BY), so only its last page
  carries a cursor: a run stopped mid-job commits rows but no watermark, and the next run
  reads the window again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from leadflow.connectors.base import Page
from leadflow.connectors.errors import TerminalError
from leadflow.connectors.pagination import Cursor, Fetched, paginate
from leadflow.connectors.salesforce.bulk import bulk_pages
from leadflow.connectors.salesforce.client import SalesforceClient
from leadflow.connectors.salesforce.errors import SOURCE, QueryLocatorExpired
from leadflow.connectors.salesforce.soql import (
    CURSOR_FIELD,
    Keyset,
    ObjectSpec,
    bulk_query,
    count_query,
    rest_query,
)
from leadflow.models.records.contact import parse_timestamp

log = logging.getLogger(__name__)


def next_records_url(reply: Mapping[str, Any]) -> str | None:
    """The ``nextRecordsUrl`` of a reply that is not ``done``; None once it is."""
    if reply.get("done", True) is not False:
        return None
    following = reply.get("nextRecordsUrl")
    if not following:
        raise TerminalError(SOURCE, "a query reply said done: false but named no nextRecordsUrl")
    return str(following)


NEXT_RECORDS = Cursor(next_records_url, param="nextRecordsUrl")


def is_deleted(record: Mapping[str, Any]) -> bool:
    """``IsDeleted`` true (JSON true, or Bulk CSV's ``true``)."""
    return str(record.get("IsDeleted")).lower() == "true"


def modstamp(record: Mapping[str, Any], field: str = CURSOR_FIELD) -> datetime | None:
    try:
        return parse_timestamp(record.get(field))
    except ValueError:
        return None


class _Walk:
    """One object's extraction: pages yielded, the highest cursor, the last row, deletions."""

    def __init__(self, spec: ObjectSpec, partition: str) -> None:
        self.spec = spec
        self.partition = partition
        self.number = 0
        self.cursor: datetime | None = None
        self.last: Keyset | None = None
        self.deleted = 0

    def page(self, records: list[dict[str, Any]], *, last: bool, sorted_: bool) -> Page:
        kept = [record for record in records if not is_deleted(record)]
        self.deleted += len(records) - len(kept)
        for record in records:
            moment = modstamp(record, self.spec.cursor)
            if moment is not None and (self.cursor is None or moment > self.cursor):
                self.cursor = moment
            if moment is not None and record.get("Id"):
                self.last = (moment, str(record["Id"]))
        self.number += 1
        cursor = self.cursor if sorted_ or last else None
        return Page(kept, cursor, self.number, self.partition, self._notes(last))

    def _notes(self, last: bool) -> tuple[str, ...]:
        if not last or not self.deleted:
            return ()
        log.info("salesforce %s: %d deleted rows skipped", self.spec.name, self.deleted)
        return (
            f"salesforce: {self.deleted} deleted {self.spec.name} rows (IsDeleted, queryAll) "
            "skipped: leadflow keeps no deletions",
        )


def object_pages(
    client: SalesforceClient, spec: ObjectSpec, partition: str, start: datetime | None
) -> Iterator[Page]:
    """Every row of ``spec`` modified at or after ``start`` (all rows when None), as pages
    of ``partition``: by Bulk API 2.0 when the window holds more than ``bulk_threshold``
    rows, else by REST query pages."""
    walk = _Walk(spec, partition)
    threshold = client.config.bulk_threshold
    if threshold and client.count(count_query(spec, start), all_rows=spec.deletable) > threshold:
        log.info("salesforce %s: more than %d rows: a Bulk API 2.0 job", spec.name, threshold)
        soql = bulk_query(spec, start)
        for fetched in bulk_pages(client, soql, spec.name, all_rows=spec.deletable):
            yield walk.page(fetched.reply, last=fetched.last, sorted_=False)
        return
    yield from _rest_pages(client, walk, start)


def _rest_pages(client: SalesforceClient, walk: _Walk, start: datetime | None) -> Iterator[Page]:
    """REST pages, asked again by keyset after the last row when the cursor expires."""
    after: Keyset | None = None
    while True:
        try:
            soql = rest_query(walk.spec, start, after)
            for fetched in query_pages(client, soql, walk.spec.name, all_rows=walk.spec.deletable):
                yield walk.page(fetched.reply.get("records") or [], last=fetched.last, sorted_=True)
            return
        except QueryLocatorExpired:
            if walk.last is None or walk.last == after:
                raise  # nothing read since the last try: asking again would not move on
            log.info("salesforce %s: query cursor expired; asking again after the last row",
                     walk.spec.name)  # fmt: skip
            after = walk.last


def query_pages(
    client: SalesforceClient, soql: str, object_name: str, *, all_rows: bool = False
) -> Iterator[Fetched[dict[str, Any]]]:
    """Every page of one REST query, following ``nextRecordsUrl`` (never one twice)."""
    fetch = partial(_fetch, client, soql, all_rows)
    where = f"GET {client.data_path}/{'queryAll' if all_rows else 'query'} ({object_name})"
    return paginate(fetch, NEXT_RECORDS, source=SOURCE, where=where)


def _fetch(client: SalesforceClient, soql: str, all_rows: bool, params: dict[str, Any]) -> Any:
    following = params.get(NEXT_RECORDS.param)
    return client.query_more(following) if following else client.query(soql, all_rows=all_rows)
