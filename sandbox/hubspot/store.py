"""Thread-safe CRM object storage behind the HubSpot sandbox (contacts and engagements).

Keeps HubSpot-shaped objects of one object type, each searched through a typed view of its
properties (``search.Typed``), caches id orders and search match lists per data version,
and models HubSpot's documented search indexing delay ("It may take a few moments for
newly created or updated CRM objects to appear in search results",
https://developers.hubspot.com/docs/api/crm/search) when ``index_lag`` > 0: until the lag
passes, search still sees the previous version (or nothing, if new). Range searches are
answered from the cached orders by ``leadflow.sandbox.hubspot.order_slices``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, TypeVar

from leadflow.sandbox.data import format_hubspot_datetime
from leadflow.sandbox.hubspot.order_slices import Slice, span, subset_order
from leadflow.sandbox.hubspot.properties import CONTACTS, ObjectType, property_names
from leadflow.sandbox.hubspot.records import Objects, Record, Shapes
from leadflow.sandbox.hubspot.search import (
    ORDERED_TYPES,
    Predicate,
    SearchError,
    SearchLimits,
    Typed,
    build_filter_groups,
    group_ranges,
    parse_sort,
    property_type,
    query_matches,
    sorted_ids,
)

T = TypeVar("T")
# A range query whose candidate slices hold more than this share of the objects takes the
# general path (a full ordered scan is then as cheap as re-sorting the candidates).
CANDIDATE_SHARE = 0.25


class ObjectStore:
    """Objects of one type; every property in the type's catalogue is searchable."""

    def __init__(
        self,
        objects: Iterable[dict[str, Any]],
        *,
        index_lag: float = 0.0,
        object_type: ObjectType = CONTACTS,
        handed_over: bool = False,
    ) -> None:
        """``handed_over``: the caller gives ``objects`` to the store and never changes them,
        so they are taken as they are instead of copied (every write copies before it changes
        an object, so the store never changes them either). A plain object is then held as
        its values alone (``leadflow.sandbox.hubspot.records``), a copy or not."""
        self.index_lag = index_lag
        self.object_type = object_type
        self._lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._shapes = Shapes(object_type.created, object_type.modified)
        self._known = set(property_names(object_type.name)) | set(object_type.default_properties)
        self._version = 0
        self._pending_until = 0.0
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        for obj in objects:
            self.put(obj if handed_over else _copy_object(obj), lagged=False)

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
            for old in str(record.stored("hs_merged_object_ids") or "").split(";"):
                if old.strip():
                    merged[old.strip()] = oid
        return merged

    def ids(self) -> list[str]:
        """Every stored id (archived objects included), by numeric id, without copying."""
        with self._lock:
            return sorted(self._records, key=int)

    def objects(self) -> Objects:
        """The objects stored now, in the order they were first stored, each rebuilt when
        read; later writes do not change what this holds."""
        with self._lock:
            return Objects(list(self._records.values()))

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            ordered = sorted(self._records.values(), key=lambda r: int(r.oid))
            return [copy.deepcopy(r.obj) for r in ordered]

    def put(self, obj: dict[str, Any], *, lagged: bool = True) -> None:
        with self._lock:
            old = self._records.get(obj["id"])
            record = Record(obj, self._shapes)
            if lagged and self.index_lag > 0:
                record.searchable_at = time.monotonic() + self.index_lag
                record.previous = old.snapshot() if old and not old.archived else None
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
            if full_key in self._cache:
                self._cache.move_to_end(full_key)  # least recently used goes first
            else:
                self._cache[full_key] = build()
                while len(self._cache) > 64:
                    self._cache.popitem(last=False)
            return self._cache[full_key]

    def id_order(self, archived: bool) -> list[int]:
        """Numeric ids, ascending, of archived or non-archived objects (list endpoint)."""

        def build() -> list[int]:
            records = self._records.values()
            return sorted(int(r.oid) for r in records if r.archived is archived)

        return self._cached(("ids", archived), build)

    def _search_docs(self) -> dict[str, Typed]:
        now, docs = time.monotonic(), {}
        with self._lock:
            for oid, record in self._records.items():
                if record.searchable_at > now:
                    if record.previous is not None:
                        docs[oid] = record.previous
                elif not record.archived:
                    docs[oid] = record
        return docs

    def _shared_docs(self) -> dict[str, Typed]:
        """``_search_docs`` for the cache: the records themselves (a shallow copy, so a
        search never iterates a dict a concurrent write is growing) when search sees every
        one as it is (none archived, none still being indexed)."""
        now = time.monotonic()
        with self._lock:
            if any(r.archived or r.searchable_at > now for r in self._records.values()):
                return self._search_docs()
            return dict(self._records)  # type: ignore[return-value]  # Record is a Typed

    def search(self, body: dict[str, Any], limits: SearchLimits) -> Sequence[str]:
        """All matching ids in result order (validated like HubSpot; raises SearchError).

        Range filters on datetime/number properties are answered from the cached sorted
        orders (``_range_search``): the same ids in the same order as the full scan.
        """
        return self._search(body, limits, fast=True)

    def search_scan(self, body: dict[str, Any], limits: SearchLimits) -> list[str]:
        """``search`` by scanning every object (the reference the fast path must equal)."""
        return list(self._search(body, limits, fast=False))

    def _search(self, body: dict[str, Any], limits: SearchLimits, fast: bool) -> Sequence[str]:
        query = str(body.get("query") or "")
        if len(query) > limits.max_query_chars:
            raise SearchError(f"query exceeds {limits.max_query_chars} characters")
        known = self.known_properties
        groups = body.get("filterGroups")
        predicate = build_filter_groups(groups, known, limits)
        name, descending = parse_sort(body.get("sorts"), known, self.object_type.created)

        stable = time.monotonic() >= self._pending_until  # nothing still being "indexed"

        def build() -> Sequence[str]:
            docs, order = self._ordered(name, descending, stable)
            return [oid for oid in order if predicate(docs[oid]) and self._query(query, oid)]

        if not stable:
            return build()

        def build_fast() -> Sequence[str]:
            found = self._range_search(groups, name, descending, query, predicate)
            return build() if found is None else found

        key = json.dumps([groups, name, descending, query], sort_keys=True)
        if not fast:
            return self._cached(("scan", key), build)
        return self._cached(("search", key), build_fast)

    def _range_search(
        self, groups: Any, name: str, descending: bool, query: str, predicate: Predicate
    ) -> Sequence[str] | None:
        """Matches taken from sorted slices, or ``None`` when the general path must answer.

        Every range operator requires its property to be present, so a record outside a
        group's range on any one property fails that group: the union over the groups of
        one range slice each holds every match. The full predicate then runs on that union
        only, and the matches keep their place in the sort order (a slice of it, or the
        subset re-sorted by ``sorted_ids``' own keys when that order is unambiguous).
        """
        ranges = group_ranges(groups)
        if ranges is None:
            return None
        docs = self._cached(("docs",), self._shared_docs)
        spans: list[tuple[str, int, int]] = []  # (property, start, stop) per group
        for group in ranges:
            best: tuple[str, int, int] | None = None
            for prop, bounds in group.ranges.items():
                keys = self._keys(prop, descending if prop == name else False)
                if keys is None:
                    continue
                start, stop = span(keys, bounds, descending and prop == name)
                if best is None or stop - start < best[2] - best[1]:
                    best = (prop, start, stop)
            if best is None:
                return None
            spans.append(best)
        if len(spans) == 1 and ranges[0].pure and spans[0][0] == name and not query:
            order = self._ordered(name, descending, True)[1]
            return Slice(order, spans[0][1], spans[0][2])  # every id in it matches
        if all(prop == name for prop, _, _ in spans):
            order = self._ordered(name, descending, True)[1]
            merged: list[list[int]] = []
            for _, start, stop in sorted(spans, key=lambda s: s[1]):
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], stop)
                else:
                    merged.append([start, stop])
            return [
                oid
                for start, stop in merged
                for oid in order[start:stop]
                if predicate(docs[oid]) and self._query(query, oid)
            ]
        if sum(stop - start for _, start, stop in spans) > CANDIDATE_SHARE * len(docs) + 200:
            return None  # re-sorting that many candidates would cost more than a scan
        candidates: set[str] = set()
        for prop, start, stop in spans:
            own = self._ordered(prop, descending if prop == name else False, True)[1]
            candidates.update(own[start:stop])
        matched = {
            oid: docs[oid] for oid in candidates if predicate(docs[oid]) and self._query(query, oid)
        }
        return subset_order(matched, name, descending)

    def warm(self, *names: str) -> None:
        """Build the search orders of ``names`` (ascending) now rather than on the first
        search that needs them; nothing happens while an update is still being indexed."""
        with self._lock:
            if time.monotonic() >= self._pending_until:
                for name in names:
                    self._keys(name, False)

    def _keys(self, name: str, descending: bool) -> list[Any] | None:
        """The sort values along the cached order of ``name`` (negated when descending, so
        always ascending) for ``bisect``; ``None`` if the property is not ordered by
        number (or a NaN breaks the order)."""
        if property_type(name) not in ORDERED_TYPES:
            return None

        def build() -> list[Any] | None:
            docs, order = self._ordered(name, descending, True)
            keys = []
            for oid in order:  # values present first, missing ones last
                value = docs[oid].get(name)
                if value is None:
                    break
                keys.append(-value if descending else value)
            if any(k != k for k in keys) or any(a > b for a, b in pairwise(keys)):
                return None
            return keys

        return self._cached(("keys", name, descending), build)

    def _ordered(
        self, name: str, descending: bool, cacheable: bool
    ) -> tuple[dict[str, Typed], list[str]]:
        if not cacheable:
            docs = self._search_docs()
            return docs, sorted_ids(docs, name, descending)
        docs = self._cached(("docs",), self._shared_docs)
        return docs, self._cached(
            ("order", name, descending), lambda: sorted_ids(docs, name, descending)
        )

    def _query(self, query: str, oid: str) -> bool:
        fields = self.object_type.query_properties
        return not query or query_matches(query, self._records[oid].stored, fields)


_SCALARS = (str, int, float, bool, type(None))


def _copy_object(obj: dict[str, Any]) -> dict[str, Any]:
    """``copy.deepcopy`` of a CRM object, fast for the usual shape (scalar values and one
    flat ``properties`` dict): startup copies millions of them."""
    props = obj.get("properties")
    flat = isinstance(props, dict) and all(type(v) in _SCALARS for v in props.values())
    if not flat or any(type(v) not in _SCALARS for k, v in obj.items() if k != "properties"):
        return copy.deepcopy(obj)
    return {**obj, "properties": dict(props)}


ContactStore = ObjectStore  # the original name, still used for contacts
