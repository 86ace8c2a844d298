"""The Google Ads Query Language (GAQL) the sandbox serves: fields, validation, evaluation.

Docs used:
* https://developers.google.com/google-ads/api/docs/query/grammar (clauses, operators, values)
* https://developers.google.com/google-ads/api/docs/query/date-ranges (``YYYY-MM-DD`` or
  ``YYYYMMDD`` dates, ``DURING`` literals; all evaluated in the account's ``customer.time_zone``)
* https://developers.google.com/google-ads/api/docs/reporting/segmentation (the FROM resource's
  ``resource_name`` is always returned)
* https://developers.google.com/google-ads/api/fields/v24/lead_form_submission_data (fields;
  attributed resources ad_group, ad_group_ad, asset, campaign, customer: their fields may be
  selected and filtered with it; ad_group_ad is not served)
* https://developers.google.com/google-ads/api/reference/rpc/v24/Asset (``id``, ``name``
  "optional name of the asset", ``type``: AssetTypeEnum) and .../LeadFormAsset (``headline``,
  ``business_name``, ``description``, ``call_to_action_description``): served ``FROM asset``
  and joined to each submission by its ``asset``; nested messages render as nested objects
* https://developers.google.com/google-ads/api/reference/rpc/v24/QueryErrorEnum.QueryError and
  .../DateErrorEnum.DateError (error codes; the documented date and date-time string formats)

Parsing is ``leadflow.sandbox.google_ads.gaql_syntax``; this module knows the fields: it checks a
parsed query against :data:`CATALOG` and the FROM resource, turns literals into values and
evaluates the query over the sandbox's flat rows.

Shape served: ``SELECT f, ... FROM r [WHERE c AND ...] [ORDER BY f [ASC|DESC], ...] [LIMIT n]``
with ``= != > >= < <= IN NOT IN BETWEEN DURING``. Other valid GAQL (LIKE, CONTAINS, IS NULL,
REGEXP_MATCH, PARAMETERS) gets QUERY_ERROR "not implemented in the sandbox"; fields outside
:data:`CATALOG` are UNRECOGNIZED_FIELD.

DATE_TIME literals (``lead_form_submission_data.submission_date_time``) take the formats that
DateError documents: ``'yyyy-mm-dd'``, ``'yyyy-mm-dd hh:mm:ss[.ssssss]'`` (wall time in the
ACCOUNT's time zone, like every Google Ads date) and ``'yyyy-mm-dd hh:mm:ss+|-hh:mm'`` (an exact
instant). Values compare as instants. ISO ``T``/``Z`` strings are BAD_VALUE.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from leadflow.sandbox.google_ads.gaql_syntax import (
    COMPARE,
    Condition,
    GaqlError,
    Query,
    Value,
    parse,
)

DATE_TIME = re.compile(r"(\d{4}-\d\d-\d\d)(?: (\d\d:\d\d:\d\d(?:\.\d{1,6})?)([+-]\d\d:\d\d)?)?")
ORDERED = ("DATE_TIME", "DATE", "INT64", "STRING")
ENUMS = {
    "campaign.status": ("ENABLED", "PAUSED", "REMOVED", "UNKNOWN", "UNSPECIFIED"),
    "asset.type": ("UNSPECIFIED", "UNKNOWN", "YOUTUBE_VIDEO", "MEDIA_BUNDLE", "IMAGE", "TEXT",
                   "LEAD_FORM", "BOOK_ON_GOOGLE", "PROMOTION", "CALLOUT", "STRUCTURED_SNIPPET",
                   "SITELINK", "PAGE_FEED", "MOBILE_APP", "CALL", "PRICE", "CALL_TO_ACTION"),
}  # fmt: skip
DAY = timedelta(days=1)


def _fields(prefix: str, kind: str, names: str) -> dict[str, str]:
    return {f"{prefix}.{name}": kind for name in names.split()}


LEAD = "lead_form_submission_data"
CATALOG: dict[str, str] = {
    **_fields(LEAD, "RESOURCE_NAME", "resource_name asset campaign ad_group ad_group_ad"),
    **_fields(LEAD, "STRING", "id gclid"), f"{LEAD}.submission_date_time": "DATE_TIME",
    **_fields(LEAD, "MESSAGE", "lead_form_submission_fields custom_lead_form_submission_fields"),
    **_fields("campaign", "INT64", "id"), **_fields("campaign", "STRING", "name"),
    "campaign.status": "ENUM", "campaign.resource_name": "RESOURCE_NAME",
    "ad_group.resource_name": "RESOURCE_NAME", "ad_group.id": "INT64",
    **_fields("customer", "STRING", "descriptive_name time_zone currency_code"),
    "customer.id": "INT64", "customer.manager": "BOOLEAN",
    "customer.resource_name": "RESOURCE_NAME",
    **_fields("customer_client", "STRING", "descriptive_name time_zone currency_code"),
    **_fields("customer_client", "INT64", "id level"), "customer_client.manager": "BOOLEAN",
    **_fields("customer_client", "RESOURCE_NAME", "resource_name client_customer"),
    "segments.date": "DATE", **_fields("metrics", "INT64", "cost_micros clicks impressions"),
    "asset.resource_name": "RESOURCE_NAME", "asset.id": "INT64", "asset.name": "STRING",
    "asset.type": "ENUM", **_fields("asset.lead_form_asset", "STRING", "headline business_name "
                                    "description call_to_action_description"),
}  # fmt: skip
RESOURCES = {  # FROM resource -> resources whose fields it can select
    LEAD: (LEAD, "campaign", "ad_group", "asset", "customer"),
    "asset": ("asset", "customer"),
    "campaign": ("campaign", "customer", "segments", "metrics"),
    "customer": ("customer",),
    "customer_client": ("customer_client", "customer"),
}
DURING: dict[str, Callable[[date], tuple[date, date]]] = {
    "TODAY": lambda t: (t, t),
    "YESTERDAY": lambda t: (t - DAY, t - DAY),
    "LAST_7_DAYS": lambda t: (t - 7 * DAY, t - DAY),
    "LAST_14_DAYS": lambda t: (t - 14 * DAY, t - DAY),
    "LAST_30_DAYS": lambda t: (t - 30 * DAY, t - DAY),
    "THIS_MONTH": lambda t: (t.replace(day=1), (t.replace(day=28) + 4 * DAY).replace(day=1) - DAY),
    "LAST_MONTH": lambda t: ((t.replace(day=1) - DAY).replace(day=1), t.replace(day=1) - DAY),
    "THIS_WEEK_SUN_TODAY": lambda t: (t - (t.weekday() + 1) % 7 * DAY, t),
    "THIS_WEEK_MON_TODAY": lambda t: (t - t.weekday() * DAY, t),
    "LAST_WEEK_SUN_SAT": lambda t: (t - ((t.weekday() + 1) % 7 + 7) * DAY,
                                    t - ((t.weekday() + 1) % 7 + 1) * DAY),
    "LAST_WEEK_MON_SUN": lambda t: (t - (t.weekday() + 7) * DAY, t - (t.weekday() + 1) * DAY),
    "LAST_BUSINESS_WEEK": lambda t: (t - (t.weekday() + 7) * DAY, t - (t.weekday() + 3) * DAY),
}  # fmt: skip


# -- values --------------------------------------------------------------------------------------
def format_date_time(moment: datetime, tz: tzinfo) -> str:
    """``yyyy-mm-dd hh:mm:ss+hh:mm`` (the documented lead time format) in ``tz``."""
    local = moment.astimezone(tz)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S") + f"{offset[:3]}:{offset[3:]}"


def parse_date(text: str) -> date | None:
    """``YYYY-MM-DD`` or ``YYYYMMDD`` (the documented GAQL date formats), else None."""
    found = re.fullmatch(r"(\d{4})-?(\d\d)-?(\d\d)", text)
    if found is None or ("-" in text) != (len(text) == 10):
        return None
    try:
        return date(*map(int, found.groups()))
    except ValueError:
        return None


def parse_date_time(text: str, tz: tzinfo) -> datetime | None:
    """A DATE_TIME literal as a UTC datetime; wall times are in the account's ``tz``.

    Instants are kept in UTC: Python compares two datetimes sharing one ZoneInfo by wall time,
    which would ignore the DST fold.
    """
    found = DATE_TIME.fullmatch(text)
    if found is None:
        return None
    day, clock, offset = found.groups()
    try:
        moment = datetime.fromisoformat(f"{day} {clock or '00:00:00'}{offset or ''}")
    except ValueError:
        return None
    return (moment if offset else moment.replace(tzinfo=tz)).astimezone(UTC)


@dataclass(frozen=True)
class Context:
    """The serving account: its time zone, today's date there, and whether it is a manager."""

    tz: tzinfo
    today: date
    manager: bool = False


