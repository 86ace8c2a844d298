"""The sandbox org's OAuth 2.0 token endpoint and the sessions it issues.

``POST /services/oauth2/token``, form-encoded:

* ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion``: an RS256 JWT
  signed with the key of the connected app's certificate, claims ``iss`` = consumer key,
  ``sub`` = username, ``aud`` = the login URL, ``exp`` in the future
  (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm); errors are
  the standard OAuth body ``{"error", "error_description"}`` with status 400
  (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm, RFC 7523).
  The descriptions are the ones Salesforce answers with: "invalid assertion" (bad signature or
  token), "audience is invalid", "expired authorization code" (``exp`` passed), "user hasn't
  approved this consumer" (unknown user), ``invalid_client_id`` "client identifier invalid".
* ``grant_type=refresh_token`` with ``refresh_token``, ``client_id`` and optionally
  ``client_secret`` (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm);
  a bad refresh token: ``invalid_grant`` "expired access/refresh token".

A success answers ``access_token``, ``instance_url`` (this sandbox), ``id`` (the identity URL
``https://login.salesforce.com/id/<org id>/<user id>``), ``token_type`` "Bearer", ``issued_at``
(milliseconds since the epoch), ``signature`` (Base64 HMAC-SHA256 of ``id`` + ``issued_at``
keyed with the consumer secret) and ``scope``. Sessions last ``session_ttl`` seconds (the
default session timeout is two hours); an expired or unknown one gets 401 INVALID_SESSION_ID.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt

from leadflow.sandbox.salesforce.keys import LOGIN_URL, public_key_of
from leadflow.sandbox.server import Request, Response, json_response

TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class GrantError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


@dataclass
class ConnectedApp:
    """The connected app (consumer key and secret, certificate), the org's users by username
    and the sessions issued."""

    client_id: str
    client_secret: str
    certificate_pem: str
    users: dict[str, str]  # username -> user id
    org_id: str
    refresh_token: str = "sandbox-salesforce-refresh-token"
    session_ttl: float = 7200
    audiences: tuple[str, ...] = (LOGIN_URL,)
    instance_url: str = ""
    grants: int = 0
    _sessions: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, user_id: str | None = None) -> str:
        """A new session (access token) for ``user_id`` (default: the first user)."""
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(40)}"
        with self._lock:
            self._sessions[token] = (
                user_id or next(iter(self.users.values())),
                time.monotonic() + self.session_ttl,
            )
        return token

    def user_of(self, header: str | None) -> str | None:
        """The user id of a live session named by an ``Authorization: Bearer`` header."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            return None
        with self._lock:
            found = self._sessions.get(token.strip())
        return found[0] if found and found[1] > time.monotonic() else None

    def expire_sessions(self) -> None:
        """Every session issued so far ends now (as a session timeout or a revoke would)."""
        with self._lock:
            self._sessions = {token: (user, 0.0) for token, (user, _) in self._sessions.items()}

    def token_endpoint(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        form.update({k: v[-1] for k, v in request.query.items() if k not in form})
        try:
            user_id = self._grant(form)
        except GrantError as exc:
            return json_response(400, {"error": exc.error, "error_description": exc.description})
        with self._lock:
            self.grants += 1
        return json_response(200, self._token_body(user_id))

    def _grant(self, form: dict[str, str]) -> str:
        grant = form.get("grant_type")
        if grant == JWT_GRANT:
            return self._jwt_user(form.get("assertion", ""))
        if grant == "refresh_token":
            return self._refresh_user(form)
        raise GrantError("unsupported_grant_type", "grant type not supported")

    def _jwt_user(self, assertion: str) -> str:
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise GrantError("invalid_grant", "invalid assertion") from None
        if claims.get("iss") != self.client_id:
            raise GrantError("invalid_client_id", "client identifier invalid")
        try:
            jwt.decode(
                assertion,
                public_key_of(self.certificate_pem),
                algorithms=["RS256"],  # type: ignore[arg-type]
                options={"verify_exp": False, "verify_aud": False, "require": ["exp"]},
            )
        except jwt.InvalidTokenError:
            raise GrantError("invalid_grant", "invalid assertion") from None
        if str(claims.get("aud", "")).rstrip("/") not in self._audiences():
            raise GrantError("invalid_grant", "audience is invalid")
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= time.time():
            raise GrantError("invalid_grant", "expired authorization code")
        user_id = self.users.get(str(claims.get("sub", "")).lower())
        if user_id is None:
            raise GrantError("invalid_grant", "user hasn't approved this consumer")
        return user_id

    def _audiences(self) -> set[str]:
        return {aud.rstrip("/") for aud in (*self.audiences, self.instance_url) if aud}

    def _refresh_user(self, form: dict[str, str]) -> str:
        if form.get("client_id") != self.client_id:
            raise GrantError("invalid_client_id", "client identifier invalid")
        if "client_secret" in form and form["client_secret"] != self.client_secret:
            raise GrantError("invalid_client", "invalid client credentials")
        if not hmac.compare_digest(form.get("refresh_token", ""), self.refresh_token):
            raise GrantError("invalid_grant", "expired access/refresh token")
        return next(iter(self.users.values()))

    def _token_body(self, user_id: str) -> dict[str, Any]:
        identity = f"{LOGIN_URL}/id/{self.org_id}/{user_id}"
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(
            self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        )
        return {
            "access_token": self.issue(user_id),
            "signature": base64.b64encode(digest.digest()).decode(),
            "scope": "api refresh_token",
            "instance_url": self.instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
