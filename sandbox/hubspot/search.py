"""Filter/sort engine for the HubSpot CRM search sandbox, written from HubSpot's docs.

Source: https://developers.hubspot.com/docs/api/crm/search
(now https://developers.hubspot.com/docs/api-reference/search/guide):

* ``filterGroups`` are ORed, the ``filters`` inside one group are ANDed; at most five
  groups, six filters per group and 18 filters in total, else ``VALIDATION_ERROR``.
* Operators: LT, LTE, GT, GTE, EQ, NEQ, BETWEEN (``value``..``highValue``), IN / NOT_IN
  (``values``; string values must be lowercase), HAS_PROPERTY, NOT_HAS_PROPERTY,
  CONTAINS_TOKEN / NOT_CONTAINS_TOKEN (``*`` wildcards).
* Values are case-insensitive except for enumeration properties.
* Datetime values are epoch milliseconds (string or number); ISO-8601 strings are also
  accepted here. Number properties (``hs_object_id``) compare numerically.
* "Only one sorting rule can be applied to any search"; without one, results come "in
  order of object creation (oldest first)". Sorts may be ``{"propertyName", "direction"}``
  objects or strings (``"createdate"`` / ``"-createdate"``, the spec types them as strings).
* Records whose sort values tie come back in an unspecified order: here, by a stable hash
  of the id, never by id.
* Engagements (calls, emails, meetings) use ``hs_createdate``/``hs_lastmodifieddate``
  instead of ``createdate``/``lastmodifieddate`` ("Default returned properties" table of
  the same guide); their default sort is therefore ``hs_createdate``.
* ``date`` properties (midnight UTC, returned as ``YYYY-MM-DD``) compare like datetimes.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NUMBER = "number"
DATETIME = "datetime"
ENUMERATION = "enumeration"
STRING = "string"

PROPERTY_TYPES: dict[str, str] = {
    "hs_object_id": NUMBER,
    "createdate": DATETIME,
    "lastmodifieddate": DATETIME,
    "lifecyclestage": ENUMERATION,
    "hs_lead_status": ENUMERATION,
    "hubspot_owner_id": ENUMERATION,
    "hs_analytics_source": ENUMERATION,
    # contacts: sales fields and the sandbox's custom properties
    "hubspot_owner_assigneddate": DATETIME,
    "hs_merged_object_ids": ENUMERATION,
    "hs_legal_basis": ENUMERATION,
    "company_size": ENUMERATION,
    "preferred_demo_date": DATETIME,  # a HubSpot "date": midnight UTC
    # engagements (calls, emails, meetings)
    "hs_createdate": DATETIME,
    "hs_lastmodifieddate": DATETIME,
    "hs_timestamp": DATETIME,
    "hs_call_direction": ENUMERATION,
    "hs_call_disposition": ENUMERATION,
    "hs_call_status": ENUMERATION,
    "hs_call_duration": NUMBER,
    "hs_email_direction": ENUMERATION,
    "hs_email_status": ENUMERATION,
    "hs_meeting_outcome": ENUMERATION,
    "hs_meeting_start_time": DATETIME,
    "hs_meeting_end_time": DATETIME,
}
ALWAYS_RETURNED = ("createdate", "hs_object_id", "lastmodifieddate")
DEFAULT_PROPERTIES = (
    "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
)  # fmt: skip
QUERY_PROPERTIES = (
    "firstname", "lastname", "email", "phone", "hs_additional_emails", "fax", "mobilephone",
    "company",
)  # fmt: skip
VALUE_OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
LIST_OPERATORS = {"IN", "NOT_IN"}
PRESENCE_OPERATORS = {"HAS_PROPERTY", "NOT_HAS_PROPERTY"}
OPERATORS = VALUE_OPERATORS | LIST_OPERATORS | PRESENCE_OPERATORS | {"BETWEEN"}


class SearchError(ValueError):
    """A request HubSpot would reject with 400 VALIDATION_ERROR."""


@dataclass(frozen=True)
class SearchLimits:
    max_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18
    max_limit: int = 200
    default_limit: int = 10
    max_results: int = 10_000
    max_query_chars: int = 3000


def property_type(name: str) -> str:
    return PROPERTY_TYPES.get(name, STRING)


def parse_datetime_ms(value: Any) -> int:
    """Epoch milliseconds from a number, a numeric string or an ISO-8601 string."""
    if isinstance(value, bool):
        raise SearchError(f"{value!r} is not a valid datetime value")
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"{value!r} is not a valid datetime value") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def typed(name: str, value: Any) -> Any:
    """Comparable form of a stored property value or a filter value."""
    kind = property_type(name)
    if kind == DATETIME:
        return parse_datetime_ms(value)
    if kind == NUMBER:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise SearchError(f"{value!r} is not a valid number for {name}") from exc
    text = str(value)
    if kind == ENUMERATION:
        return text
    folded = text.casefold()
    return text if folded == text else folded


@functools.lru_cache(maxsize=65536)
def tie_hash(object_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(object_id.encode(), digest_size=8).digest(), "big")


def has_value(value: Any) -> bool:
    return value is not None and value != ""


Predicate = Callable[["Typed"], bool]


def _token_match(pattern: str, raw: Any) -> bool:
    if not has_value(raw):
        return False
    text, pattern = str(raw).casefold(), pattern.casefold()
    return fnmatch.fnmatchcase(text, pattern) or any(
        fnmatch.fnmatchcase(token, pattern) for token in text.split()
    )


def _in_values(name: str, values: list[Any]) -> set[Any]:
    if property_type(name) == STRING:
        return {str(v) for v in values}  # docs: values must already be lowercase
    return {typed(name, v) for v in values}


def _compare(op: str, left: Any, right: Any) -> bool:
    return {
        "EQ": left == right,
        "NEQ": left != right,
        "LT": left < right,
        "LTE": left <= right,
        "GT": left > right,
        "GTE": left >= right,
    }[op]


def build_filter(raw: Any, known: Iterable[str]) -> Predicate:
    """Validate one filter dict and return a predicate over typed views (``Typed``)."""
    if not isinstance(raw, dict):
        raise SearchError("Each filter must be an object")
    name, op = raw.get("propertyName"), str(raw.get("operator") or "").upper()
    if not isinstance(name, str) or not name or not op:
        raise SearchError("Each filter needs a propertyName and an operator")
    if name not in known:
        raise SearchError(f"Unable to search on property '{name}': it does not exist")
    if op not in OPERATORS:
        raise SearchError(f"Unknown filter operator '{op}'")
    if op in PRESENCE_OPERATORS:
        wanted = op == "HAS_PROPERTY"
        return lambda props: (props.get(name) is not None) is wanted
    if op in LIST_OPERATORS:
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise SearchError(f"Operator {op} requires a non-empty 'values' array")
        allowed, negate = _in_values(name, values), op == "NOT_IN"
        return lambda props: (props.get(name) is not None and props[name] in allowed) ^ negate
    if "value" not in raw or raw["value"] is None:
        raise SearchError(f"Operator {op} requires a 'value'")
    if op == "BETWEEN":
        if raw.get("highValue") is None:
            raise SearchError("Operator BETWEEN requires 'value' and 'highValue'")
        low, high = typed(name, raw["value"]), typed(name, raw["highValue"])
        return lambda props: props.get(name) is not None and low <= props[name] <= high
    if op in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
        pattern, negate = str(raw["value"]), op.startswith("NOT_")
        return lambda props: _token_match(pattern, props.stored(name)) ^ negate
    target = typed(name, raw["value"])
    if op == "NEQ":
        return lambda props: props.get(name) is None or props[name] != target
    return lambda props: props.get(name) is not None and _compare(op, props[name], target)


def build_filter_groups(groups: Any, known: Iterable[str], limits: SearchLimits) -> Predicate:
    if groups is None or groups == []:
        return lambda props: True
    if not isinstance(groups, list):
        raise SearchError("filterGroups must be an array")
    if len(groups) > limits.max_groups:
        raise SearchError(f"Too many filter groups: maximum is {limits.max_groups}")
    compiled: list[list[Predicate]] = []
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or not filters:
            raise SearchError("Each filter group must contain a non-empty 'filters' array")
        if len(filters) > limits.max_filters_per_group:
            maximum = limits.max_filters_per_group
            raise SearchError(f"Too many filters in a group: maximum is {maximum}")
        compiled.append([build_filter(f, known) for f in filters])
    if sum(len(group) for group in compiled) > limits.max_filters_total:
        raise SearchError(f"Too many filters: maximum is {limits.max_filters_total} in total")
    return lambda props: any(all(p(props) for p in group) for group in compiled)


def parse_sort(sorts: Any, known: Iterable[str], default: str = "createdate") -> tuple[str, bool]:
    """Return (property, descending); default is creation order, oldest first."""
    if sorts is None or sorts == []:
        return default, False
    if not isinstance(sorts, list):
        raise SearchError("sorts must be an array")
    if len(sorts) > 1:
        raise SearchError("Only one sorting rule can be applied to any search")
    sort = sorts[0]
    if isinstance(sort, str):
        name, descending = sort.lstrip("-"), sort.startswith("-")
    elif isinstance(sort, dict) and isinstance(sort.get("propertyName"), str):
        name, direction = sort["propertyName"], str(sort.get("direction", "ASCENDING")).upper()
        if direction not in {"ASCENDING", "DESCENDING"}:
            raise SearchError(f"Invalid sort direction '{direction}'")
        descending = direction == "DESCENDING"
    else:
        raise SearchError("Each sort must be a property name or {propertyName, direction}")
    if name not in known:
        raise SearchError(f"Unable to sort on property '{name}': it does not exist")
    return name, descending


def sorted_ids(docs: dict[str, Typed], name: str, descending: bool) -> list[str]:
    """Ids ordered by one property; missing values last; ties by a stable id hash."""
    present = [oid for oid, props in docs.items() if props.get(name) is not None]
    missing = [oid for oid, props in docs.items() if props.get(name) is None]
    present.sort(key=tie_hash)
    present.sort(key=lambda oid: docs[oid][name], reverse=descending)
    missing.sort(key=tie_hash)
    return present + missing


class Typed:
    """The typed view of an object's stored properties that filters and sorts read: each
    value as ``typed`` gives it, worked out when asked, so nothing but the stored properties
    is held (a million objects would otherwise keep a second dict each). An unset, empty or
    malformed (unsearchable) value reads as absent; ``stored`` is a value as stored (what
    token filters and the free-text query match). ``raw`` is the properties dict here;
    subclasses may hold them otherwise and override ``stored``."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def stored(self, name: str) -> Any:
        return self.raw.get(name)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.stored(name)
        if not has_value(value):
            return default
        try:
            return typed(name, value)
        except SearchError:  # a malformed stored value is not searchable
            return default

    def __getitem__(self, name: str) -> Any:
        value = self.get(name, _ABSENT)
        if value is _ABSENT:
            raise KeyError(name)
        return value