def _coerce(name: str, kind: str, value: Value, ctx: Context) -> Any:
    text = value.text
    if kind == "ENUM" and text not in ENUMS[name]:
        raise GaqlError("BAD_ENUM_CONSTANT", f"Invalid enum constant {text!r} for {name}.")
    if kind in ("ENUM", "BOOLEAN", "INT64") and value.kind != "string":
        if kind == "INT64" and re.fullmatch(r"-?\d+", text):
            return int(text)
        if kind == "BOOLEAN" and text.upper() in ("TRUE", "FALSE"):
            return text.upper() == "TRUE"
        if kind == "ENUM":
            return text
        raise GaqlError("BAD_VALUE", f"Invalid value {text!r} for {name}.")
    if value.kind != "string":
        raise GaqlError("INVALID_STRING_VALUE", f"{name} needs a quoted string, not {text!r}.")
    if kind == "DATE":
        day = parse_date(text)
        if day is None:
            raise GaqlError("INVALID_DATE_FORMAT", "Invalid date format. Expected 'YYYY-MM-DD'.")
        return day
    if kind == "DATE_TIME":
        moment = parse_date_time(text, ctx.tz)
        if moment is None:
            raise GaqlError("BAD_VALUE", f"Invalid date-time {text!r} for {name}: expected "
                            "'yyyy-mm-dd hh:mm:ss' or 'yyyy-mm-dd hh:mm:ss+|-hh:mm'.")  # fmt: skip
        return moment
    return text


