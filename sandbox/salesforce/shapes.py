"""Query results as the APIs write them: REST records (JSON) and Bulk API 2.0 rows (CSV).

* REST: each record has ``attributes`` ``{"type", "url": "/services/data/vXX.X/sobjects/Type/Id"}``
  then the selected fields in SELECT order, relationship fields nested under the relationship
  name, dateTimes as ``2013-05-20T20:49:32.000+0000``
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm).
* Bulk API 2.0: a header row naming the fields as selected (relationship fields dotted),
  every value in double quotes (``"Id","Name"`` / ``"005R0000000UyrWIAS","Jane Dunn"``, the
  example of https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm),
  an empty field for null, booleans ``true``/``false``; the column delimiter and line ending
  the job asked for (COMMA/LF by default,
  https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from leadflow.sandbox.salesforce.evaluate import Lookup, Path, value_at
from leadflow.sandbox.salesforce.ids import csv_datetime, object_of, sf_datetime

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


def attributes(record_id: str, version: str, object_name: str | None = None) -> dict[str, str]:
    kind = object_name or object_of(record_id) or "sObject"
    return {"type": kind, "url": f"/services/data/{version}/sobjects/{kind}/{record_id}"}


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _related(
    record: dict[str, Any], row: dict[str, Any], path: Path, version: str, lookup: Lookup
) -> None:
    """Write one relationship path into ``record`` (nested records, made on first use)."""
    node: dict[str, Any] | None = record
    source: dict[str, Any] | None = row
    for ref, rel in path.hops:
        target_id = source.get(ref) if source else None
        source = lookup(target_id) if target_id else None
        assert node is not None
        if rel not in node:
            node[rel] = (
                None if source is None else {"attributes": attributes(source["Id"], version)}
            )
        node = node[rel]
        if node is None:
            return
    node[path.name] = json_value(value_at(source, Path((), path.name, path.kind), lookup))


def json_record(
    row: dict[str, Any], paths: list[Path], version: str, object_name: str, lookup: Lookup
) -> dict[str, Any]:
    """One REST query record: ``attributes`` then the selected fields."""
    record: dict[str, Any] = {"attributes": attributes(row["Id"], version, object_name)}
    for path in paths:
        if path.hops:
            _related(record, row, path, version, lookup)
        else:
            record[path.name] = json_value(row.get(path.name))
    return record


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = csv_datetime(value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


def csv_text(
    rows: list[dict[str, Any]],
    paths: list[Path],
    lookup: Lookup,
    delimiter: str = "COMMA",
    line_ending: str = "LF",
) -> str:
    """A Bulk API 2.0 result set: the header row, then one line per row."""
    sep, end = DELIMITERS[delimiter], LINE_ENDINGS[line_ending]
    lines = [sep.join(f'"{path.label}"' for path in paths)]
    for row in rows:
        lines.append(sep.join(_csv_value(value_at(row, path, lookup)) for path in paths))
    return end.join(lines) + end
