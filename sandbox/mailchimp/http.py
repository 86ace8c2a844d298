"""Mailchimp Marketing API v3 errors, query parameters, partial responses and the connection cap.

* Errors (https://mailchimp.com/developer/marketing/docs/errors/): RFC 7807 bodies
  ``{"type", "title", "status", "detail", "instance"}`` served as
  ``application/problem+json; charset=utf-8`` with an ``X-Request-Id`` header. The glossary
  names (APIKeyInvalid, ResourceNotFound...) appear in responses as spaced titles ("API Key
  Invalid", "Resource Not Found"); the 401 body matches captured production responses.
* Throttling: the glossary's 429 TooManyRequests "You have exceeded the limit of 10
  simultaneous connections." (enforced by ``leadflow.sandbox.mailchimp.limits``).
* Pagination and partial responses
  (https://mailchimp.com/developer/marketing/docs/methods-parameters/): ``count`` (default 10,
  maximum 1000), ``offset`` (default 0); ``fields``/``exclude_fields`` are comma-separated dotted
  paths (``members.email_address``) applied to the whole response body.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from leadflow.sandbox.server import Request, Response, json_response

ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
PROBLEM_JSON = "application/problem+json; charset=utf-8"
JSON = "application/json; charset=utf-8"
API_KEY_MISSING = (401, "API Key Missing", "Your request did not include an API key.")
API_KEY_INVALID = (
    401,
    "API Key Invalid",
    "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
)
# The glossary's generic 403 ("Forbidden"): the key's user may not access the resource.
FORBIDDEN = (
    403,
    "Forbidden",
    "You are not permitted to access this resource. This is a generic error.",
)
NOT_FOUND = (404, "Resource Not Found", "The requested resource could not be found.")
METHOD_NOT_ALLOWED = (
    405,
    "Method Not Allowed",
    "The requested method and resource are not compatible. See the Allow header for this "
    "resource's available methods.",
)
INVALID_RESOURCE = (
    400,
    "Invalid Resource",
    "The resource submitted could not be validated. For field-specific details, see the "
    "'errors' array.",
)
INTERNAL = (
    500,
    "Internal Server Error",
    "An unexpected internal error has occurred. Please contact Support for more information.",
)


class MailchimpError(Exception):
    """An API error; ``_app`` turns it into a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors, self.headers = errors, dict(headers or {})

    @classmethod
    def of(cls, known: tuple[int, str, str], **kw: Any) -> MailchimpError:
        return cls(*known, **kw)

    def response(self) -> Response:
        return problem(self.status, self.title, self.detail, errors=self.errors,
                       headers=self.headers)  # fmt: skip


def invalid(field: str, message: str) -> MailchimpError:
    """A 400 Invalid Resource naming the offending query parameter."""
    return MailchimpError.of(INVALID_RESOURCE, errors=[{"field": field, "message": message}])


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    instance = str(uuid.uuid4())
    body: dict[str, Any] = {"type": ERRORS_DOC, "title": title, "status": status,
                            "detail": detail, "instance": instance}  # fmt: skip
    if errors:
        body["errors"] = errors
    extra = {"Content-Type": PROBLEM_JSON, "X-Request-Id": instance, **(headers or {})}
    return json_response(status, body, extra)


def too_many(limit: int) -> Response:
    detail = f"You have exceeded the limit of {limit} simultaneous connections."
    return problem(429, "Too Many Requests", detail)


# -- query parameters -----------------------------------------------------------------------
def integer(request: Request, name: str, default: int) -> int:
    raw = request.param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid(name, f"Expected an integer, got {raw!r}.") from exc
    if value < 0:
        raise invalid(name, "Must be greater than or equal to 0.")
    return value


def page(request: Request, *, strict: bool = False, maximum: int = 1000) -> tuple[int, int]:
    """(count, offset). Past ``maximum`` the count is capped, or a 400 when ``strict``."""
    count = integer(request, "count", 10)
    if count > maximum:
        if strict:
            raise invalid("count", f"Must be less than or equal to {maximum}.")
        count = maximum
    return count, integer(request, "offset", 0)


def timestamp(request: Request, name: str) -> datetime | None:
    """An ISO 8601 query parameter; no offset means UTC. A '+' sent unencoded arrives as a
    space and is refused, as is anything else that is not ISO 8601."""
    raw = request.param(name)
    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        message = f"Expected an ISO 8601 date-time like 2015-10-21T15:41:36+00:00, got {raw!r}."
        raise invalid(name, message) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def choice(request: Request, name: str, options: tuple[str, ...], *, upper: bool = False) -> str:
    raw = request.param(name) or ""
    value = raw.upper() if upper else raw
    if value and value not in options:
        raise invalid(name, f"Must be one of: {', '.join(options)}.")
    return value


def parse_time(value: str) -> datetime | None:
    """A stored Mailchimp timestamp; ``""`` (unset) is None."""
    return datetime.fromisoformat(value) if value else None


def in_window(value: str, since: datetime | None, before: datetime | None) -> bool:
    """``since``/``before`` are exclusive ("after"/"before" the set time); unset values fail
    any bound."""
    if since is None and before is None:
        return True
    moment = parse_time(value)
    if moment is None:
        return False
    return (since is None or moment > since) and (before is None or moment < before)


# -- partial responses ----------------------------------------------------------------------
def _tree(request: Request, name: str) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for raw in request.query.get(name, []):
        for path in filter(None, (part.strip() for part in raw.split(","))):
            node = tree
            for key in path.split("."):
                node = node.setdefault(key, {})
    return tree


def _keep(value: Any, tree: dict[str, Any]) -> Any:
    if not tree:
        return value
    if isinstance(value, list):
        return [_keep(item, tree) for item in value]
    if isinstance(value, dict):
        return {key: _keep(value[key], sub) for key, sub in tree.items() if key in value}
    return value


def _drop(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_drop(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: (_drop(item, tree[key]) if key in tree else item)
            for key, item in value.items() if key not in tree or tree[key]}  # fmt: skip


def partial(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Apply ``fields`` then ``exclude_fields``; unknown paths simply match nothing."""
    fields, excluded = _tree(request, "fields"), _tree(request, "exclude_fields")
    shaped = _keep(body, fields) if fields else body
    return _drop(shaped, excluded) if excluded else shaped
