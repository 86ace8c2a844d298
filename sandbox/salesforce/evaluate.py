"""Running a parsed SOQL query against the store: field resolution, filter, order, limit, and
the two result shapes (REST JSON records, Bulk CSV rows).

* Field names, object names and relationship names are case-insensitive; an unknown field is
  ``INVALID_FIELD`` ("No such column 'X' on entity 'Lead'..."), an unknown object
  ``INVALID_TYPE`` ("sObject type 'X' is not supported..."), an unknown relationship
  ``INVALID_FIELD`` ("Didn't understand relationship 'X' in field path..."); a literal of the
  wrong type for its field is ``INVALID_FIELD`` ("value of filter criterion for field 'X'
  must be of type dateTime and should not be enclosed in quotes"). Messages as Salesforce
  writes them (error example of https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
  and the SOQL reference's field pages).
* String comparisons are case-insensitive; ``!= x`` and ``NOT IN`` include nulls; ORDER BY puts
  nulls first unless NULLS LAST
  (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm).
* A relationship field comes back as a nested record with its own ``attributes`` (null when
  the reference is empty): ``"Owner": {"attributes": {"type": "User", "url": ...}, "Name": ...}``
  (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_using.htm).
  In a Bulk CSV the column is named with the dots (``Owner.Name``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from leadflow.sandbox.salesforce import schema
from leadflow.sandbox.salesforce.ids import normalize_id, object_of
from leadflow.sandbox.salesforce.soql import Comparison, Literal, Query, error_at

Lookup = Callable[[str], dict[str, Any] | None]
_EXPECTED = {
    schema.DATETIME: ("datetime", "dateTime", "should not be enclosed in quotes"),
    schema.DATE: ("date", "date", "should not be enclosed in quotes"),
    schema.BOOLEAN: ("boolean", "boolean", "should not be enclosed in quotes"),
    schema.NUMBER: ("number", "double", "should not be enclosed in quotes"),
}
INVALID_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a "
    "custom field, be sure to append the '__c' after the custom field name. Please "
    "reference your WSDL or the describe call for the appropriate names."
)
INVALID_RELATION = (
    "Didn't understand relationship '{name}' in field path. If you are attempting "
    "to use a custom relationship, be sure to append the '__r' after the custom "
    "relationship name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


@dataclass(frozen=True)
class Path:
    """A resolved field path: relationship hops (reference field, relationship name), the
    field's canonical name and type."""

    hops: tuple[tuple[str, str], ...]
    name: str
    kind: str

    @property
    def label(self) -> str:
        return ".".join([*(rel for _, rel in self.hops), self.name])


def resolve(query: Query, text: str, offset: int) -> Path:
    """The canonical path of ``text`` (``Owner.UserRole.Name``) on the query's object."""
    obj, fields, hops = query.object_name, schema.field_names(query.object_name), []
    *relations, last = text.split(".")
    for name in relations:
        found = schema.relationship(obj, name) if obj else None
        if found is None:
            raise error_at(query.text, offset, INVALID_RELATION.format(name=name), "INVALID_FIELD")
        ref, rel, targets = found
        hops.append((ref, rel))
        obj, fields = (
            (targets[0], schema.field_names(targets[0]))
            if len(targets) == 1
            else ("", schema.NAME_FIELDS)
        )
    canonical = next((f for f in fields if f.lower() == last.lower()), None)
    if canonical is None:
        entity = obj or "Name"
        raise error_at(
            query.text, offset, INVALID_COLUMN.format(name=last, entity=entity), "INVALID_FIELD"
        )
    return Path(tuple(hops), canonical, fields[canonical])


def value_at(record: dict[str, Any] | None, path: Path, lookup: Lookup) -> Any:
    for ref, _ in path.hops:
        target = record.get(ref) if record else None
        record = lookup(target) if target else None
    if record is None:
        return None
    if path.name == "Type" and "Type" not in record:
        return object_of(record["Id"])
    return record.get(path.name)


