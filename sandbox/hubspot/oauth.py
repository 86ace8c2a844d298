"""OAuth 2.0 token endpoint and issued access tokens of the HubSpot sandbox.

Sources:
* https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide
  and https://developers.hubspot.com/docs/methods/oauth2/refresh-access-token:
  ``POST /oauth/v1/token``, ``application/x-www-form-urlencoded`` with ``grant_type=
  refresh_token``, ``client_id``, ``client_secret``, ``refresh_token`` ->
  ``{"token_type": "bearer", "refresh_token", "access_token", "expires_in": 1800}``;
  access tokens live 30 minutes, the refresh token does not change
* https://developers.hubspot.com/changelog/new-oauth-v3-api-endpoints-and-standardized-error-responses
  (errors keep HubSpot's ``status``/``message`` and add RFC 6749 ``error``/
  ``error_description``). The ``status`` codes (BAD_REFRESH_TOKEN "missing or unknown
  refresh token", BAD_CLIENT_ID, BAD_CLIENT_SECRET, BAD_GRANT_TYPE) are what HubSpot
  answers in practice; the reference pages only show a generic error body.
* An expired access token gets 401 ``EXPIRED_AUTHENTICATION`` ("The OAuth token used to make
  this call expired N second(s) ago."), https://developers.hubspot.com/docs/api/error-handling.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from leadflow.sandbox.hubspot import limits
from leadflow.sandbox.server import Request, Response, json_response

TOKEN_PATH = "/oauth/v1/token"
VALID, EXPIRED, UNKNOWN = "valid", "expired", "unknown"
PRIVATE_APP, OAUTH = "private-app", "oauth"
_ERRORS = {
    "BAD_GRANT_TYPE": ("unsupported_grant_type", "missing or unsupported grant_type"),
    "BAD_CLIENT_ID": ("invalid_client", "missing or unknown client id"),
    "BAD_CLIENT_SECRET": ("invalid_client", "missing or invalid client secret"),
    "BAD_REFRESH_TOKEN": ("invalid_grant", "missing or unknown refresh token"),
}


def oauth_error(status: str) -> dict[str, Any]:
    """HubSpot's token-endpoint error body for ``status`` (e.g. ``BAD_REFRESH_TOKEN``)."""
    rfc, message = _ERRORS[status]
    return {
        "status": status,
        "message": message,
        "correlationId": limits.correlation_id(),
        "error": rfc,
        "error_description": message,
    }


@dataclass
class OAuthApp:
    """One installed public app: its credentials and the access tokens it was issued."""

    client_id: str
    client_secret: str
    refresh_token: str
    ttl: float = 1800
    refresh_count: int = 0
    _expiry: dict[str, float] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self) -> str:
        """A new access token valid for ``ttl`` seconds (no refresh is counted)."""
        token = f"sandbox-oauth-{next(self._serial)}-{secrets.token_hex(12)}"
        with self._lock:
            self._expiry[token] = time.monotonic() + self.ttl
        return token

    def check(self, token: str) -> tuple[str, int]:
        """(VALID | EXPIRED | UNKNOWN, whole seconds since expiry, at least 1 if expired)."""
        with self._lock:
            expiry = self._expiry.get(token)
        if expiry is None:
            return UNKNOWN, 0
        late = time.monotonic() - expiry
        return (EXPIRED, max(int(late), 1)) if late >= 0 else (VALID, 0)

    def expire_all(self) -> None:
        """Every access token issued so far expires now (the refresh token stays valid)."""
        now = time.monotonic()
        with self._lock:
            self._expiry = {token: min(exp, now) for token, exp in self._expiry.items()}

    def revoke(self) -> None:
        """The app was uninstalled: the refresh token and every access token stop working."""
        with self._lock:
            self.refresh_token = f"revoked-{secrets.token_hex(8)}"
            self._expiry.clear()

    def token_endpoint(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in request.query.items()}
        body = request.body.decode("utf-8", errors="replace")
        form.update({k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()})
        problem = self._problem(form)
        if problem is not None:
            return json_response(400, oauth_error(problem))
        with self._lock:
            self.refresh_count += 1
        body_out = {
            "token_type": "bearer",
            "refresh_token": self.refresh_token,
            "access_token": self.issue(),
            "expires_in": int(self.ttl),
        }
        return json_response(200, body_out)

    def _problem(self, form: dict[str, str]) -> str | None:
        if form.get("grant_type") != "refresh_token":
            return "BAD_GRANT_TYPE"
        if form.get("client_id") != self.client_id:
            return "BAD_CLIENT_ID"
        if form.get("client_secret") != self.client_secret:
            return "BAD_CLIENT_SECRET"
        if not form.get("refresh_token") or form["refresh_token"] != self.refresh_token:
            return "BAD_REFRESH_TOKEN"
        return None


def authenticate(
    header: str | None, private_token: str, private_expired: bool, app: OAuthApp
) -> str | Response:
    """PRIVATE_APP or OAUTH for a good bearer token, else HubSpot's 401 response."""
    scheme, _, token = (header or "").partition(" ")
    bearer, token = scheme.lower() == "bearer", token.strip()
    state, late = app.check(token) if token else (UNKNOWN, 0)
    if bearer and token == private_token and not private_expired:
        return PRIVATE_APP
    if bearer and state == VALID:
        return OAUTH
    if bearer and token == private_token:
        response = json_response(401, limits.auth_error(expired_seconds_ago=75))
    elif bearer and state == EXPIRED:
        response = json_response(401, limits.auth_error(expired_seconds_ago=late))
    else:
        response = json_response(401, limits.auth_error())
    response.headers["X-HubSpot-Auth-Failure"] = "401 Unauthorized"
    return response
