"""The Graph API client of the Meta connector: what its errors mean, and its paging.

Retries are the transport's (``leadflow.connectors.http``): ``classify_error`` tells it which
answers are worth another try (throttling after Meta's own estimate, codes 1 and 2,
``is_transient``) and which are not; the pages of an edge are walked by
``leadflow.connectors.pagination``.

Docs followed:
- Errors: https://developers.facebook.com/docs/graph-api/guides/error-handling (``{"error":
  {message, type, code, error_subcode, is_transient, fbtrace_id}}``, mostly with HTTP 400;
  1, 2: temporary, retry; 4, 17, 32, 341, 613: throttled; 190 (and 102): token expired or
  revoked, get a new one; 10 and 200-299: permission missing, the message naming it, as
  in "(#200) Requires ads_read permission ..."; a token needs ``leads_retrieval`` and the
  Pages permissions for leads, ``ads_read`` for insights:
  https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving and
  https://developers.facebook.com/docs/marketing-api/insights)
- Rate limits: https://developers.facebook.com/docs/graph-api/overview/rate-limiting (no
  Retry-After: ``X-Business-Use-Case-Usage`` = ``{business_id: [{type, call_count,
  total_cputime, total_time, estimated_time_to_regain_access (minutes)}]}``, sent on error
  responses too; business use case throttling codes 80000-80014)
- Paging: https://developers.facebook.com/docs/graph-api/results (cursor paging: ``limit``,
  ``after`` = ``paging.cursors.after``; the last page is the one without ``paging.next``; a
  page may be short, even empty, while ``next`` exists)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    MissingScope,
    RateLimited,
    TerminalError,
    TransientError,
)
from leadflow.connectors.http import PlatformSession, redact
from leadflow.connectors.meta.config import MetaConfig
from leadflow.connectors.meta.fields import SOURCE
from leadflow.connectors.pagination import Cursor, paginate

# Error codes: https://developers.facebook.com/docs/graph-api/guides/error-handling and
# https://developers.facebook.com/docs/graph-api/overview/rate-limiting
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
# A permission's name in a message: ads_read, leads_retrieval, pages_show_list...
PERMISSION_NAME = re.compile(r"\b(?:ads|leads|pages|business|read|instagram)_[a-z_]+\b")
GRANT_PERMISSION = "grant it to the Meta app and configure a new access token that carries it"


class GraphTransientError(TransientError):
    """Meta says the failure is temporary (codes 1 and 2, or ``is_transient``)."""


def _where(response: requests.Response) -> str:
    request = response.request
    path = urlsplit(request.url or "").path if request is not None else "?"
    return f"{request.method if request is not None else 'GET'} {path}"


def _code(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _regain_minutes(usage: Any) -> list[float]:
    """Every positive ``estimated_time_to_regain_access`` in a usage header's JSON."""
    entries = [
        entry
        for value in (usage.values() if isinstance(usage, dict) else [])
        for entry in (value if isinstance(value, list) else [value])
        if isinstance(entry, dict)
    ]
    found = (entry.get("estimated_time_to_regain_access") for entry in entries)
    return [float(m) for m in found if isinstance(m, int | float) and m > 0]


def throttle_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until access returns: the largest ``estimated_time_to_regain_access`` (minutes)
    of ``X-Business-Use-Case-Usage``, else ``X-Ad-Account-Usage``'s ``reset_time_duration``."""
    try:
        minutes = _regain_minutes(json.loads(headers.get("X-Business-Use-Case-Usage") or "{}"))
        if minutes:
            return max(minutes) * 60
        account = json.loads(headers.get("X-Ad-Account-Usage") or "{}")
    except ValueError:
        return None
    reset = account.get("reset_time_duration") if isinstance(account, dict) else None
    return float(reset) if isinstance(reset, int | float) and reset > 0 else None


def _detail(error: Mapping[str, Any], where: str) -> str:
    code, subcode = error.get("code"), error.get("error_subcode")
    message = redact(str(error.get("message") or "no message"))[:300]
    trace = f" (fbtrace_id {error['fbtrace_id']})" if error.get("fbtrace_id") else ""
    return f"code {code}{f'/{subcode}' if subcode else ''} on {where}: {message}{trace}"


