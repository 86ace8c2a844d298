"""What Salesforce's error answers mean: the REST API's error list and the OAuth errors.

Docs followed:
- Status codes and error responses:
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
  (a JSON list of ``{"message", "errorCode", "fields"}``; 401 ``INVALID_SESSION_ID``; 403
  ``REQUEST_LIMIT_EXCEEDED`` when the org's API request limit is spent ("TotalRequests Limit
  exceeded."; the same code with "ConcurrentPerOrgLongTxn Limit exceeded" is the limit on
  concurrent long requests, which passes: retried); 400
  ``INVALID_FIELD``/``INVALID_TYPE`` for a field or object the user cannot see;
  ``INVALID_QUERY_LOCATOR`` for a query cursor that expired)
- OAuth errors, ``{"error": "invalid_grant", "error_description": ...}``:
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    MissingScope,
    RateLimited,
    TerminalError,
)
from leadflow.connectors.http import error_detail

SOURCE = "salesforce"
REAUTHORIZE = "re-authorize the Salesforce connected app"
GRANT_ACCESS = (
    "give the integration user read access to it (its profile or a permission set: object "
    "permissions and field-level security)"
)


class DailyLimitReached(TerminalError):
    """The org's daily API allowance is spent, or down to the configured reserve."""


class QueryLocatorExpired(TerminalError):
    """A query's ``nextRecordsUrl`` is no longer valid: the query must be asked again."""


def _first(body: Any) -> Mapping[str, Any]:
    first = body[0] if isinstance(body, list) and body else body
    return first if isinstance(first, Mapping) else {}


def error_code(body: Any) -> str:
    """The ``errorCode`` of Salesforce's error list (or of one error object)."""
    return str(_first(body).get("errorCode") or "")


def _message(body: Any) -> str:
    return str(_first(body).get("message") or "")


def classify_error(response: requests.Response, body: Any) -> ConnectorError | None:
    """Salesforce's error bodies; what is not named here gets the default mapping (a 5xx
    and a 429 retried, another 4xx final)."""
    code, status = error_code(body), response.status_code
    if code == "REQUEST_LIMIT_EXCEEDED" and "concurrent" in _message(body).lower():
        # Too many long-running requests at once (ConcurrentPerOrgLongTxn): it passes.
        return RateLimited(SOURCE, f"concurrent request limit (HTTP {status} {code})")
    if code == "REQUEST_LIMIT_EXCEEDED":
        return DailyLimitReached(
            SOURCE, "the org's API request limit is reached (REQUEST_LIMIT_EXCEEDED); the sync "
            "goes on once the rolling 24-hour allowance has room again",
        )  # fmt: skip
    if status == 401:
        why = code or "HTTP 401"
        return AuthError(SOURCE, f"session refused even with a new token ({why}); {REAUTHORIZE}")
    if code == "INVALID_QUERY_LOCATOR":
        return QueryLocatorExpired(SOURCE, "the query's nextRecordsUrl expired")
    if code in ("INVALID_FIELD", "INVALID_TYPE", "INSUFFICIENT_ACCESS"):
        detail = f"HTTP {status} {code}: {error_detail(_first(body), ('message',))}"
        return MissingScope(SOURCE, None, detail, grant=GRANT_ACCESS, term="object or field access")
    return None


def classify_token_error(response: requests.Response, body: Any) -> ConnectorError | None:
    """The token endpoint: a refused grant (4xx ``invalid_grant``, ``invalid_client``...) is
    final; a 5xx or a 429 is left to the default mapping (retried)."""
    known = classify_error(response, body) if error_code(body) else None
    if known is not None or response.status_code >= 500 or response.status_code == 429:
        return known
    first = _first(body)
    code = str(first.get("error") or f"HTTP {response.status_code}")
    detail = error_detail(first, ("error_description", "message"))
    return AuthError(SOURCE, f"token request refused ({code}: {detail}); {REAUTHORIZE}")