Bounds = tuple[Any, Any]


def _predicate(cond: Condition, kind: str, ctx: Context) -> tuple[Callable[[Any], bool], Bounds]:
    """The row test for ``cond`` and the (low, high) range it allows (None = open)."""
    op, values = cond.op, cond.values
    if op == "DURING":
        if kind != "DATE":
            raise GaqlError("OPERATOR_FIELD_MISMATCH", f"DURING cannot filter {cond.field}.")
        if values[0].kind != "word" or values[0].text not in DURING:
            raise GaqlError("INVALID_VALUE_WITH_DURING_OPERATOR", "DURING needs a date range.")
        op, values = "BETWEEN", ()
        low, high = DURING[cond.values[0].text](ctx.today)
    elif op == "BETWEEN":
        try:
            low, high = (_coerce(cond.field, kind, value, ctx) for value in values)
        except GaqlError as exc:
            code = "INVALID_VALUE_WITH_BETWEEN_OPERATOR" if kind == "DATE" else exc.code
            raise GaqlError(code, exc.message) from exc
    if op in ("IN", "NOT IN"):
        wanted = {_coerce(cond.field, kind, value, ctx) for value in values}
        return (lambda v: (v in wanted) == (op == "IN")), (None, None)
    if kind not in ORDERED and op not in ("=", "!="):
        raise GaqlError("OPERATOR_FIELD_MISMATCH", f"{cond.op} cannot filter {cond.field}.")
    if op == "BETWEEN":
        return (lambda v: v is not None and low <= v <= high), (low, high)
    target, compare = _coerce(cond.field, kind, values[0], ctx), COMPARE[op]
    test = lambda v: v is not None and compare(v, target)  # noqa: E731
    if kind != "DATE":  # bounds only matter for segments.date (a string has no "+ 1 day")
        return test, (None, None)
    bounds = {"=": (target, target), ">=": (target, None), ">": (target + DAY, None),
              "<=": (None, target), "<": (None, target - DAY)}.get(op, (None, None))  # fmt: skip
    return test, bounds


def _kind(name: str, allowed: tuple[str, ...], clause: str) -> str:
    if name not in CATALOG:
        raise GaqlError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.")
    prefix, kind = name.split(".")[0], CATALOG[name]
    if prefix not in allowed:
        where = "WHERE" if clause == "WHERE" else "SELECT"
        code = {"metrics": "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
                "segments": "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE"}.get(
            prefix, f"PROHIBITED_RESOURCE_TYPE_IN_{where}_CLAUSE")  # fmt: skip
        raise GaqlError(code, f"'{name}' cannot be used in {clause} with FROM {allowed[0]}.")
    if clause == "WHERE" and kind == "MESSAGE":
        raise GaqlError("PROHIBITED_FIELD_IN_WHERE_CLAUSE", f"'{name}' is not filterable.")
    if clause == "ORDER BY" and kind in ("MESSAGE", "RESOURCE_NAME"):
        raise GaqlError("PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE", f"'{name}' is not sortable.")
    return kind


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _json(kind: str, value: Any, tz: tzinfo) -> Any:
    if value is None or (isinstance(value, str | list) and not value):
        return None  # proto3 JSON omits unset strings and empty repeated fields
    if kind == "INT64":
        return str(value)  # int64 travels as a JSON string
    if kind == "DATE_TIME":
        return format_date_time(value, tz)
    return value.isoformat() if kind == "DATE" else value


