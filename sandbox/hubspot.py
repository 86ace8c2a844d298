"""A local HubSpot CRM v3 contacts server that behaves as HubSpot documents it.

Docs used:
* https://developers.hubspot.com/docs/api/crm/contacts (list contacts: ``limit`` default
  10 / max 100, ``after`` cursor, ``properties``, ``archived``; unknown properties ignored)
* https://developers.hubspot.com/docs/api/crm/search (search semantics, see hubspot_search)
* https://developers.hubspot.com/docs/api/usage-details (rate limits and headers)
* https://developers.hubspot.com/docs/api/error-handling (error bodies)
* https://github.com/HubSpot/HubSpot-public-api-spec-collection (CRM/Contacts v3 OpenAPI)

Endpoints: ``GET /crm/v3/objects/contacts`` and ``POST /crm/v3/objects/contacts/search``.
Anything else is a 404. Requests need ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sandbox import hubspot_limits as limits
from sandbox.data import hubspot_contacts
from sandbox.hubspot_search import ALWAYS_RETURNED, DEFAULT_PROPERTIES, SearchError, SearchLimits
from sandbox.hubspot_store import ContactStore
from sandbox.server import (
    BadJSONError,
    FaultQueue,
    Request,
    RequestRecord,
    Response,
    Router,
    SandboxServer,
    json_response,
)

CONTACTS_PATH = "/crm/v3/objects/contacts"
LIST_MAX_LIMIT = 100


class HubSpotSandbox:
    """HubSpot contacts sandbox; ``with HubSpotSandbox() as hs: requests.get(hs.base_url...)``."""

    def __init__(
        self,
        contacts: list[dict[str, Any]] | None = None,
        *,
        token: str = "sandbox-hubspot-token",
        port: int = 0,
        ten_second_limit: int | None = 100,
        search_rate_per_second: float | None = 5,
        daily_limit: int | None = 250_000,
        search_index_lag: float = 0.0,
        search_limits: SearchLimits | None = None,
        clamp_limit: bool = False,
    ) -> None:
        self.token = token
        self.token_expired = False
        self.rate_limits = limits.RateLimiter(ten_second_limit, search_rate_per_second, daily_limit)
        self.search_limits = search_limits or SearchLimits()
        self.clamp_limit = clamp_limit
        self.store = ContactStore(
            hubspot_contacts(500) if contacts is None else contacts, index_lag=search_index_lag
        )
        router = Router()
        router.add("GET", CONTACTS_PATH, self._list)
        router.add("POST", CONTACTS_PATH + "/search", self._search)
        self._router = router
        self.server = SandboxServer(self._app, port=port)

    @classmethod
    def unthrottled(cls, contacts: list[dict[str, Any]] | None = None, **kw: Any) -> HubSpotSandbox:
        """A sandbox with every rate limit disabled (fast tests)."""
        kw.update(ten_second_limit=None, search_rate_per_second=None, daily_limit=None)
        return cls(contacts, **kw)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> HubSpotSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> HubSpotSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def faults(self) -> FaultQueue:
        return self.server.faults

    @property
    def requests(self) -> list[RequestRecord]:
        return self.server.requests

    # -- test helpers --------------------------------------------------------------------
    @property
    def contacts(self) -> list[dict[str, Any]]:
        """Copies of every stored contact (including archived ones), by id."""
        return self.store.all()

    def upsert_contact(
        self, properties: dict[str, Any], *, modified_at: datetime | None = None
    ) -> dict[str, Any]:
        """Create (no/unknown ``hs_object_id``) or update a contact.

        ``lastmodifieddate``/``updatedAt`` become ``modified_at`` (default: now); returns
        the stored object.
        """
        return self.store.upsert(properties, modified_at)

    def archive_contact(self, object_id: str, archived: bool = True) -> None:
        self.store.set_archived(object_id, archived)

    def push_rate_limit(
        self, policy: str = limits.TEN_SECONDLY, *, times: int = 1, path: str | None = None
    ) -> None:
        """Make the next ``times`` (matching) requests fail with HubSpot's 429 for ``policy``."""
        body = limits.rate_limit_body(policy)
        headers = {"X-HubSpot-Correlation-Id": body["correlationId"]}
        if policy != limits.SECONDLY:
            headers.update(self.rate_limits.headers())
            remaining = "X-HubSpot-RateLimit-Daily-Remaining" if policy == limits.DAILY else None
            headers[remaining or "X-HubSpot-RateLimit-Remaining"] = "0"
        self.faults.push(429, body, headers, times=times, path=path)

    # -- HTTP ----------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        if self._router.resolve(request.method, request.path) is None:
            message = f"Unable to route {request.method} {request.path}"
            body = limits.error_body("OBJECT_NOT_FOUND", message)
            return _with_correlation(json_response(404, body))
        unauthorized = self._check_auth(request.header("Authorization"))
        if unauthorized is not None:
            return _with_correlation(unauthorized)
        search = request.path.endswith("/search")
        policy = self.rate_limits.admit(search)
        if policy is not None:
            response = json_response(429, limits.rate_limit_body(policy))
        else:
            response = self._dispatch(request)
        if not search:
            response.headers.update(self.rate_limits.headers())
        return _with_correlation(response)

    def _check_auth(self, header: str | None) -> Response | None:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.token:
            response = json_response(401, limits.auth_error())
        elif self.token_expired:
            response = json_response(401, limits.auth_error(expired_seconds_ago=75))
        else:
            return None
        response.headers["X-HubSpot-Auth-Failure"] = "401 Unauthorized"
        return response

    def _dispatch(self, request: Request) -> Response:
        try:
            response = self._router.dispatch(request)
        except BadJSONError as exc:
            message = f"Invalid input JSON on line {exc.line}, column {exc.column}: {exc}"
            return json_response(400, limits.error_body("VALIDATION_ERROR", message))
        except SearchError as exc:
            return json_response(400, limits.error_body("VALIDATION_ERROR", str(exc)))
        assert response is not None  # _app checked the route
        return response

    def _limit(self, raw: Any, default: int, maximum: int) -> int:
        if raw is None or raw == "":
            return default
        try:
            value = int(str(raw))
        except ValueError as exc:
            raise SearchError(f"limit must be an integer, got {raw!r}") from exc
        if self.clamp_limit:
            return min(max(value, 1), maximum)
        if not 1 <= value <= maximum:
            raise SearchError(f"limit must be between 1 and {maximum}, got {value}")
        return value

    def _names(self, wanted: list[str]) -> list[str]:
        """Requested known properties plus the always-returned ones, else the defaults."""
        known = self.store.known_properties
        requested = {p for p in wanted if p in known}
        return sorted(requested | set(ALWAYS_RETURNED)) if requested else list(DEFAULT_PROPERTIES)

    def _render(self, object_id: str, names: list[str]) -> dict[str, Any]:
        obj = self.store.get(object_id) or {}
        props = obj["properties"]
        rendered = {
            "id": obj["id"],
            "properties": {name: props.get(name) for name in names},
            "createdAt": obj["createdAt"],
            "updatedAt": obj["updatedAt"],
            "archived": obj["archived"],
        }
        if obj.get("archivedAt"):
            rendered["archivedAt"] = obj["archivedAt"]
        return rendered

    def _list(self, request: Request) -> Response:
        limit = self._limit(request.param("limit"), 10, LIST_MAX_LIMIT)
        archived = (request.param("archived") or "false").lower() == "true"
        wanted = [p.strip() for v in request.query.get("properties", []) for p in v.split(",")]
        ids = self.store.id_order(archived)
        start = bisect.bisect_left(ids, _decode_cursor(request.param("after")))
        page = ids[start : start + limit]
        names = self._names(wanted)
        results = [self._render(str(i), names) for i in page]
        body: dict[str, Any] = {"results": results}
        if start + limit < len(ids):
            cursor = _encode_cursor(ids[start + limit])
            params = {k: v[-1] for k, v in request.query.items() if k != "after"}
            link = f"{self.base_url}{CONTACTS_PATH}?{urlencode({**params, 'after': cursor})}"
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return json_response(200, body)

    def _search(self, request: Request) -> Response:
        body = request.json()
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise SearchError("The request body must be a JSON object")
        cap = self.search_limits
        limit = self._limit(body.get("limit"), cap.default_limit, cap.max_limit)
        after = _search_after(body.get("after"), cap.max_results)
        matches = self.store.search(body, cap)
        page_ids = matches[after : min(after + limit, cap.max_results)]
        wanted = [str(p) for p in body.get("properties") or []]
        names = self._names(wanted)
        results = [self._render(oid, names) for oid in page_ids]
        response: dict[str, Any] = {"total": len(matches), "results": results}
        if after + len(page_ids) < len(matches):
            response["paging"] = {"next": {"after": str(after + len(page_ids))}}
        return json_response(200, response)


def _with_correlation(response: Response) -> Response:
    body = response.body if isinstance(response.body, dict) else {}
    correlation = body.get("correlationId") or limits.correlation_id()
    response.headers["X-HubSpot-Correlation-Id"] = correlation
    return response


def _encode_cursor(next_id: int) -> str:
    return base64.urlsafe_b64encode(str(next_id).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise SearchError(f"Invalid paging cursor 'after': {cursor!r}") from exc


def _search_after(raw: Any, max_results: int) -> int:
    if raw is None or raw == "":
        return 0
    try:
        after = int(str(raw))
    except ValueError as exc:
        raise SearchError(f"'after' must be formatted as an integer, got {raw!r}") from exc
    if after < 0:
        raise SearchError("'after' must not be negative")
    if after >= max_results:
        raise SearchError(
            f"The search endpoints are limited to {max_results:,} total results for any given "
            f"query; cannot page to after={after}. Narrow the query with filters instead."
        )
    return after
