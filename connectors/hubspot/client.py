"""The HubSpot client: one session per portal, its auth, pacing and error mapping.

Retries are the transport's (``leadflow.connectors.http``); ``classify_error`` tells it
that a 429 is worth waiting out unless the daily allowance is spent.

Docs followed:
- Limits: https://developers.hubspot.com/docs/api/usage-details (429 ``policyName``
  TEN_SECONDLY_ROLLING / SECONDLY / DAILY, ``X-HubSpot-RateLimit-*`` headers; the search
  endpoints allow 5 requests per second per account): kept on this side by
  ``leadflow.connectors.hubspot.pace``
- Errors: https://developers.hubspot.com/docs/api/error-handling (``category`` such as
  EXPIRED_AUTHENTICATION / INVALID_AUTHENTICATION, ``correlationId``); a token without a
  scope an endpoint needs gets HTTP 403 ``"category": "MISSING_SCOPES"`` naming the scopes
  in ``errors[].context.requiredGranularScopes`` (older bodies: ``requiredScopes``), each
  error's message saying "One or more of" / "All of the following scopes are required."
  (https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/scopes:
  an endpoint's scopes are listed under Requirements in its reference)
- OAuth: https://developers.hubspot.com/docs/api/oauth/tokens (see hubspot_auth)
- Account info: https://developers.hubspot.com/docs/api/settings/account-information-api
  (``GET /account-info/v3/details`` -> ``{portalId, accountType, timeZone, companyCurrency,
  ...}``: the portal a token belongs to, read when ``portal_id`` is not configured)
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import requests

from leadflow.connectors.errors import AuthError, ConnectorError, MissingScope, TerminalError
from leadflow.connectors.http import (
    ErrorClassifier,
    PlatformSession,
    build_retry,
    error_detail,
)
from leadflow.connectors.hubspot.auth import TOKEN_PATH, HubSpotOAuth
from leadflow.connectors.hubspot.config import HubSpotConfig
from leadflow.connectors.hubspot.pace import limits_for

log = logging.getLogger(__name__)

SOURCE = "hubspot"
ACCOUNT_INFO_PATH = "/account-info/v3/details"


def daily_limit_spent(response: requests.Response, body: Mapping[str, Any]) -> bool:
    """A 429 for the daily allowance (``policyName`` DAILY, or no daily call remaining): it
    resets at midnight, so it is not waited out. OAuth apps get no daily headers, only the
    body's policy."""
    remaining = response.headers.get("X-HubSpot-RateLimit-Daily-Remaining")
    spent = remaining is not None and remaining.strip() == "0"
    return response.status_code == 429 and (spent or body.get("policyName") == "DAILY")


GRANT_SCOPE = (
    "grant the scope to the HubSpot app (a private app: its Scopes tab; an OAuth app: add "
    "it to the app's scopes and install the app again)"
)


def required_scopes(body: Mapping[str, Any]) -> str | None:
    """What a MISSING_SCOPES body says is needed: ``a``, ``one of a, b`` or ``all of a, b``
    (``errors[].context.requiredGranularScopes``, else the older ``requiredScopes``)."""
    entries = [body, *(e for e in body.get("errors") or [] if isinstance(e, Mapping))]
    scopes: list[str] = []
    every = False
    for entry in entries:
        context = entry.get("context")
        if not isinstance(context, Mapping):
            continue
        for key in ("requiredGranularScopes", "requiredScopes"):
            named = [str(s) for s in context.get(key) or [] if isinstance(s, str | int)]
            scopes += [scope for scope in named if scope not in scopes]
            every = every or (bool(named) and str(entry.get("message", "")).startswith("All"))
    if len(scopes) < 2:
        return scopes[0] if scopes else None
    return f"{'all' if every else 'one'} of {', '.join(scopes)}"


def _path(response: requests.Response) -> str:
    request = response.request
    path = requests.utils.urlparse(request.url or "").path if request is not None else "?"
    return f"{request.method if request is not None else '?'} {path}"


def classify_error(response: requests.Response, body: Any) -> ConnectorError | None:
    """HubSpot's error bodies: category for auth and missing scopes, policyName for rate
    limits; any other 429 is left to the default mapping (``RateLimited``: waited out,
    then raised)."""
    body = body if isinstance(body, Mapping) else {}
    category = str(body.get("category", ""))
    if response.status_code == 403 and category == "MISSING_SCOPES":
        detail = f"HTTP 403 MISSING_SCOPES on {_path(response)}: {error_detail(body)}"
        scope = required_scopes(body)
        return MissingScope(SOURCE, scope, detail, grant=GRANT_SCOPE, term="scope")
    if response.status_code == 401 or category.endswith("_AUTHENTICATION"):
        why = "token expired" if category == "EXPIRED_AUTHENTICATION" else "token refused"
        return AuthError(SOURCE, f"{why} ({error_detail(body)}); re-authorize the HubSpot app")
    if daily_limit_spent(response, body):
        return TerminalError(
            SOURCE, "daily API limit reached; the sync resumes after midnight (portal time)"
        )
    return None