def permission_named(error: Mapping[str, Any]) -> str | None:
    """The permission(s) a permission error's message names (``ads_read``, or ``ads_management
    or ads_read``), None when it names none."""
    found = PERMISSION_NAME.findall(str(error.get("message") or ""))
    return " or ".join(dict.fromkeys(found)) or None


def classify_error(response: requests.Response, body: Any) -> ConnectorError | None:
    """Meta's error envelope: the code, not the HTTP status, says what happened.

    A throttle waits Meta's own estimate (``throttle_wait``), else backs off; the message is
    the one raised when the transport stops waiting (budget spent, or an estimate past
    ``max_throttle_wait_seconds``)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return None
    code, detail = _code(error.get("code")), _detail(error, _where(response))
    if code in THROTTLE_CODES:
        wait = throttle_wait(response.headers)
        return RateLimited(SOURCE, f"gave up waiting for Meta's throttle, try later: "
                           f"throttled ({detail})", retry_after=wait)  # fmt: skip
    if code in TOKEN_CODES:
        return AuthError(SOURCE, f"access token expired or revoked ({detail}); re-authorize "
                         "the Meta app and configure a new Page access token")  # fmt: skip
    if code in PERMISSION_CODES:
        return MissingScope(SOURCE, permission_named(error), detail, grant=GRANT_PERMISSION)
    if code in TRANSIENT_CODES or error.get("is_transient") is True:
        return GraphTransientError(SOURCE, f"temporary Graph API failure ({detail})")
    return TerminalError(SOURCE, f"request rejected (HTTP {response.status_code}, {detail})")


class MetaClient:
    """GETs Graph API nodes and edges through a session that retries what Meta says is
    worth retrying (``classify_error``)."""

    def __init__(self, config: MetaConfig, session: PlatformSession) -> None:
        self.config = config
        self.session = session
        self.requests_made = 0
        self.currencies: dict[str, str | None] = {}
        # form id -> {question key: type}, or why its questions could not be read
        self.questions: dict[str, dict[str, str] | str] = {}

    @property
    def sleep(self) -> Callable[[float], None]:
        """How the transport waits between tries (tests record the waits instead)."""
        return self.session.sleep

    @sleep.setter
    def sleep(self, value: Callable[[float], None]) -> None:
        self.session.sleep = value

    def url(self, path: str) -> str:
        return f"{self.config.base_url}/{self.config.api_version}/{path.lstrip('/')}"

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One node or one page of an edge, after whatever retries the transport made."""
        self.requests_made += 1
        body = self.session.fetch_json("GET", self.url(path), params=dict(params))
        if not isinstance(body, dict):
            raise TransientError(SOURCE, f"GET {path}: the body is not a JSON object")
        return body

    def edge(self, path: str, params: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], bool]]:
        """Every page of an edge, each with a flag that is True on the last one.

        The next page is asked for with ``after`` rather than by following ``paging.next``,
        a full URL that would leave the configured base URL and parameters behind.
        """
        paging = Cursor(partial(_next_cursor, path), param="after")
        fetch = partial(self._page, path, params)
        for page in paginate(fetch, paging, source=SOURCE, where=f"GET {path}"):
            yield page.reply, page.last

    def _page(
        self, path: str, params: Mapping[str, Any], cursor: Mapping[str, Any]
    ) -> dict[str, Any]:
        return self.get(path, {**params, **cursor})

    def close(self) -> None:
        self.session.close()


def _next_cursor(path: str, body: Mapping[str, Any]) -> str | None:
    """The ``after`` cursor of the next page, or None on the last page (no ``next``)."""
    paging = body.get("paging") or {}
    if not paging.get("next"):
        return None
    after = (paging.get("cursors") or {}).get("after")
    if not after:  # fall back on the cursor inside the next page's URL
        after = (parse_qs(urlsplit(str(paging["next"])).query).get("after") or [None])[0]
    if not after:
        raise TerminalError(SOURCE, f"GET {path}: paging.next without an after cursor")
    return str(after)
