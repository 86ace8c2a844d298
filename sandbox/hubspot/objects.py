"""CRM v3 object endpoints (list, read, search) over one ``ObjectStore``.

Docs used:
* https://developers.hubspot.com/docs/api/crm/contacts and the engagement guides
  (https://developers.hubspot.com/docs/api/crm/calls, .../emails, .../meetings): list with
  ``limit`` default 10 / max 100, ``after`` cursor, ``properties``, ``archived``; unknown
  properties ignored; ``GET /crm/v3/objects/{type}/{id}`` reads one record
* https://developers.hubspot.com/docs/api/crm/search (search semantics, see hubspot_search)
* https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies
  (an id merged into another record reads as that record)
"""

from __future__ import annotations

import base64
import binascii
import bisect
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from leadflow.sandbox.hubspot import limits
from leadflow.sandbox.hubspot.search import SearchError, SearchLimits
from leadflow.sandbox.hubspot.store import ObjectStore
from leadflow.sandbox.server import Request, Response, json_response

LIST_MAX_LIMIT = 100


@dataclass(frozen=True)
class Paging:
    """Per-sandbox paging settings: ``clamp`` quietly fixes an out-of-range ``limit``."""

    base_url: str
    search: SearchLimits
    clamp: bool = False


def parse_limit(raw: Any, default: int, maximum: int, clamp: bool) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw))
    except ValueError as exc:
        raise SearchError(f"limit must be an integer, got {raw!r}") from exc
    if clamp:
        return min(max(value, 1), maximum)
    if not 1 <= value <= maximum:
        raise SearchError(f"limit must be between 1 and {maximum}, got {value}")
    return value


def query_list(request: Request, name: str) -> list[str]:
    """Comma-separated and repeated query values (``properties=a,b&properties=c``)."""
    return [p.strip() for v in request.query.get(name, []) for p in v.split(",") if p.strip()]


def encode_cursor(next_id: int) -> str:
    return base64.urlsafe_b64encode(str(next_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise SearchError(f"Invalid paging cursor 'after': {cursor!r}") from exc


def next_page(request: Request, base_url: str, cursor: str) -> dict[str, Any]:
    params = {k: v[-1] for k, v in request.query.items() if k != "after"}
    link = f"{base_url}{request.path}?{urlencode({**params, 'after': cursor})}"
    return {"next": {"after": cursor, "link": link}}


def _names(store: ObjectStore, wanted: list[str]) -> list[str]:
    """Requested known properties plus the always-returned ones, else the defaults."""
    kind = store.object_type
    requested = {p for p in wanted if p in store.known_properties}
    if not requested:
        return list(kind.default_properties)
    return sorted(requested | set(kind.always_returned))


def render(obj: dict[str, Any], names: list[str]) -> dict[str, Any]:
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


def list_objects(store: ObjectStore, request: Request, paging: Paging) -> Response:
    limit = parse_limit(request.param("limit"), 10, LIST_MAX_LIMIT, paging.clamp)
    archived = (request.param("archived") or "false").lower() == "true"
    ids = store.id_order(archived)
    start = bisect.bisect_left(ids, decode_cursor(request.param("after")))
    names = _names(store, query_list(request, "properties"))
    results = [render(store.get(str(i)) or {}, names) for i in ids[start : start + limit]]
    body: dict[str, Any] = {"results": results}
    if start + limit < len(ids):
        body["paging"] = next_page(request, paging.base_url, encode_cursor(ids[start + limit]))
    return json_response(200, body)


def read_object(store: ObjectStore, request: Request, object_id: str) -> Response:
    archived = (request.param("archived") or "false").lower() == "true"
    obj = store.resolve(object_id)
    if obj is None or obj["archived"] is not archived:
        body = limits.error_body("OBJECT_NOT_FOUND", "resource not found")
        return json_response(404, body)
    return json_response(200, render(obj, _names(store, query_list(request, "properties"))))


def search_objects(store: ObjectStore, request: Request, paging: Paging) -> Response:
    body = request.json()
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise SearchError("The request body must be a JSON object")
    cap = paging.search
    limit = parse_limit(body.get("limit"), cap.default_limit, cap.max_limit, paging.clamp)
    after = _search_after(body.get("after"), cap.max_results)
    matches = store.search(body, cap)
    page_ids = matches[after : min(after + limit, cap.max_results)]
    names = _names(store, [str(p) for p in body.get("properties") or []])
    results = [render(store.get(oid) or {}, names) for oid in page_ids]
    response: dict[str, Any] = {"total": len(matches), "results": results}
    if after + len(page_ids) < len(matches):
        response["paging"] = {"next": {"after": str(after + len(page_ids))}}
    return json_response(200, response)


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