_ABSENT = object()


def query_matches(
    query: str, stored: Callable[[str], Any], fields: Iterable[str] = QUERY_PROPERTIES
) -> bool:
    """Whether the free-text ``query`` is in one of ``fields`` (``stored``: a field's value)."""
    needle = query.casefold().strip().replace("*", "")
    return not needle or any(needle in str(stored(p) or "").casefold() for p in fields)


RANGE_OPERATORS = frozenset({"GT", "GTE", "LT", "LTE", "EQ", "BETWEEN"})
ORDERED_TYPES = frozenset({DATETIME, NUMBER})


@dataclass(frozen=True)
class Range:
    """The values one property may take under a group's range filters (``None``: open)."""

    low: Any = None
    low_inclusive: bool = True
    high: Any = None
    high_inclusive: bool = True

    def narrowed(self, low: Any, low_inclusive: bool, high: Any, high_inclusive: bool) -> Range:
        """The intersection with ``[low, high]`` (either bound ``None`` for unbounded)."""
        new_low, new_low_inc = self.low, self.low_inclusive
        if low is not None and (new_low is None or low >= new_low):
            new_low_inc = low_inclusive and (new_low_inc if low == new_low else True)
            new_low = low
        new_high, new_high_inc = self.high, self.high_inclusive
        if high is not None and (new_high is None or high <= new_high):
            new_high_inc = high_inclusive and (new_high_inc if high == new_high else True)
            new_high = high
        return Range(new_low, new_low_inc, new_high, new_high_inc)