def _check(query: Query, comparison: Comparison, path: Path) -> None:
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    want, label, quoting = _EXPECTED.get(
        path.kind, ("string", "string", "should be enclosed in quotes")
    )
    for literal in values:
        if literal.kind not in (want, "null"):
            detail = (
                f"value of filter criterion for field '{path.name}' must be of type {label} "
                f"and {quoting}"
            )
            raise error_at(query.text, comparison.offset, detail, "INVALID_FIELD")


def _key(value: Any, kind: str) -> Any:
    if isinstance(value, str):
        return (
            normalize_id(value)
            if kind in (schema.ID, schema.REFERENCE) and len(value) == 15
            else (value if kind in (schema.ID, schema.REFERENCE) else value.casefold())
        )
    return value


def _compare(value: Any, op: str, literal: Literal | tuple[Literal, ...], kind: str) -> bool:
    if isinstance(literal, tuple):
        found = value is not None and any(
            _key(value, kind) == _key(item.value, kind) for item in literal
        )
        return found if op == "IN" else not found
    wanted = literal.value
    if op == "LIKE":
        pattern = fnmatch.translate(str(wanted).casefold().replace("%", "*").replace("_", "?"))
        return value is not None and re.match(pattern, str(value).casefold()) is not None
    if op in ("=", "!="):
        equal = (
            value is None
            if wanted is None
            else (value is not None and _key(value, kind) == _key(wanted, kind))
        )
        return equal if op == "=" else not equal
    if value is None or wanted is None:
        return False
    left, right = _key(value, kind), _key(wanted, kind)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


Predicate = Callable[[dict[str, Any]], bool]


def predicate(query: Query, lookup: Lookup) -> Predicate:
    """The WHERE clause as a function of a record (True when there is none)."""

    def build(node: Any) -> Predicate:
        if isinstance(node, Comparison):
            path = resolve(query, node.path, node.offset)
            _check(query, node, path)
            return lambda row: _compare(value_at(row, path, lookup), node.op, node.value, path.kind)
        parts = [build(part) for part in node.parts]
        if node.op == "NOT":
            return lambda row: not parts[0](row)
        if node.op == "AND":
            return lambda row: all(part(row) for part in parts)
        return lambda row: any(part(row) for part in parts)

    return build(query.where) if query.where is not None else (lambda row: True)


def _sort_value(value: Any, kind: str) -> Any:
    if isinstance(value, str):
        return value if kind in (schema.ID, schema.REFERENCE) else value.casefold()
    if isinstance(value, datetime | date | bool | int | float):
        return value
    return str(value)


def ordered(query: Query, rows: list[dict[str, Any]], lookup: Lookup) -> list[dict[str, Any]]:
    """``rows`` in the query's ORDER BY (stable; by Id when there is none)."""
    for item in reversed(query.order):
        path = resolve(query, item.path, item.offset)
        null_high = item.nulls_last != item.descending

        def key(
            row: dict[str, Any], path: Path = path, null_high: bool = null_high
        ) -> tuple[Any, ...]:
            value = value_at(row, path, lookup)
            if value is None:
                return (1,) if null_high else (0,)
            return (
                (0, _sort_value(value, path.kind))
                if null_high
                else (1, _sort_value(value, path.kind))
            )

        rows = sorted(rows, key=key, reverse=item.descending)
    return rows


def select(query: Query) -> list[Path]:
    """The resolved SELECT list (an unknown object: INVALID_TYPE)."""
    found = schema.find_object(query.object_name)
    if found is None:
        detail = (
            f"sObject type '{query.object_name}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name. Please reference "
            "your WSDL or the describe call for the appropriate names."
        )
        raise error_at(query.text, query.object_offset, detail, "INVALID_TYPE")
    query.object_name = found
    return [resolve(query, text, offset) for text, offset in query.fields]


def run(
    query: Query, rows: list[dict[str, Any]], lookup: Lookup
) -> tuple[list[Path], list[dict[str, Any]]]:
    """(the resolved SELECT list, the matching rows in order, LIMIT and OFFSET applied)."""
    paths = select(query)
    keep = predicate(query, lookup)
    matched = ordered(query, [row for row in rows if keep(row)], lookup)
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    return paths, matched[start:end]