def classify_token_error(response: requests.Response, body: Any) -> ConnectorError | None:
    """The token endpoint: a refused refresh token (400 BAD_REFRESH_TOKEN, 401) is final."""
    known = classify_error(response, body) if response.status_code == 429 else None
    if known is None and response.status_code in (400, 401, 403):
        body = body if isinstance(body, Mapping) else {}
        status = body.get("status") or body.get("category") or f"HTTP {response.status_code}"
        known = AuthError(
            SOURCE,
            f"OAuth refresh token refused ({status}: {error_detail(body)}); "
            "re-authorize the HubSpot app",
        )
    return known


def open_session(config: HubSpotConfig) -> HubSpotClient:
    """A client for one portal; search and batch read are reads, so POST is retried too."""
    session = _session(config)
    if config.uses_oauth:
        assert config.client_id and config.client_secret and config.refresh_token
        session.auth = HubSpotOAuth(
            config.base_url + TOKEN_PATH,
            config.client_id,
            config.client_secret.get_secret_value(),
            config.refresh_token.get_secret_value(),
            _session(config),
            classify=classify_token_error,
            margin=config.token_refresh_margin_seconds,
        )
    else:
        assert config.access_token is not None
        session.headers["Authorization"] = f"Bearer {config.access_token.get_secret_value()}"
    return HubSpotClient(config, session)


# The portal id account info gave, per configuration: a run loads its settings, so this
# is one request per source per run, however many streams list the portal.
_PORTALS: weakref.WeakKeyDictionary[HubSpotConfig, str] = weakref.WeakKeyDictionary()
_PORTALS_LOCK = threading.Lock()


def portal_of(config: HubSpotConfig) -> str:
    """The configured ``portal_id``, else the token's own portal from account info (read
    once for this configuration). A refused token is the usual ``AuthError``."""
    if config.portal_id is not None:
        return config.portal_id
    with _PORTALS_LOCK:
        known = _PORTALS.get(config)
        if known is None:
            known = _PORTALS[config] = _account_portal_id(config)
            log.info("hubspot: portal_id not configured; the token's portal is %s", known)
    return known


def _account_portal_id(config: HubSpotConfig) -> str:
    client = open_session(config)
    try:
        reply = client.get(ACCOUNT_INFO_PATH)
    finally:
        client.close()
    value = reply.get("portalId")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise TerminalError(
            SOURCE, f"GET {ACCOUNT_INFO_PATH} named no portalId; set portal_id in the source"
        )
    return str(value).strip()


def _session(config: HubSpotConfig) -> PlatformSession:
    retry = build_retry(
        attempts=config.max_attempts, backoff_factor=config.backoff_seconds, methods=("GET", "POST")
    )
    timeout = (config.connect_timeout_seconds, config.timeout_seconds)
    return PlatformSession(SOURCE, timeout=timeout, retry=retry, classify=classify_error)


class HubSpotClient:
    """Sends HubSpot requests and maps its error bodies; every call waits for its slot under
    HubSpot's limits, shared with every other client of the same credential in this process
    (``leadflow.connectors.hubspot.pace``: searches under the search limit, the rest under
    the burst limit the responses announce)."""

    def __init__(self, config: HubSpotConfig, session: PlatformSession) -> None:
        self.config = config
        self.session = session
        self.requests_made = 0
        self.limits = limits_for(config)
        session.hooks["response"].append(self.limits.learn)

    def search(self, body: Mapping[str, Any], object_type: str = "contacts") -> dict[str, Any]:
        """``POST /crm/v3/objects/{object_type}/search``, under the search limit."""
        path = f"/crm/v3/objects/{object_type}/search"
        return self._send("POST", path, classify_error, search=True, json=body)

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        classify: ErrorClassifier = classify_error,
    ) -> dict[str, Any]:
        return self._send("GET", path, classify, params=dict(params or {}))

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._send("POST", path, classify_error, json=body)

    def _send(
        self,
        method: str,
        path: str,
        classify: ErrorClassifier,
        *,
        search: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        url = self.config.base_url + path
        self.requests_made += 1
        with (self.limits.search if search else self.limits.burst).slot():
            return self.session.fetch_json(method, url, classify=classify, **kwargs)

    def close(self) -> None:
        close_auth = getattr(self.session.auth, "close", None)
        if callable(close_auth):
            close_auth()
        self.session.close()