@dataclass(frozen=True)
class GroupRanges:
    """One filter group's ranges on ordered (datetime/number) properties; ``pure`` when the
    group is nothing but range filters on a single property."""

    ranges: dict[str, Range]
    pure: bool


def group_ranges(groups: Any) -> list[GroupRanges] | None:
    """The range constraints of each (already validated) filter group, for the store's
    sorted-slice fast path; ``None`` when a group has none (or one is not a finite number).

    A record outside a group's range on any property fails that group, since every range
    operator requires the property to be present (see ``build_filter``).
    """
    if not isinstance(groups, list) or not groups:
        return None
    found: list[GroupRanges] = []
    for group in groups:
        ranges: dict[str, Range] = {}
        others = 0
        for raw in group["filters"]:
            name, op = raw["propertyName"], str(raw.get("operator") or "").upper()
            if op not in RANGE_OPERATORS or property_type(name) not in ORDERED_TYPES:
                others += 1
                continue
            value = typed(name, raw["value"])
            high = typed(name, raw["highValue"]) if op == "BETWEEN" else value
            if value != value or high != high:  # NaN: no order to slice by
                return None
            bounds = {
                "GT": (value, False, None, True),
                "GTE": (value, True, None, True),
                "LT": (None, True, value, False),
                "LTE": (None, True, value, True),
                "EQ": (value, True, value, True),
                "BETWEEN": (value, True, high, True),
            }[op]
            ranges[name] = ranges.get(name, Range()).narrowed(*bounds)
        if not ranges:
            return None
        found.append(GroupRanges(ranges, pure=others == 0 and len(ranges) == 1))
    return found
