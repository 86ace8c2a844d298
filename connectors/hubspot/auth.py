"""HubSpot OAuth: a short-lived access token kept fresh from a long-lived refresh token.

Docs followed: https://developers.hubspot.com/docs/api/oauth/tokens ("Refresh an access
token": ``POST /oauth/v1/token``, form-encoded ``grant_type=refresh_token``, ``client_id``,
``client_secret``, ``refresh_token`` -> ``access_token``, ``refresh_token``,
``expires_in`` seconds, 1,800 today); an expired token is answered with HTTP 401
``"category": "EXPIRED_AUTHENTICATION"`` (https://developers.hubspot.com/docs/api/error-handling);
an unknown or revoked refresh token with HTTP 400 ``BAD_REFRESH_TOKEN``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.auth import AuthBase

from leadflow.connectors.bearer import resend_with_token
from leadflow.connectors.errors import AuthError
from leadflow.connectors.http import ErrorClassifier, PlatformSession, register_secret

log = logging.getLogger(__name__)

SOURCE = "hubspot"
TOKEN_PATH = "/oauth/v1/token"


class HubSpotOAuth(AuthBase):
    """Bearer auth for a HubSpot OAuth app that refreshes its own access token.

    * before a request, the token is refreshed when it expires within ``margin`` seconds
      (measured on a monotonic clock, so a wall-clock jump cannot skip a refresh);
    * a request answered 401 (expired mid-sync, or revoked) gets one refresh and is sent
      once more; a second 401 goes back to the caller, whose classifier turns it into an
      ``AuthError`` asking to re-authorize;
    * a refused refresh token raises ``AuthError`` ("re-authorize") at once.

    Written by hand rather than with requests-oauthlib: HubSpot's refresh is a single form
    POST, and this way the token request goes through the same ``PlatformSession`` as every
    other call (timeouts, the transport's retry loop, HubSpot's error mapping) instead of a
    second HTTP stack with its own exceptions; the 401 resend mirrors requests' own
    ``HTTPDigestAuth``.
    Tokens are registered for redaction and never logged.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        session: PlatformSession,
        *,
        classify: ErrorClassifier,
        margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.session = session
        self.margin = margin
        self.clock = clock
        self.refreshes = 0
        self._form = {"client_id": client_id, "client_secret": client_secret}
        self._refresh_token = refresh_token
        self._classify = classify
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        for secret in (client_secret, refresh_token):
            register_secret(secret)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.register_hook("response", self._resend_after_401)
        return request

    def token(self) -> str:
        """A valid access token, refreshed first when it is missing or about to expire."""
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at - self.margin:
                self._refresh()
            assert self._token is not None
            return self._token

    def close(self) -> None:
        self.session.close()

    def _resend_after_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401:
            return response
        stale = (response.request.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self._lock:
            if self._token in (None, stale):  # another thread may have refreshed already
                log.info("hubspot: access token refused (HTTP 401); refreshing it once")
                self._refresh()
            token = self._token
        return resend_with_token(response, token, **kwargs)

    def _refresh(self) -> None:
        started = self.clock()
        form = {"grant_type": "refresh_token", **self._form, "refresh_token": self._refresh_token}
        body = self.session.fetch_json(
            "POST", self.token_url, classify=self._classify, data=form,
            headers={"Accept": "application/json"},
        )  # fmt: skip
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise AuthError(SOURCE, "the token endpoint returned no access_token; re-authorize")
        register_secret(token)
        self._token = token
        self._expires_at = started + float(body.get("expires_in") or 1800)
        if body.get("refresh_token"):
            register_secret(body["refresh_token"])
            self._refresh_token = body["refresh_token"]
        self.refreshes += 1
        log.info("hubspot: OAuth access token refreshed, valid %ss", body.get("expires_in"))
