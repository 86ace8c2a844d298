"""A local Google Ads API (REST) server for lead form submissions and campaign spend.

Docs used (developers.google.com/google-ads/api/...):
* rest/reference/rest/v24/customers.googleAds/search, .../searchStream and
  reference/rpc/v24/SearchGoogleAdsRequest (body ``query``, ``pageToken``, ``validateOnly``,
  ``searchSettings``; ``pageSize`` is deprecated and answered with PAGE_SIZE_NOT_SUPPORTED)
* rest/common/search (REST Search/SearchStream; SearchStream answers with a JSON array)
* docs/reporting/paging (fixed 10,000-row pages, no ``nextPageToken`` on the last page, the
  query must stay identical across pages, tokens expire after about two hours)
* reference/rpc/v24/LeadFormSubmissionData, fields/v24/lead_form_submission_data
* reference/rpc/v24/Asset and LeadFormAsset (``FROM asset`` and the attributed ``asset`` of a
  submission: see :mod:`leadflow.sandbox.google_ads.assets`)
* docs/query/grammar, docs/query/date-ranges (see :mod:`leadflow.sandbox.google_ads.gaql`)
* rest/auth and docs/concepts/call-structure (``Authorization: Bearer``, ``developer-token``,
  ``login-customer-id`` without hyphens, ``request-id`` response header)
* error bodies and quota details: see :mod:`leadflow.sandbox.google_ads.errors`; no
  Retry-After header is documented, so none is sent
* docs/api-policy/developer-token (tokens were sunset on 2026-09-09: "optional and ignored")
* docs/sunset-dates and the v19-v22 sunset posts (v22 sunset 2026-10-07)

Routes: ``POST /v{N}/customers/{id}/googleAds:search`` and ``:searchStream``, and
``GET /v{N}/customers:listAccessibleCustomers``. Versions v23-v26 are served (the active ones at
the dataset anchor); older ones get 400 UNSUPPORTED_VERSION, unknown paths a Google-style 404.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.sandbox.google_ads.assets import asset_rows, with_assets
from leadflow.sandbox.google_ads.data import (
    Customer,
    GoogleAdsDataset,
    Submission,
    google_ads_dataset,
)
from leadflow.sandbox.google_ads.errors import (
    MISSING_CREDENTIALS,
    NOT_FOUND,
    PERMISSION,
    QUOTA,
    AdsError,
    duration,
    error_body,
    request_id,
)
from leadflow.sandbox.google_ads.gaql import LEAD, Compiled, Context, compile_query
from leadflow.sandbox.google_ads.gaql_syntax import GaqlError
from leadflow.sandbox.server import (
    BadJSONError,
    HostedApp,
    Request,
    Response,
    Router,
    SandboxServer,
    json_response,
)

SEARCH_FIELDS = ("query", "pageToken", "pageSize", "validateOnly", "searchSettings")
STREAM_FIELDS = ("query", "summaryRowSetting")


@dataclass
class _Page:
    query: str
    customer_id: str
    rows: list[dict[str, Any]]
    offset: int
    total: int
    total_requested: bool
    consumption: int
    issued: float


class GoogleAdsSandbox(HostedApp):
    """Google Ads REST sandbox; ``with GoogleAdsSandbox() as ads: requests.post(ads.base_url...)``.

    ``developer_token_mode``: ``"presence"`` (default) answers a missing ``developer-token``
    header with DEVELOPER_TOKEN_PARAMETER_MISSING, as the API still did after the documented
    sunset, and ignores its value; ``"ignore"`` follows the sunset docs; ``"strict"`` also
    rejects a wrong value (pre-sunset DEVELOPER_TOKEN_INVALID). ``now`` is the instant that
    ``DURING`` ranges count from (default: the dataset anchor).
    """

    def __init__(
        self,
        dataset: GoogleAdsDataset | None = None,
        *,
        token: str = "sandbox-google-token",
        developer_token: str = "sandbox-dev-token",
        developer_token_mode: str = "presence",
        port: int = 0,
        page_size: int = 10_000,
        page_token_ttl: float = 7200.0,
        versions: range = range(23, 27),
        now: datetime | None = None,
    ) -> None:
        self.dataset = dataset or google_ads_dataset()
        self.token, self.developer_token, self.token_expired = token, developer_token, False
        self.developer_token_mode, self.versions = developer_token_mode, versions
        self.page_size, self.page_token_ttl = page_size, page_token_ttl
        self.now = now or self.dataset.anchor
        self._pages: dict[str, _Page] = {}
        self._quota: list[tuple[float | None, str]] = []
        self._lock = threading.Lock()
        self._router = Router()
        self._router.add("POST", r"/(v\d+)/customers/([^/]+)/googleAds:(search|searchStream)",
                         self._search)  # fmt: skip
        self._router.add("GET", r"/(v\d+)/customers:listAccessibleCustomers", self._accessible)
        self.server = SandboxServer(self._app, port=port)

    # -- test helpers --------------------------------------------------------------------------
    def add_submission(self, customer_id: str, *, submitted_at: datetime, **kw: Any) -> Submission:
        """Add a lead (see :meth:`GoogleAdsDataset.add_submission`); new queries see it."""
        return self.dataset.add_submission(customer_id, submitted_at=submitted_at, **kw)

    def push_quota_error(
        self,
        retry_delay_seconds: float | None,
        *,
        kind: str = "RESOURCE_TEMPORARILY_EXHAUSTED",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` authorized calls with 429 QuotaError ``kind``.

        ``retry_delay_seconds=None`` leaves ``quotaErrorDetails.retryDelay`` out.
        """
        if kind not in QUOTA:
            raise ValueError(f"kind must be one of {sorted(QUOTA)}")
        with self._lock:
            self._quota.extend([(retry_delay_seconds, kind)] * times)

    def expire_page_tokens(self) -> None:
        """Make every issued ``nextPageToken`` expired (as after ~2 h unused)."""
        with self._lock:
            for page in self._pages.values():
                page.issued = float("-inf")

    # -- HTTP ----------------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        rid = request_id()
        resolved = self._router.resolve(request.method, request.path)
        if resolved is None or int(resolved[1].group(1)[1:]) >= self.versions.stop:
            page = NOT_FOUND.format(path=request.path)
            return Response(404, page, {"Content-Type": "text/html; charset=UTF-8"})
        handler, match = resolved
        try:
            self._check_version(match.group(1))
            self._authenticate(request)
            response = handler(request, match.groups(), rid)
        except AdsError as error:
            response = json_response(error.status, error_body(error, match.group(1), rid))
        response.headers["request-id"] = rid
        return response

    def _check_version(self, version: str) -> None:
        if int(version[1:]) < self.versions.start:
            raise AdsError(400, "requestError", "UNSUPPORTED_VERSION",
                           f"Version {version} is deprecated. Requests to this version will be "
                           "blocked.")  # fmt: skip

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AdsError(401, "authenticationError", "OAUTH_TOKEN_HEADER_INVALID",
                           "OAuth token HTTP header is malformed.",
                           top=MISSING_CREDENTIALS)  # fmt: skip
        if token.strip() != self.token:
            raise AdsError(401, "authenticationError", "OAUTH_TOKEN_INVALID",
                           "OAuth token in the header is not valid.")  # fmt: skip
        if self.token_expired:
            raise AdsError(401, "authenticationError", "OAUTH_TOKEN_EXPIRED",
                           "OAuth token in the header has expired.")  # fmt: skip
        developer_token = request.header("developer-token")
        if self.developer_token_mode != "ignore" and not developer_token:
            raise AdsError(400, "requestError", "DEVELOPER_TOKEN_PARAMETER_MISSING",
                           "developer-token parameter is missing.")  # fmt: skip
        if self.developer_token_mode == "strict" and developer_token != self.developer_token:
            raise AdsError(401, "authenticationError", "DEVELOPER_TOKEN_INVALID",
                           "The developer token is not valid.")  # fmt: skip

    def _authorize(self, request: Request, customer_id: str) -> Customer:
        if not customer_id.isdigit():
            raise AdsError(400, "requestError", "INVALID_CUSTOMER_ID",
                           f"Invalid customer ID '{customer_id}'.")  # fmt: skip
        login = request.header("login-customer-id")
        if login is not None and not login.strip().isdigit():
            raise AdsError(400, "headerError", "INVALID_LOGIN_CUSTOMER_ID",
                           f"The login customer ID '{login}' could not be validated.")  # fmt: skip
        customers = self.dataset.customers
        target, via = customers.get(customer_id), customers.get((login or "").strip())
        if login and (via is None or not via.direct or target is None):
            raise AdsError(403, "authorizationError", "USER_PERMISSION_DENIED", PERMISSION)
        if via is not None and target is not None and via.id not in (target.id, *target.managers):
            raise AdsError(403, "authorizationError",
                           "INVALID_LOGIN_CUSTOMER_ID_SERVING_CUSTOMER_ID_COMBINATION",
                           "The login customer specified does not have access to the account "
                           "specified, so the request is invalid.")  # fmt: skip
        if target is None or (via is None and not target.direct):
            raise AdsError(403, "authorizationError", "USER_PERMISSION_DENIED", PERMISSION)
        return target

    def _take_quota(self) -> None:
        with self._lock:
            if not self._quota:
                return
            delay, kind = self._quota.pop(0)
        scope, name = QUOTA[kind]
        details: dict[str, Any] = {"rateScope": scope, "rateName": name}
        message = "Too many requests."
        if delay is not None:
            details["retryDelay"] = duration(delay)
            message += f" Retry in {round(delay)} seconds."
        raise AdsError(429, "quotaError", kind, message, details={"quotaErrorDetails": details})

    def _body(self, request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
        try:
            raw = request.json()
        except BadJSONError as exc:
            message = f"Invalid JSON payload received. {exc} at line {exc.line} column {exc.column}"
            raise AdsError(400, None, "", message) from exc
        if not isinstance(raw, dict):
            raise AdsError(400, None, "", "Invalid JSON payload received. Expected an object.")
        body = {}
        for key, value in raw.items():  # proto3 JSON accepts lowerCamel and original names
            name = key.split("_")[0] + "".join(p.capitalize() for p in key.split("_")[1:])
            if name not in allowed:
                raise AdsError(400, None, "", f'Invalid JSON payload received. Unknown name "{key}"'
                               ": Cannot find field.")  # fmt: skip
            body[name] = value
        if not body.get("query"):
            raise AdsError(400, "requestError", "REQUIRED_FIELD_MISSING",
                           "Required field is missing", location="query")  # fmt: skip
        return body

    def _compile(self, customer: Customer, query: str) -> Compiled:
        tz = customer.tz
        ctx = Context(tz, self.now.astimezone(tz).date(), customer.manager)
        try:
            return compile_query(query, ctx)
        except GaqlError as exc:
            raise AdsError(400, "queryError", exc.code, exc.message) from exc

    def _execute(self, customer: Customer, compiled: Compiled) -> tuple[list[Any], int, int]:
        """Rendered rows (LIMIT applied), the total ignoring LIMIT, and rows scanned."""
        ds, cid, resource = self.dataset, customer.id, compiled.query.resource
        if resource == "campaign":
            base, days = ds.campaign_rows(cid), ds.campaign_day_rows(cid)
            rows, scanned = compiled.select_rows(base, days), len(base) + len(days)
        else:
            source = {
                LEAD: lambda c: with_assets(ds, c, ds.lead_rows(c)),
                "asset": lambda c: asset_rows(ds, c),
                "customer_client": ds.customer_client_rows,
            }.get(resource, lambda c: [ds.customer_row(c)])(cid)
            rows, scanned = compiled.run(source), len(source)
        limited = rows[: compiled.query.limit]
        return [compiled.render(row) for row in limited], len(rows), max(scanned, 1)

    def _search(self, request: Request, groups: tuple[str, ...], rid: str) -> Response:
        _version, customer_id, method = groups
        customer = self._authorize(request, customer_id)
        self._take_quota()
        body = self._body(request, SEARCH_FIELDS if method == "search" else STREAM_FIELDS)
        if body.get("pageSize"):
            raise AdsError(400, "requestError", "PAGE_SIZE_NOT_SUPPORTED",
                           "Setting the page size is not supported. Search Responses will have "
                           f"fixed page size of '{self.page_size}' rows.",
                           location="page_size")  # fmt: skip
        compiled = self._compile(customer, body["query"])
        if method == "searchStream":
            return json_response(200, self._stream(customer, compiled, rid))
        return json_response(200, self._page(customer, compiled, body))

    def _stream(self, customer: Customer, compiled: Compiled, rid: str) -> list[dict[str, Any]]:
        """SearchStream over REST: a JSON array of SearchGoogleAdsStreamResponse batches."""
        rows, _total, scanned = self._execute(customer, compiled)
        size = self.page_size
        batches = [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
        out = [{"results": batch} if batch else {} for batch in batches]
        for item in out:
            item.update(fieldMask=compiled.field_mask(), requestId=rid)
        out[-1]["queryResourceConsumption"] = str(scanned)
        return out

    def _page(self, customer: Customer, compiled: Compiled, body: dict[str, Any]) -> dict[str, Any]:
        settings = body.get("searchSettings") or {}
        want_total = bool(settings.get("returnTotalResultsCount"))
        token = body.get("pageToken")
        if body.get("validateOnly"):
            if token:
                raise AdsError(400, "requestError", "VALIDATE_ONLY_REQUEST_HAS_PAGE_TOKEN",
                               "page_token is set in the validate only request")  # fmt: skip
            return {}
        if token:
            page = self._resume(token, customer.id, body["query"], want_total)
        else:
            rows, total, scanned = self._execute(customer, compiled)
            page = _Page(body["query"], customer.id, rows, 0, total, want_total, scanned, 0.0)
        chunk = page.rows[page.offset : page.offset + self.page_size]
        response: dict[str, Any] = {}
        if chunk and not settings.get("omitResults"):
            response["results"] = chunk
        if page.offset + len(chunk) < len(page.rows):
            response["nextPageToken"] = self._issue(page, page.offset + len(chunk))
        if want_total:
            response["totalResultsCount"] = str(page.total)
        response["fieldMask"] = compiled.field_mask()
        response["queryResourceConsumption"] = str(page.consumption)
        return response

    def _issue(self, page: _Page, offset: int) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._pages[token] = _Page(
                **{**page.__dict__, "offset": offset, "issued": time.monotonic()}
            )
        return token

    def _resume(self, token: str, customer_id: str, query: str, want_total: bool) -> _Page:
        with self._lock:
            page = self._pages.get(token)
        if page is None or page.customer_id != customer_id:
            raise AdsError(400, "requestError", "INVALID_PAGE_TOKEN",
                           "Next page token specified in user request is invalid.",
                           location="page_token")  # fmt: skip
        if time.monotonic() - page.issued > self.page_token_ttl:
            raise AdsError(400, "requestError", "EXPIRED_PAGE_TOKEN",
                           "Next page token specified in user request has expired.",
                           location="page_token")  # fmt: skip
        if page.query != query:
            raise AdsError(400, "requestError", "INVALID_PAGE_TOKEN",
                           "The page token was issued for a different query; the query must "
                           "stay exactly the same across pages.",
                           location="page_token")  # fmt: skip
        if want_total and not page.total_requested:
            raise AdsError(400, "requestError", "TOTAL_RESULTS_COUNT_NOT_ORIGINALLY_REQUESTED",
                           "The total results count cannot be returned if it was not requested "
                           "in the original request.")  # fmt: skip
        return page

    def _accessible(self, request: Request, groups: tuple[str, ...], rid: str) -> Response:
        """Customers the OAuth user can reach directly (clients of a manager are not listed)."""
        self._take_quota()
        names = [f"customers/{c.id}" for c in self.dataset.customers.values() if c.direct]
        return json_response(200, {"resourceNames": names})
