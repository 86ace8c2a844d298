"""Salesforce OAuth: an access token from the JWT bearer flow or the refresh token flow, the
instance URL it is valid at, and one refresh when a session is refused mid-sync.

Docs followed:
- JWT bearer flow:
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
  (``POST {login}/services/oauth2/token``, form ``grant_type=urn:ietf:params:oauth:
  grant-type:jwt-bearer`` and ``assertion``: a JWT signed RS256 whose claims are ``iss`` the
  consumer key, ``sub`` the username, ``aud`` the authorization server, ``exp`` at most
  3 minutes ahead; the answer has ``access_token``, ``instance_url``, ``id``, no refresh
  token and no ``expires_in``)
- Refresh token flow:
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
  (form ``grant_type=refresh_token``, ``client_id``, ``client_secret`` when the app
  requires it, ``refresh_token``)
- OAuth errors (``{"error": "invalid_grant", "error_description": ...}``):
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm
- An expired or revoked session: HTTP 401 ``[{"errorCode": "INVALID_SESSION_ID", ...}]``
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm)

The 401 resend mirrors ``leadflow.connectors.hubspot.auth``: one refresh, one resend, then
the second 401 goes back to the caller's classifier, which asks for re-authorization.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from requests.auth import AuthBase

from leadflow.connectors.bearer import resend_with_token
from leadflow.connectors.errors import AuthError, TerminalError
from leadflow.connectors.http import PlatformSession, register_secret
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.connectors.salesforce.errors import REAUTHORIZE, SOURCE, classify_token_error

log = logging.getLogger(__name__)

TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def jwt_assertion(
    client_id: str, username: str, audience: str, private_key: str, *, now: float, lifetime: int
) -> str:
    """The JWT bearer flow's assertion: ``iss``/``sub``/``aud``/``exp``, signed RS256."""
    claims = {"iss": client_id, "sub": username, "aud": audience, "exp": int(now) + lifetime}
    return jwt.encode(claims, private_key, algorithm="RS256")


def private_key_text(value: str) -> str:
    """The PEM key itself (a ``${ENV}`` value), or the contents of the file it names."""
    if "-----BEGIN" in value:
        return value.replace("\\n", "\n")  # a key pasted into one env line keeps its lines
    try:
        return Path(value).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or type(error).__name__
        message = f"private_key: not a PEM key, nor a readable file ({why})"
        raise TerminalError(SOURCE, message) from None


class TokenSource:
    """Asks the token endpoint for an access token, by the flow the configuration names."""

    def __init__(self, config: SalesforceConfig, session: PlatformSession) -> None:
        self.config = config
        self.session = session
        self._key: str | None = None
        for secret in config.secrets():
            register_secret(secret.get_secret_value())

    def form(self) -> dict[str, str]:
        """The token request's form (the assertion signed now, for the JWT flow)."""
        config = self.config
        if not config.uses_jwt:
            assert config.refresh_token is not None
            form = {"grant_type": "refresh_token", "client_id": config.client_id}
            if config.client_secret is not None:
                form["client_secret"] = config.client_secret.get_secret_value()
            return {**form, "refresh_token": config.refresh_token.get_secret_value()}
        if self._key is None:
            assert config.private_key is not None
            self._key = private_key_text(config.private_key.get_secret_value())
            register_secret(self._key)
        assert config.username is not None
        assertion = jwt_assertion(
            config.client_id, config.username, config.jwt_audience, self._key,
            now=time.time(), lifetime=config.jwt_lifetime_seconds,
        )  # fmt: skip
        return {"grant_type": JWT_GRANT, "assertion": assertion}

    def fetch(self) -> dict[str, Any]:
        """The token response: ``access_token``, ``instance_url``, ``id``..."""
        try:
            form = self.form()
        except (ValueError, TypeError, jwt.PyJWTError) as error:  # a key PyJWT cannot read
            kind = type(error).__name__
            raise TerminalError(SOURCE, f"private_key: not a usable RSA key ({kind})") from None
        url = self.config.base_url + TOKEN_PATH
        body = self.session.fetch_json(
            "POST", url, classify=classify_token_error, data=form,
            headers={"Accept": "application/json"},
        )  # fmt: skip
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AuthError(SOURCE, f"the token endpoint returned no access_token; {REAUTHORIZE}")
        if not trusted_instance(str(body.get("instance_url") or ""), self.config.base_url):
            raise AuthError(
                SOURCE, "the token endpoint named no https instance_url (nor base_url's own "
                f"host): no token is sent there; {REAUTHORIZE}",
            )  # fmt: skip
        register_secret(body["access_token"])
        return body

    def close(self) -> None:
        self.session.close()


def trusted_instance(instance_url: str, base_url: str) -> bool:
    """Whether API calls (and their bearer token) may go to ``instance_url``: an https URL,
    or one on ``base_url``'s own scheme and host (a local sandbox, a gateway)."""
    named, base = urlsplit(instance_url), urlsplit(base_url)
    if not named.netloc:
        return False
    return named.scheme == "https" or (named.scheme, named.netloc) == (base.scheme, base.netloc)


def org_id_of(token: Mapping[str, Any]) -> str | None:
    """The org id in a token response's identity URL (``.../id/<org id>/<user id>``)."""
    parts = str(token.get("id") or "").rstrip("/").split("/")
    return parts[-2] if len(parts) >= 3 and parts[-3] == "id" else None


class SalesforceAuth(AuthBase):
    """Bearer auth that gets its token on first use and, when a request is answered 401
    (``INVALID_SESSION_ID``: the session expired or was revoked), refreshes it once and
    sends that request once more. Tokens are registered for redaction, never logged."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens
        self.refreshes = 0
        self._token: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()['access_token']}"
        request.register_hook("response", self._resend_after_401)
        return request

    def token(self) -> dict[str, Any]:
        """The current token response, asked for first when there is none."""
        with self._lock:
            if self._token is None:
                self._refresh()
            assert self._token is not None
            return self._token

    @property
    def instance_url(self) -> str:
        return str(self.token()["instance_url"]).rstrip("/")

    def close(self) -> None:
        self.tokens.close()

    def _refresh(self) -> None:
        self._token = self.tokens.fetch()
        self.refreshes += 1
        log.info("salesforce: access token issued (%s flow)", self._flow())

    def _flow(self) -> str:
        return "JWT bearer" if self.tokens.config.uses_jwt else "refresh token"

    def _resend_after_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401:
            return response
        stale = (response.request.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self._lock:
            current = self._token.get("access_token") if self._token else None
            if current in (None, stale):  # another thread may have refreshed already
                log.info("salesforce: session refused (HTTP 401); asking a new token once")
                self._refresh()
            assert self._token is not None
            token = self._token["access_token"]
        return resend_with_token(response, token, **kwargs)
