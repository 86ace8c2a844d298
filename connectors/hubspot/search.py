"""Incremental reads of any HubSpot CRM object through the search API.

Docs followed: https://developers.hubspot.com/docs/api/crm/search (``POST
/crm/v3/objects/{objectType}/search``: filterGroups, one sort rule, ``limit`` <= 200,
``after``, ``total``, at most 10,000 results per query; contacts are modified at
``lastmodifieddate``, every other object at ``hs_lastmodifieddate``).

Windowing: a query sorted by the modification date ascending pages until it nears the
10,000-result cap; then every record sharing the last timestamp seen is read in a tie
window ordered by the numeric ``hs_object_id`` (restartable with ``hs_object_id GT``), and
the main window resumes strictly after that timestamp. Ties are never assumed to come back
in id order, and ``hs_object_id`` is compared as a number (a string compare skips records).
Within a window, pages follow ``paging.next.after`` through ``leadflow.connectors.pagination``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from leadflow.connectors.base import Page
from leadflow.connectors.hubspot.client import SOURCE, HubSpotClient
from leadflow.connectors.pagination import Cursor, paginate
from leadflow.models.records.contact import parse_timestamp

log = logging.getLogger(__name__)

RESULT_CAP = 10_000
ID_PROPERTY = "hs_object_id"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """What to search: the object, the property it is modified at, the properties to read."""

    object_type: str
    cursor_property: str
    properties: tuple[str, ...]


def epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def modified_at(record: Mapping[str, Any], cursor_property: str) -> datetime | None:
    value = (record.get("properties") or {}).get(cursor_property) or record.get("updatedAt")
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def next_after(reply: Mapping[str, Any]) -> str | None:
    """HubSpot's cursor of the next page (``paging.next.after``), absent on the last page."""
    return ((reply.get("paging") or {}).get("next") or {}).get("after")


AFTER = Cursor(next_after, param="after")


def _record_id(record: Mapping[str, Any]) -> int:
    return int((record.get("properties") or {}).get(ID_PROPERTY) or record["id"])


class _Walk:
    """The state of one extraction: pages yielded, the highest cursor seen, notes due."""

    def __init__(
        self, client: HubSpotClient, spec: SearchSpec, partition: str, notes: tuple[str, ...]
    ) -> None:
        self.client = client
        self.spec = spec
        self.partition = partition
        self.number = 0
        self.cursor: datetime | None = None
        self.capped = False
        self.notes = notes

    def window(self, filters: list[dict], sort: str) -> Iterator[Page]:
        """Page one query; afterwards ``capped`` says the 10,000 cap stopped it early."""
        fetched = 0
        total: int | None = None
        self.capped = False
        where = f"POST /crm/v3/objects/{self.spec.object_type}/search"
        search = partial(self._search, filters, sort)
        for page in paginate(search, AFTER, source=SOURCE, where=where):
            reply = page.reply
            records = list(reply.get("results") or [])
            total = reply.get("total") if total is None else total
            fetched += len(records)
            self.capped = not page.last and fetched + self.client.config.page_size > RESULT_CAP
            if page.last and isinstance(total, int) and total != fetched:
                self.notes += (self._mismatch(total, fetched),)
            yield self._page(records)
            if self.capped:
                return

    def _search(self, filters: list[dict], sort: str, after: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": list(self.spec.properties),
            "limit": self.client.config.page_size,
            **after,
        }
        return self.client.search(body, self.spec.object_type)

    def _mismatch(self, total: int, fetched: int) -> str:
        return (
            f"hubspot: {self.spec.object_type} search reported {total} results "
            f"but {fetched} were read (records changed while paging; the lookback re-reads them)"
        )

    def _page(self, records: list[dict[str, Any]]) -> Page:
        for record in records:
            moment = modified_at(record, self.spec.cursor_property)
            if moment is not None and (self.cursor is None or moment > self.cursor):
                self.cursor = moment
        self.number += 1
        notes, self.notes = self.notes, ()
        return Page(records, self.cursor, self.number, self.partition, notes)


def search_pages(
    client: HubSpotClient,
    spec: SearchSpec,
    partition: str,
    start: datetime | None,
    notes: tuple[str, ...] = (),
) -> Iterator[Page]:
    """Every record of ``spec`` modified at or after ``start``, cursor ascending.

    ``notes`` go on the first page; a count mismatch on the page that ends a window.
    """
    walk = _Walk(client, spec, partition, notes)
    cursor = spec.cursor_property
    lower, operator = start or EPOCH, "GTE"
    while True:
        bound = {"propertyName": cursor, "operator": operator, "value": epoch_ms(lower)}
        last_modified = None
        for page in walk.window([bound], cursor):
            moments = (modified_at(record, cursor) for record in page.records)
            last_modified = max(filter(None, moments), default=last_modified)
            yield page
        if not walk.capped or last_modified is None:
            return
        log.info(
            "hubspot %s: result cap reached, reading ties at %s",
            spec.object_type,
            last_modified.isoformat(),
        )
        yield from _tie_window(walk, last_modified)
        lower, operator = last_modified, "GT"


def _tie_window(walk: _Walk, moment: datetime) -> Iterator[Page]:
    """Every record whose cursor equals ``moment``, by numeric id, restartable by id."""
    at = epoch_ms(moment)
    cursor = walk.spec.cursor_property
    above: int | None = None
    while True:
        filters = [
            {"propertyName": cursor, "operator": "GTE", "value": at},
            {"propertyName": cursor, "operator": "LTE", "value": at},
        ]
        if above is not None:
            filters.append({"propertyName": ID_PROPERTY, "operator": "GT", "value": str(above)})
        for page in walk.window(filters, ID_PROPERTY):
            above = max((_record_id(r) for r in page.records), default=above)
            yield page
        if not walk.capped:
            return
