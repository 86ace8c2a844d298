"""Thread-safe CRM object storage behind the HubSpot sandbox (contacts and engagements).

Keeps HubSpot-shaped objects of one object type plus a typed index for search, caches id orders and
search match lists per data version, and models HubSpot's documented search indexing
delay ("It may take a few moments for newly created or updated CRM objects to appear in
search results", https://developers.hubspot.com/docs/api/crm/search) when ``index_lag`` > 0:
until the lag passes, search still sees the previous version (or nothing, if new).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sandbox.data import format_hubspot_datetime
from sandbox.hubspot_properties import CONTACTS, ObjectType, property_names
from sandbox.hubspot_search import (
    SearchError,
    SearchLimits,
    build_filter_groups,
    index_properties,
    parse_sort,
    query_matches,
    sorted_ids,
)

T = TypeVar("T")


@dataclass
class _Record:
    obj: dict[str, Any]
    indexed: dict[str, Any]
    searchable_at: float = 0.0
    previous: dict[str, Any] | None = None  # what search still sees during the lag


class ObjectStore:
    """Objects of one type; every property in the type's catalogue is searchable."""

    def __init__(
        self,
        objects: Iterable[dict[str, Any]],
        *,
        index_lag: float = 0.0,
        object_type: ObjectType = CONTACTS,
    ) -> None:
        self.index_lag = index_lag
        self.object_type = object_type
        self._lock = threading.RLock()
        self._records: dict[str, _Record] = {}
        self._known = set(property_names(object_type.name)) | set(object_type.default_properties)
        self._version = 0
        self._pending_until = 0.0
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        for obj in objects:
            self.put(copy.deepcopy(obj), lagged=False)

    @property
    def known_properties(self) -> set[str]:
        with self._lock:
            return set(self._known)

    def get(self, object_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get(str(object_id))
            return record.obj if record else None

    def resolve(self, object_id: str) -> dict[str, Any] | None:
        """The object with that id, or the record it was merged into (``hs_merged_object_ids``).

        "both of the previous IDs will point to the resulting merged record"
        (https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies).
        """
        with self._lock:
            record = self._records.get(str(object_id))
            if record is None:
                target = self._cached(("merged",), self._merged_ids).get(str(object_id))
                record = self._records.get(target) if target else None
            return record.obj if record else None

    def _merged_ids(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for oid, record in self._records.items():
            for old in str(record.obj["properties"].get("hs_merged_object_ids") or "").split(";"):
                if old.strip():
                    merged[old.strip()] = oid
        return merged

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            ordered = sorted(self._records.values(), key=lambda r: int(r.obj["id"]))
            return [copy.deepcopy(r.obj) for r in ordered]

    def put(self, obj: dict[str, Any], *, lagged: bool = True) -> None:
        with self._lock:
            old = self._records.get(obj["id"])
            record = _Record(obj, index_properties(obj["properties"]))
            if lagged and self.index_lag > 0:
                record.searchable_at = time.monotonic() + self.index_lag
                record.previous = old.indexed if old and not old.obj["archived"] else None
                self._pending_until = max(self._pending_until, record.searchable_at)
            self._records[obj["id"]] = record
            self._known.update(obj["properties"])
            self._version += 1
            self._cache.clear()

    def upsert(self, properties: dict[str, Any], modified_at: datetime | None) -> dict[str, Any]:
        stamp = format_hubspot_datetime(modified_at or datetime.now(UTC))
        values = {k: None if v is None else str(v) for k, v in properties.items()}
        with self._lock:
            existing = self._records.get(str(values.get("hs_object_id")))
            if existing is None:
                oid = str(max((int(i) for i in self._records), default=100) + 1)
                obj = {"id": oid, "properties": {}, "createdAt": stamp, "archived": False}
                values.update({"hs_object_id": oid, self.object_type.created: stamp})
            else:
                obj = copy.deepcopy(existing.obj)
            obj["properties"].update(values, **{self.object_type.modified: stamp})
            obj["updatedAt"] = stamp
            self.put(obj)
            return copy.deepcopy(obj)

    def set_archived(self, object_id: str, archived: bool) -> None:
        with self._lock:
            obj = copy.deepcopy(self._records[str(object_id)].obj)
            obj["archived"] = archived
            obj.pop("archivedAt", None)
            if archived:
                obj["archivedAt"] = format_hubspot_datetime(datetime.now(UTC))
            self.put(obj)

    def _cached(self, key: Any, build: Callable[[], T]) -> T:
        with self._lock:
            full_key = (self._version, key)
            if full_key not in self._cache:
                self._cache[full_key] = build()
                while len(self._cache) > 64:
                    self._cache.popitem(last=False)
            return self._cache[full_key]

    def id_order(self, archived: bool) -> list[int]:
        """Numeric ids, ascending, of archived or non-archived objects (list endpoint)."""

        def build() -> list[int]:
            records = self._records.values()
            return sorted(int(r.obj["id"]) for r in records if r.obj["archived"] is archived)

        return self._cached(("ids", archived), build)

    def _search_docs(self) -> dict[str, dict[str, Any]]:
        now, docs = time.monotonic(), {}
        with self._lock:
            for oid, record in self._records.items():
                if record.searchable_at > now:
                    if record.previous is not None:
                        docs[oid] = record.previous
                elif not record.obj["archived"]:
                    docs[oid] = record.indexed
        return docs

    def search(self, body: dict[str, Any], limits: SearchLimits) -> list[str]:
        """All matching ids in result order (validated like HubSpot; raises SearchError)."""
        query = str(body.get("query") or "")
        if len(query) > limits.max_query_chars:
            raise SearchError(f"query exceeds {limits.max_query_chars} characters")
        known = self.known_properties
        predicate = build_filter_groups(body.get("filterGroups"), known, limits)
        name, descending = parse_sort(body.get("sorts"), known, self.object_type.created)

        stable = time.monotonic() >= self._pending_until  # nothing still being "indexed"

        def build() -> list[str]:
            docs, order = self._ordered(name, descending, stable)
            return [oid for oid in order if predicate(docs[oid]) and self._query(query, oid)]

        if not stable:
            return build()
        key = json.dumps([body.get("filterGroups"), name, descending, query], sort_keys=True)
        return self._cached(("search", key), build)

    def _ordered(
        self, name: str, descending: bool, cacheable: bool
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        if not cacheable:
            docs = self._search_docs()
            return docs, sorted_ids(docs, name, descending)
        docs = self._cached(("docs",), self._search_docs)
        return docs, self._cached(
            ("order", name, descending), lambda: sorted_ids(docs, name, descending)
        )

    def _query(self, query: str, oid: str) -> bool:
        fields = self.object_type.query_properties
        return not query or query_matches(query, self._records[oid].obj["properties"], fields)


ContactStore = ObjectStore  # the original name, still used for contacts
