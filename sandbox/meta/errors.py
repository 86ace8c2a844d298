"""Meta Graph API errors, usage headers, throttling and parameter validation for the sandbox.

* Error body (https://developers.facebook.com/docs/graph-api/guides/error-handling):
  ``{"error": {"message", "type", "code", "error_subcode"?, "error_user_title"?,
  "error_user_msg"?, "is_transient"?, "fbtrace_id"}}``. The docs give no HTTP statuses: the
  sandbox answers 400, and 500 for the transient codes 1 and 2 (``status=`` overrides).
* Throttling (https://developers.facebook.com/docs/graph-api/overview/rate-limiting):
  platform codes 4 (app), 17 (user; subcode 2446079 for ads), 32 (Page), 613 (custom); business
  use case codes 80000 ads_insights, 80001 pages, 80002 instagram, 80003 custom_audience,
  80004 ads_management, 80005 leadgen, 80006 messenger, 80008 whatsapp, 80009 catalog
  management, 80014 catalog batch (subcode 2446079 for 80000/80003/80004). No Retry-After:
  JSON headers ``X-App-Usage`` (percentages), ``X-Business-Use-Case-Usage`` (keyed by business
  object id, with ``estimated_time_to_regain_access`` in minutes), ``X-Ad-Account-Usage``
  (``reset_time_duration`` in seconds) and, on insights, ``X-FB-Ads-Insights-Throttle``.
* Permissions (same page: codes 10 and 200-299, "the permission is missing": the message
  names it, as in "(#200) Requires ads_read permission ..."): reading leads needs
  ``leads_retrieval`` (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving),
  insights ``ads_read`` (https://developers.facebook.com/docs/marketing-api/insights);
  ``needed_permission`` says which a call needs, ``missing_permission`` is the error.
* Insights error codes 2635 (deprecated Ads API version), 2642 (invalid cursors), 3018 (start
  date beyond 37 months): https://developers.facebook.com/docs/marketing-api/reference/ad-account/insights
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import date
from typing import Any

RATE_DOC = "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"
BUC_TYPES = {80000: "ads_insights", 80001: "pages", 80002: "instagram", 80003: "custom_audience",
             80004: "ads_management", 80005: "leadgen", 80006: "messenger",
             80008: "whatsapp_business_management", 80009: "catalog_management",
             80014: "catalog_batch"}  # fmt: skip
BUC_TEXT = {
    80000: "There have been too many calls from this ad-account.",
    80001: "There have been too many calls to this Page account.",
    80004: "There have been too many calls to this ad-account.",
    80005: "There have been too many leadgen api calls to this Page account.",
}
MESSAGES = {
    1: "An unknown error has occurred.",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    100: "(#100) Invalid parameter",
    104: "An access token is required to request this resource.",
    190: "Invalid OAuth access token - Cannot parse access token",
    200: "(#200) Permissions error",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    2635: "(#2635) You are calling a deprecated version of the Ads API. "
    "Please update to the latest version.",
    2642: "(#2642) Invalid cursors values",
    3018: "(#3018) The start date of the time range cannot be beyond 37 months from the "
    "current date",
}
THROTTLE_CODES = frozenset({4, 17, 32, 613, *BUC_TYPES})
TRANSIENT_CODES = THROTTLE_CODES | {1, 2}
ADS_TYPES = frozenset({"ads_insights", "ads_management"})
# kind -> (nominal calls per window used for the usage percentages, throttle code, subcode)
KINDS = {"app": (200, 4, None), "leadgen": (4800, 80005, None), "pages": (4800, 80001, None),
         "ads_insights": (600, 80000, 2446079),
         "ads_management": (300, 80004, 2446079)}  # fmt: skip


LEADS_RETRIEVAL, ADS_READ = "leads_retrieval", "ads_read"
ALL_PERMISSIONS = frozenset({LEADS_RETRIEVAL, ADS_READ})


def needed_permission(path: str) -> str | None:
    """The permission a call to ``path`` (after the version) needs beyond a valid token:
    an ad account and its insights ``ads_read``, lead forms and leads ``leads_retrieval``."""
    parts = path.strip("/").split("/")
    if parts[0].startswith("act_"):
        return ADS_READ
    return LEADS_RETRIEVAL if parts[-1] in ("leadgen_forms", "leads") else None


def missing_permission(permission: str) -> GraphError:
    """Code 200 naming ``permission``, with the 403 it is seen served with."""
    message = f"(#200) Requires {permission} permission to manage the object"
    return GraphError(200, message, status=403)


class GraphError(Exception):
    """A Graph API error response."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        subcode: int | None = None,
        kind: str = "OAuthException",
        status: int | None = None,
        transient: bool | None = None,
        headers: dict[str, str] | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
    ) -> None:
        self.code, self.subcode, self.kind = code, subcode, kind
        self.user = {"error_user_title": user_title, "error_user_msg": user_msg}
        self.message = message or default_message(code)
        self.status = status or (500 if code in (1, 2) else 400)
        self.transient = code in TRANSIENT_CODES if transient is None else transient
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def body(self, trace_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.code in TRANSIENT_CODES or self.transient:
            error["is_transient"] = self.transient
        error.update({key: value for key, value in self.user.items() if value})
        error["fbtrace_id"] = trace_id
        return {"error": error}


def default_message(code: int) -> str:
    if code in BUC_TYPES:
        text = BUC_TEXT.get(code, "There have been too many calls for this business use case.")
        return (
            f"(#{code}) {text} Wait a bit and try again. For more info, please refer to {RATE_DOC}."
        )
    return MESSAGES.get(code, f"(#{code}) An error occurred")


def default_subcode(code: int) -> int | None:
    return 2446079 if code in (80000, 80003, 80004) else None


def trace_id() -> str:
    """A fbtrace_id-looking string."""
    return "A" + secrets.token_urlsafe(16)[:22]


def invalid(message: str, code: int = 100) -> GraphError:
    return GraphError(code, message if message.startswith("(#") else f"(#{code}) {message}")


@dataclass
class MetaRateLimits:
    """Calls allowed per rolling window (None: unlimited) for the sandbox's real throttling."""

    app_calls: int | None = None  # code 4
    leadgen_calls: int | None = None  # per Page: code 80005
    insights_calls: int | None = None  # per ad account: code 80000 / 2446079
    management_calls: int | None = None  # per ad account: code 80004 / 2446079
    window_seconds: float = 3600.0

    def limit(self, kind: str) -> int | None:
        return {"app": self.app_calls, "leadgen": self.leadgen_calls,
                "ads_insights": self.insights_calls,
                "ads_management": self.management_calls}.get(kind)  # fmt: skip


def usage_headers(
    kind: str | None, object_id: str | None, *, pct: int, app_pct: int, regain_minutes: int = 0
) -> dict[str, str]:
    """The usage headers Meta sends for a call of business use case ``kind`` on ``object_id``."""
    dump = lambda value: json.dumps(value, separators=(",", ":"))  # noqa: E731
    headers = {"X-App-Usage": dump({"call_count": app_pct, "total_cputime": app_pct // 3,
                                    "total_time": app_pct // 2})}  # fmt: skip
    if kind is None or object_id is None:
        return headers
    entry: dict[str, Any] = {"type": kind, "call_count": pct, "total_cputime": pct // 3,
                             "total_time": pct // 2,
                             "estimated_time_to_regain_access": regain_minutes}  # fmt: skip
    tier = {"ads_api_access_tier": "standard_access"}
    if kind in ADS_TYPES:
        entry.update(tier)
        account = {"acc_id_util_pct": float(pct), "reset_time_duration": regain_minutes * 60}
        headers["X-Ad-Account-Usage"] = dump({**account, **tier})
    if kind == "ads_insights":
        throttle = {"app_id_util_pct": app_pct, "acc_id_util_pct": pct}
        headers["X-FB-Ads-Insights-Throttle"] = dump({**throttle, **tier})
    headers["X-Business-Use-Case-Usage"] = dump({object_id: [entry]})
    return headers


class Usage:
    """Rolling-window call counts per app and per (kind, object); throttles when limits set."""

    def __init__(self, limits: MetaRateLimits | None = None) -> None:
        self.limits = limits or MetaRateLimits()
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, key: tuple[str, str], now: float, add: bool) -> deque[float]:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self.limits.window_seconds:
            calls.popleft()
        if add:
            calls.append(now)
        return calls

    def _state(self, key: tuple[str, str], now: float) -> tuple[int, int]:
        """(percentage of the budget used, minutes until back under the limit)."""
        calls = self._window(key, now, add=False)
        limit = self.limits.limit(key[0]) or KINDS[key[0]][0]
        pct = len(calls) * 100 // limit
        if len(calls) <= limit:
            return pct, 0
        wait = calls[len(calls) - limit - 1] + self.limits.window_seconds - now
        return pct, max(1, math.ceil(wait / 60))

    def record(self, kind: str | None, object_id: str | None) -> GraphError | None:
        """Count one call; return the throttling error if it went over a configured limit."""
        now = time.monotonic()
        keys = [("app", "")] + ([(kind, object_id)] if kind and object_id else [])
        with self._lock:
            for key in keys:
                self._window(key, now, add=True)
            for key in keys:
                limit = self.limits.limit(key[0])
                if limit is not None and len(self._calls[key]) > limit:
                    _nominal, code, subcode = KINDS[key[0]]
                    return GraphError(code, subcode=subcode)
        return None

    def headers(self, kind: str | None, object_id: str | None) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            app_pct, _ = self._state(("app", ""), now)
            if not kind or not object_id:
                return usage_headers(None, None, pct=0, app_pct=app_pct)
            pct, regain = self._state((kind, object_id), now)
        return usage_headers(kind, object_id, pct=pct, app_pct=app_pct, regain_minutes=regain)


# -- parameters ---------------------------------------------------------------------------------
def parse_fields(
    raw: str | None, known: tuple[str, ...], node: str, default: tuple[str, ...]
) -> list[str]:
    """Top-level names of a ``fields`` list (``a,b{c,d},e.limit(5)``); #100 for unknown ones."""
    if raw is None or not raw.strip():
        return list(default)
    names, depth, current = [], 0, ""
    for char in raw + ",":
        depth += (char in "{(") - (char in "})")
        if char == "," and depth == 0:
            names.append(current.split("{")[0].split(".")[0].strip())
            current = ""
        else:
            current += char
    names = list(dict.fromkeys(name for name in names if name))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise invalid(f"Tried accessing nonexisting field ({unknown[0]}) on node type ({node})")
    return names


def parse_limit(raw: str | None, default: int, maximum: int) -> int:
    """``limit``: default when absent, capped at the edge maximum (as Meta does, silently)."""
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise invalid(f"The parameter limit must be a positive integer, got {raw!r}")
    return min(int(raw), maximum)


LEAD_OPERATORS = ("LESS_THAN", "GREATER_THAN", "GREATER_THAN_OR_EQUAL")


def parse_filtering(raw: str | None) -> list[tuple[str, int]]:
    """Lead ``filtering``: a JSON array of ``{"field": "time_created", "operator", "value"}``."""
    if raw is None:
        return []
    try:
        spec = json.loads(raw)
    except ValueError as exc:
        raise invalid("param filtering must be a JSON array of filter objects") from exc
    if not isinstance(spec, list):
        raise invalid("param filtering must be a JSON array of filter objects")
    parsed = []
    for i, item in enumerate(spec):
        if not isinstance(item, dict) or not {"field", "operator", "value"} <= item.keys():
            raise invalid(f"filtering[{i}] must have field, operator and value")
        if item["field"] != "time_created":
            raise invalid(f"Filtering field {item['field']!r} is not supported: use time_created")
        if item["operator"] not in LEAD_OPERATORS:
            raise invalid(f"filtering[{i}][operator] must be one of the following values: "
                          + ", ".join(LEAD_OPERATORS))  # fmt: skip
        if isinstance(item["value"], bool) or not str(item["value"]).strip().isdigit():
            raise invalid(f"filtering[{i}][value] must be a Unix timestamp, got {item['value']!r}")
        parsed.append((item["operator"], int(str(item["value"]).strip())))
    return parsed


def matches(timestamp: int, filters: list[tuple[str, int]]) -> bool:
    checks = {"LESS_THAN": int.__lt__, "GREATER_THAN": int.__gt__,
              "GREATER_THAN_OR_EQUAL": int.__ge__}  # fmt: skip
    return all(checks[operator](timestamp, value) for operator, value in filters)


def encode_cursor(key: Any) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(raw: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise GraphError(2642) from exc


def parse_time_range(raw: str) -> tuple[date, date]:
    """``{"since":"YYYY-MM-DD","until":"YYYY-MM-DD"}`` (Meta's own examples use single quotes)."""
    try:
        spec = json.loads(raw.replace("'", '"'))
        since, until = date.fromisoformat(spec["since"]), date.fromisoformat(spec["until"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise invalid("param time_range must be {'since':YYYY-MM-DD,'until':YYYY-MM-DD}") from exc
    if since > until:
        raise invalid("time_range: since must be on or before until")
    return since, until


def parse_increment(raw: str | None) -> int | str:
    """``time_increment``: ``all_days`` (default), ``monthly`` or 1-90 days."""
    if raw in (None, "", "all_days", "monthly"):
        return raw or "all_days"
    if raw.isdigit() and 1 <= int(raw) <= 90:
        return int(raw)
    raise invalid("param time_increment must be all_days, monthly or an integer from 1 to 90")
