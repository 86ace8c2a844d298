"""The SOQL a sync sends: one object, its fields, a ``SystemModstamp`` window, an order.

Docs followed (SOQL and SOSL Reference):
- SELECT syntax: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
- dateTime literals, unquoted, ``YYYY-MM-DDThh:mm:ssZ``:
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
- AND/OR must be parenthesized when mixed; ``IN`` lists:
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_logicaloperators.htm
- ``COUNT()``: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_count.htm
- Bulk API 2.0 queries take no ORDER BY (it disables PK chunking):
  https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm

Why ``SystemModstamp``: System Fields
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm) has it
change when "a user or automated process" modifies a record, ``LastModifiedDate`` only
when a user does; a sync on the latter misses automated updates. A window is inclusive
(``SystemModstamp >= start``), ordered by ``SystemModstamp, Id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

CURSOR_FIELD = "SystemModstamp"
IN_BATCH = 200  # ids per IN list: a query's GET URL stays far below its length limit
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """What to read of one object: its fields (``Id`` and the cursor always among them) and
    whether it has ``IsDeleted`` (then it is read with queryAll and deleted rows skipped)."""

    name: str
    fields: tuple[str, ...]
    deletable: bool = True
    cursor: str = CURSOR_FIELD  # LeadHistory rows never change: CreatedDate
    where: str | None = None  # a fixed condition besides the window

    def selected(self) -> tuple[str, ...]:
        extra = ("IsDeleted",) if self.deletable else ()
        return tuple(dict.fromkeys(("Id", *self.fields, self.cursor, *extra)))


Keyset = tuple[datetime, str]
"""The last row read, (``SystemModstamp``, ``Id``): a query resumes strictly after it."""


def soql_datetime(moment: datetime) -> str:
    """A dateTime literal in UTC, to the second (a lower bound floored: inclusive)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window(
    start: datetime | None, after: Keyset | None = None, cursor: str = CURSOR_FIELD
) -> str | None:
    """The WHERE clause of a window: from ``start`` inclusive, or strictly after the row
    ``after`` names (its timestamp, then a higher ``Id`` at that same timestamp), so a
    query asked again mid-walk neither skips nor repeats rows that share a timestamp.
    A timestamp with a fraction of a second, or an id of another shape, falls back to the
    inclusive form (the rows at that second are read again; the upsert absorbs them)."""
    if after is not None:
        stamp, last_id = after
        if stamp.microsecond == 0 and _ID.fullmatch(last_id):
            at = soql_datetime(stamp)
            return f"({cursor} > {at} OR ({cursor} = {at} AND Id > '{last_id}'))"
        return f"{cursor} >= {soql_datetime(stamp)}"
    return f"{cursor} >= {soql_datetime(start)}" if start is not None else None


def _where(spec: ObjectSpec, clause: str | None) -> str:
    both = [f"({part})" if " OR " in part else part for part in (spec.where, clause) if part]
    return f" WHERE {' AND '.join(both)}" if both else ""


def rest_query(spec: ObjectSpec, start: datetime | None, after: Keyset | None = None) -> str:
    """The REST query of a window, ordered by the cursor field, then ``Id``."""
    fields = ", ".join(spec.selected())
    where = _where(spec, window(start, after, spec.cursor))
    return f"SELECT {fields} FROM {spec.name}{where} ORDER BY {spec.cursor} ASC, Id ASC"


def bulk_query(spec: ObjectSpec, start: datetime | None) -> str:
    """The Bulk API 2.0 query of a window: no ORDER BY (module doc)."""
    where = _where(spec, window(start, cursor=spec.cursor))
    return f"SELECT {', '.join(spec.selected())} FROM {spec.name}{where}"


def count_query(spec: ObjectSpec, start: datetime | None) -> str:
    """How many rows a window holds."""
    return f"SELECT COUNT() FROM {spec.name}{_where(spec, window(start, cursor=spec.cursor))}"


def record_ids(values: Iterable[object]) -> list[str]:
    """The well-formed record ids among ``values``, each once, in order."""
    return list(dict.fromkeys(str(v) for v in values if v and _ID.fullmatch(str(v))))


def ids_in(field: str, ids: Sequence[str]) -> str:
    """``field IN ('a', 'b')`` over well-formed record ids only (nothing else is quoted)."""
    quoted = ", ".join(f"'{value}'" for value in ids if _ID.fullmatch(value))
    return f"{field} IN ({quoted})"


def quote(text: str) -> str:
    """``text`` as a SOQL string literal: quoted, backslashes and quotes escaped
    (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