Row = dict[str, Any]


@dataclass
class Compiled:
    """A validated query, ready to filter, order and render flat rows of one account."""

    query: Query
    tests: list[tuple[str, Callable[[Any], bool]]]
    tz: tzinfo

    @property
    def segmented(self) -> bool:
        return "segments.date" in self.query.select

    @property
    def has_metrics(self) -> bool:
        return any(name.startswith("metrics.") for name in self.query.select)

    def run(self, rows: list[Row], *, dates: bool = True) -> list[Row]:
        """Filter and order (LIMIT is the caller's, after counting the total)."""
        keep = [(n, t) for n, t in self.tests if dates or n != "segments.date"]
        found = [row for row in rows if all(test(row.get(name)) for name, test in keep)]
        for name, descending in reversed(self.query.order_by):
            found.sort(key=lambda r: (r.get(name) is None, r.get(name)), reverse=descending)
        return found

    def select_rows(self, base: list[Row], days: list[Row]) -> list[Row]:
        """Per-day rows when segmented by date, else per-resource rows with summed metrics."""
        if self.segmented:
            return self.run(days)
        if not self.has_metrics:
            return self.run(base, dates=False)
        key = f"{self.query.resource}.resource_name"
        metrics = [name for name in CATALOG if name.startswith("metrics.")]
        in_range = [t for name, t in self.tests if name == "segments.date"]
        sums: dict[str, dict[str, int]] = {}
        for row in days:
            if all(test(row["segments.date"]) for test in in_range):
                total = sums.setdefault(row[key], dict.fromkeys(metrics, 0))
                for name in metrics:
                    total[name] += row[name]
        zero = dict.fromkeys(metrics, 0)
        return self.run([{**row, **sums.get(row[key], zero)} for row in base], dates=False)

    def render(self, row: Row) -> dict[str, Any]:
        """A GoogleAdsRow as REST JSON: nested lowerCamelCase objects, selected fields only."""
        out: dict[str, Any] = {}
        for name in [*self.query.select, f"{self.query.resource}.resource_name"]:
            value = _json(CATALOG[name], row.get(name), self.tz)
            if value is not None:
                *parents, attribute = map(_camel, name.split("."))
                node = out
                for parent in parents:  # asset.lead_form_asset.headline: a nested message
                    node = node.setdefault(parent, {})
                node[attribute] = value
        return out

    def field_mask(self) -> str:
        return ",".join(".".join(map(_camel, name.split("."))) for name in self.query.select)


def compile_query(text: str, ctx: Context) -> Compiled:
    """Parse and validate ``text`` for one account; raise :class:`GaqlError` on any error."""
    query = parse(text)
    allowed = RESOURCES.get(query.resource)
    if allowed is None:
        served = ", ".join(RESOURCES)
        raise GaqlError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"The sandbox serves FROM {served}.")
    for name in query.select:
        _kind(name, allowed, "SELECT")
    for name, _descending in query.order_by:
        _kind(name, allowed, "ORDER BY")
    tests, low, high = [], None, None
    for cond in query.where:
        test, (start, end) = _predicate(cond, _kind(cond.field, allowed, "WHERE"), ctx)
        tests.append((cond.field, test))
        if cond.field == "segments.date":
            low = start if low is None or (start is not None and start > low) else low
            high = end if high is None or (end is not None and end < high) else high
    compiled = Compiled(query, tests, ctx.tz)
    if ctx.manager and compiled.has_metrics:
        raise GaqlError("REQUESTED_METRICS_FOR_MANAGER", "Metrics cannot be requested for a "
                        "manager account. Query each client account instead.")  # fmt: skip
    if compiled.segmented and (low is None or high is None):
        raise GaqlError("EXPECTED_FILTERS_ON_DATE_RANGE", "Filter segments.date to a finite range.")
    if compiled.segmented and low > high:
        raise GaqlError("DATE_RANGE_TOO_NARROW", "The date range starts after it ends.")
    return compiled
