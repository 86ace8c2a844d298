"""A local Meta Graph API server for Lead Ads and Ads Insights that behaves as Meta documents.

Docs used (errors, throttling and their headers: see ``leadflow.sandbox.meta.errors``):
* https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving : bulk read of
  ``/{form_id}/leads`` and ``/{ad_id}/leads``, ``GET /{lead_id}``, ``filtering`` on
  ``time_created`` (LESS_THAN, GREATER_THAN, GREATER_THAN_OR_EQUAL; Unix seconds),
  ``custom_disclaimer_responses`` only when asked for, no ad ids on organic/ad-preview leads.
* https://developers.facebook.com/docs/graph-api/results : cursor paging (``before``/``after``/
  ``limit``; ``next`` absent on the last page; an edge may cap ``limit``).
* Ads Insights (``level``, ``time_range``, ``date_preset``, ``time_increment``): see
  ``leadflow.sandbox.meta.insights``, which builds the reports this server pages.
* https://developers.facebook.com/docs/graph-api/guides/versioning : unversioned calls use the
  oldest available version and calls to an expired one are served by the next oldest (the Ads
  API's ad account edges answer 2635 instead).
* Field lists: Meta's generated facebook-python-business-sdk (adobjects/lead.py, leadgenform.py).
* Form ``questions`` and ``locale`` (localized keys): see ``leadflow.sandbox.meta.locales``.

Not documented, so taken from observed behaviour: default lead fields (created_time, id,
field_data) and form fields (id, locale, name, status), newest-first leads, HTTP 400 errors.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from leadflow.sandbox.meta import errors as errs
from leadflow.sandbox.meta.data import (
    MetaDataset,
    lead_timestamp,
    local_today,
    meta_dataset,
)
from leadflow.sandbox.meta.errors import GraphError, MetaRateLimits
from leadflow.sandbox.meta.insights import INSIGHT_FIELDS, LEVELS, insight_rows, report_period
from leadflow.sandbox.meta.locales import question
from leadflow.sandbox.server import Request, Response, Router, SandboxServer, json_response

LEAD_FIELDS = ("ad_id", "ad_name", "adset_id", "adset_name", "campaign_id", "campaign_name",
               "created_time", "custom_disclaimer_responses", "field_data", "form_id",
               "home_listing", "id", "is_organic", "partner_name", "platform", "post",
               "post_submission_check_result", "retailer_item_id", "vehicle")  # fmt: skip
FORM_FIELDS = ("allow_organic_lead", "block_display_for_non_targeted_viewer", "context_card",
               "created_time", "creator", "expired_leads_count", "follow_up_action_url", "id",
               "is_optimized_for_quality", "leads_count", "legal_content", "locale", "name",
               "organic_leads_count", "page", "page_id", "privacy_policy_url", "questions",
               "status", "thank_you_page", "tracking_parameters")  # fmt: skip
ACCOUNT_FIELDS = ("account_id", "business", "currency", "id", "name", "timezone_name",
                  "timezone_offset_hours_utc")  # fmt: skip
DEFAULTS = {"Lead": ("created_time", "id", "field_data"), "AdAccount": ("account_id", "id"),
            "LeadgenForm": ("id", "locale", "name", "status"),
            "AdsInsights": ("account_id", "impressions", "spend")}  # fmt: skip
VERSION = re.compile(r"/v(\d+)\.(\d+)(/.*)?")
NO_OBJECT = (
    "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to "
    "missing permissions, or does not support this operation. Please read the Graph API "
    "documentation at https://developers.facebook.com/docs/graph-api"
)


@dataclass
class _Call(Request):
    """A request with its path stripped of the version, and the version prefix it came with."""

    prefix: str = ""


class MetaSandbox(SandboxServer):
    """Meta Graph API sandbox: ``with MetaSandbox() as meta: requests.get(meta.url(...))``.

    ``base_url`` is the root without a version (clients append ``/v{N}.0``); ``faults`` and
    ``requests`` are the shared fault queue and request log of ``SandboxServer``.
    """

    def __init__(
        self,
        dataset: MetaDataset | None = None,
        *,
        token: str = "sandbox-meta-token",
        port: int = 0,
        oldest_version: int = 21,
        latest_version: int = 26,
        max_limit: int = 100,
        rate_limits: MetaRateLimits | None = None,
        permissions: frozenset[str] = errs.ALL_PERMISSIONS,
    ) -> None:
        super().__init__(self._app, port=port)
        self.permissions = set(permissions)  # the token's (errs.needed_permission)
        self.dataset = dataset if dataset is not None else meta_dataset()
        self.token, self.token_expired = token, False
        self.oldest_version, self.latest_version = oldest_version, latest_version
        self.max_limit, self.usage = max_limit, errs.Usage(rate_limits)
        self._lock = threading.RLock()
        self._router = Router()
        self._router.add("GET", r"/act_(?P<id>\d+)/insights", self._insights)
        self._router.add("GET", r"/act_(?P<id>\d+)/?", self._account)
        self._router.add("GET", r"/(?P<id>\d+)/leadgen_forms", self._forms)
        self._router.add("GET", r"/(?P<id>\d+)/leads", self._leads)
        self._router.add("GET", r"/(?P<id>\d+)/?", self._node)

    def __enter__(self) -> MetaSandbox:
        self.start()
        return self

    def url(self, path: str, version: int | None = None) -> str:
        """``base_url`` + ``/v{version}.0`` (default: the latest) + ``path``."""
        return f"{self.base_url}/v{version or self.latest_version}.0{path}"

    def add_lead(self, form_id: str, **kw: Any) -> dict[str, Any]:
        """Add a lead (keywords as ``MetaDataset.add_lead``) and return it."""
        with self._lock:
            return dict(self.dataset.add_lead(form_id, **kw))

    def push_error(
        self,
        code: int,
        subcode: int | None = None,
        *,
        times: int = 1,
        transient: bool | None = None,
        regain_minutes: int | None = None,
        message: str | None = None,
        status: int | None = None,
        path: str | None = None,
        object_id: str | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
    ) -> None:
        """Answer the next ``times`` (matching) requests with Graph error ``code``; throttling
        codes come with usage headers over 100% and ``estimated_time_to_regain_access``."""
        subcode = errs.default_subcode(code) if subcode is None else subcode
        error = GraphError(code, message, subcode=subcode, transient=transient, status=status,
                           user_title=user_title, user_msg=user_msg)  # fmt: skip
        kind = errs.BUC_TYPES.get(code) or ("pages" if code == 32 else None)
        owner = self.dataset.ad_accounts[0] if kind in errs.ADS_TYPES else self.dataset.pages[0]
        if regain_minutes is None:
            regain_minutes = 5 if code in errs.THROTTLE_CODES else 0
        usage = {"pct": 104 if kind else 0, "app_pct": 100 if code == 4 else 12}
        target = object_id or owner.id
        headers = errs.usage_headers(kind, target, **usage, regain_minutes=regain_minutes)
        trace = errs.trace_id()
        headers.update(self._headers(self.latest_version, trace), **_auth_header(error))
        self.faults.push(error.status, error.body(trace), headers, times=times, path=path)

    # -- HTTP --------------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        trace, served, scope, counted = errs.trace_id(), self.latest_version, (None, None), False
        extra: dict[str, str] = {}
        try:
            served, call = self._versioned(request)
            self._authenticate(call)
            needed = errs.needed_permission(call.path)
            if needed is not None and needed not in self.permissions:
                raise errs.missing_permission(needed)
            scope, counted = self._scope(call.path), True
            throttled = self.usage.record(*scope)
            if throttled is not None:
                raise throttled
            with self._lock:
                response = self._router.dispatch(call) or self._fail(call)
            status, body = response.status, response.body
        except GraphError as error:
            status, body, extra = error.status, error.body(trace), _auth_header(error)
        headers = {**self._headers(served, trace), **extra}
        if counted:
            headers.update(self.usage.headers(*scope))
        return json_response(status, body, headers)

    def _headers(self, served: int, trace: str) -> dict[str, str]:
        return {"Content-Type": "application/json; charset=UTF-8", "x-fb-trace-id": trace,
                "facebook-api-version": f"v{served}.0"}  # fmt: skip

    def _versioned(self, request: Request) -> tuple[int, _Call]:
        """(version served, call): unversioned and expired versions get the oldest one."""
        found = VERSION.fullmatch(request.path)
        rest = (found[3] or "/") if found else request.path
        prefix = f"/v{found[1]}.{found[2]}" if found else ""
        call = _Call(**{**request.__dict__, "path": rest, "prefix": prefix})
        if found is None:
            return self.oldest_version, call
        if int(found[1]) > self.latest_version or found[2] != "0":
            raise GraphError(2500, f"Unknown path components: {rest}")
        if int(found[1]) < self.oldest_version and rest.startswith("/act_"):
            raise GraphError(2635)
        return max(int(found[1]), self.oldest_version), call

    def _authenticate(self, call: _Call) -> None:
        token = call.param("access_token")
        if token is None:
            scheme, _, value = (call.header("Authorization") or "").partition(" ")
            token = value.strip() if scheme.lower() in ("bearer", "oauth") else None
        if not token:
            raise GraphError(104)
        if token != self.token:
            raise GraphError(190)
        if self.token_expired:
            now = self.dataset.anchor.astimezone(ZoneInfo("America/Los_Angeles"))
            stamp = "%A, %d-%b-%y %H:%M:%S PST"
            expired_on = (now - timedelta(hours=1)).strftime(stamp)
            message = (f"Error validating access token: Session has expired on {expired_on}. "
                       f"The current time is {now.strftime(stamp)}.")  # fmt: skip
            raise GraphError(190, message, subcode=463)

    def _locate(self, node: str) -> tuple[str, Any] | None:
        """(Graph node type, object) for an id, or None."""
        ds = self.dataset
        found = [("LeadgenForm", ds.get("form", node)), ("Page", ds.get("page", node)),
                 ("Ad", ds.get("ad", node)), ("Lead", ds.lead(node))]  # fmt: skip
        return next(((kind, item) for kind, item in found if item is not None), None)

    def _fail(self, call: _Call) -> Response:
        """Raise Graph's error for a path that no route, or no object of that type, serves."""
        parts = call.path.strip("/").split("/")
        located = self._locate(parts[0]) if parts[0].isdigit() else None
        if call.method != "GET" or (parts[0].isdigit() and located is None):
            message = NO_OBJECT.format(method=call.method.lower(), id=parts[0])
            raise GraphError(100, message, subcode=33, kind="GraphMethodException")
        if located is not None:
            raise errs.invalid(f"Tried accessing nonexisting field ({parts[1]}) on node type "
                               f"({located[0]})")  # fmt: skip
        raise GraphError(2500, f"Unknown path components: {call.path}")

    def _scope(self, path: str) -> tuple[str | None, str | None]:
        """The business use case and object a call counts against."""
        parts = path.strip("/").split("/")
        if parts[0].startswith("act_"):
            return ("ads_insights" if parts[-1] == "insights" else "ads_management"), parts[0][4:]
        kind, item = self._locate(parts[0]) or (None, None)
        if kind == "Page":
            return ("leadgen" if len(parts) > 1 else "pages"), item.id
        if kind == "Ad" and len(parts) == 1:
            return "ads_management", item.account_id
        form_id = item["form_id"] if kind == "Lead" else getattr(item, "form_id", None)
        form = self.dataset.get("form", item.id if kind == "LeadgenForm" else form_id or "")
        return ("leadgen", form.page_id) if form else (None, None)

    # -- paging ------------------------------------------------------------------------------
    def _paged(self, call: _Call, rows: list[Any], keys: list[list[int]] | None = None) -> Response:
        """One cursor page of ``rows`` (sorted by ``keys``, default their positions)."""
        keys = keys or [[i] for i in range(len(rows))]
        limit = errs.parse_limit(call.param("limit"), 25, self.max_limit)
        start, end = 0, len(rows)
        if call.param("after"):
            start = bisect.bisect_right(keys, _cursor_key(call.param("after")))
        elif call.param("before"):
            end = bisect.bisect_left(keys, _cursor_key(call.param("before")))
            start = max(0, end - limit)
        end = min(end, start + limit)
        if start >= end:
            return json_response(200, {"data": []})
        first, last = errs.encode_cursor(keys[start]), errs.encode_cursor(keys[end - 1])
        paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
        if start > 0:
            paging["previous"] = self._link(call, limit, "before", first)
        if end < len(rows):
            paging["next"] = self._link(call, limit, "after", last)
        return json_response(200, {"data": rows[start:end], "paging": paging})

    def _link(self, call: _Call, limit: int, name: str, cursor: str) -> str:
        """The full URL of a neighbouring page, every other parameter of the call kept."""
        kept = [(k, v[-1]) for k, v in call.query.items() if k not in ("after", "before", "limit")]
        query = urlencode([*kept, ("limit", str(limit)), (name, cursor)])
        return f"{self.base_url}{call.prefix}{call.path}?{query}"

    # -- lead ads ----------------------------------------------------------------------------
    def _node(self, call: _Call) -> Response:
        kind, item = self._locate(call.match["id"]) or self._fail(call)  # type: ignore
        if kind == "LeadgenForm":
            item = self._form(item.id)
        elif kind != "Lead":
            item = {"id": item.id, "name": item.name}
        known = {"Lead": LEAD_FIELDS, "LeadgenForm": FORM_FIELDS}.get(kind, ("id", "name"))
        return json_response(200, _select(item, self._fields(call, kind, known)))

    def _fields(self, call: _Call, node_type: str, known: tuple[str, ...]) -> list[str]:
        default = DEFAULTS.get(node_type, known)
        return errs.parse_fields(call.param("fields"), known, node_type, default)

    def _forms(self, call: _Call) -> Response:
        page = self.dataset.get("page", call.match["id"]) or self._fail(call)  # type: ignore
        fields = self._fields(call, "LeadgenForm", FORM_FIELDS)
        forms = sorted((f for f in self.dataset.forms if f.page_id == page.id),
                       key=lambda form: form.created_time, reverse=True)  # fmt: skip
        return self._paged(call, [_select(self._form(form.id), fields) for form in forms])

    def _form(self, form_id: str) -> dict[str, Any]:
        """A LeadgenForm with every field the sandbox knows; counts are live."""
        ds = self.dataset
        form, leads = ds.get("form", form_id), ds.leads_for_form(form_id)
        questions = [question(key, form.locale, f"{form.id}{i}")
                     for i, key in enumerate(form.questions)]  # fmt: skip
        tracking = [{"key": key, "value": value} for key, value in form.tracking_parameters]
        return {"id": form.id, "name": form.name, "status": form.status, "locale": form.locale,
                "created_time": form.created_time, "page_id": form.page_id,
                "page": {"id": form.page_id, "name": ds.get("page", form.page_id).name},
                "leads_count": len(leads), "expired_leads_count": 0,
                "organic_leads_count": sum(lead["is_organic"] for lead in leads),
                "questions": questions, "tracking_parameters": tracking or None,
                "privacy_policy_url": "https://example.com/privacy"}  # fmt: skip

    def _leads(self, call: _Call) -> Response:
        kind, owner = self._locate(call.match["id"]) or (None, None)  # type: ignore
        if kind not in ("LeadgenForm", "Ad"):
            self._fail(call)
        fields = self._fields(call, "Lead", LEAD_FIELDS)
        filters = errs.parse_filtering(call.param("filtering"))
        key = "form_id" if kind == "LeadgenForm" else "ad_id"
        keyed = sorted(([-lead_timestamp(lead), -int(lead["id"])], lead)
                       for lead in self.dataset.leads if lead.get(key) == owner.id
                       and errs.matches(lead_timestamp(lead), filters))  # fmt: skip
        rows = [_select(lead, fields) for _, lead in keyed]
        return self._paged(call, rows, [sort_key for sort_key, _ in keyed])

    # -- ads ---------------------------------------------------------------------------------
    def _ad_account(self, call: _Call) -> Any:
        account = self.dataset.get("account", call.match["id"])  # type: ignore
        if account is None:
            message = NO_OBJECT.format(method="get", id=f"act_{call.match['id']}")  # type: ignore
            raise GraphError(100, message, subcode=33, kind="GraphMethodException")
        return account

    def _account(self, call: _Call) -> Response:
        account = self._ad_account(call)
        offset = datetime.now(ZoneInfo(account.timezone_name)).utcoffset() or timedelta()
        graph = {"id": f"act_{account.id}", "account_id": account.id, "name": account.name,
                 "currency": account.currency, "timezone_name": account.timezone_name,
                 "timezone_offset_hours_utc": offset.total_seconds() / 3600,
                 "business": {"id": account.business_id}}  # fmt: skip
        fields = self._fields(call, "AdAccount", ACCOUNT_FIELDS)
        return json_response(200, _select(graph, fields))

    def _insights(self, call: _Call) -> Response:
        account, level = self._ad_account(call), call.param("level") or "account"
        if level not in LEVELS:
            raise errs.invalid("param level must be one of: " + ", ".join(LEVELS))
        fields = self._fields(call, "AdsInsights", INSIGHT_FIELDS)
        if call.param("filtering") or call.param("breakdowns"):
            raise errs.invalid("filtering and breakdowns are not supported by this sandbox")
        today = local_today(account, self.dataset.anchor)
        period = report_period(call.param("time_range"), call.param("date_preset"), today)
        increment = errs.parse_increment(call.param("time_increment"))
        return self._paged(
            call, insight_rows(self.dataset, account, level, fields, period, increment)
        )


def _select(graph: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The requested fields that have a value (Graph omits the others), always with ``id``."""
    picked = {name: graph[name] for name in fields if graph.get(name) is not None}
    return picked if "id" in picked or "id" not in graph else {**picked, "id": graph["id"]}


def _cursor_key(raw: str | None) -> list[int]:
    key = errs.decode_cursor(raw or "")
    if not isinstance(key, list) or not all(isinstance(part, int) for part in key):
        raise GraphError(2642)
    return key


def _auth_header(error: GraphError) -> dict[str, str]:
    if error.code not in (104, 190):
        return {}
    reason = "invalid_token" if error.code == 190 else "invalid_request"
    return {"WWW-Authenticate": f'OAuth "Facebook Platform" "{reason}" "{error.message}"'}
