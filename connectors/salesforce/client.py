"""The Salesforce client: one session per org, its OAuth, error mapping and the daily API
allowance.

Retries are the transport's (``leadflow.connectors.http``); ``classify_error``
(``leadflow.connectors.salesforce.errors``) tells it what Salesforce's error bodies mean.

Docs followed:
- Limit Info header: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
  (``Sforce-Limit-Info: api-usage=10018/100000`` on every response: calls used / allowed in
  the org's rolling 24 hours)
- Query and Query More Results:
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.md and
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query-more-results.html
  (``GET /services/data/vXX.X/query?q=`` and ``/queryAll``; ``nextRecordsUrl`` a path on the
  instance)
- Query Options header: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
  (``Sforce-Query-Options: batchSize=N``, 200 to 2,000, a request not a guarantee)
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import requests

from leadflow.connectors.errors import TerminalError
from leadflow.connectors.http import Acceptor, ErrorClassifier, PlatformSession, build_retry
from leadflow.connectors.salesforce.auth import SalesforceAuth, TokenSource, org_id_of
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.connectors.salesforce.errors import (
    SOURCE,
    DailyLimitReached,
    classify_error,
)

log = logging.getLogger(__name__)

_USAGE = re.compile(r"(?:^|[\s,;])api-usage=(\d+)/(\d+)")


def api_usage(header: str | None) -> tuple[int, int] | None:
    """``(used, limit)`` from ``Sforce-Limit-Info`` (None when it has no ``api-usage``)."""
    found = _USAGE.search(header or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


def _session(config: SalesforceConfig, methods: tuple[str, ...]) -> PlatformSession:
    retry = build_retry(
        attempts=config.max_attempts, backoff_factor=config.backoff_seconds, methods=methods
    )
    timeout = (config.connect_timeout_seconds, config.timeout_seconds)
    return PlatformSession(SOURCE, timeout=timeout, retry=retry, classify=classify_error)


def token_source(config: SalesforceConfig) -> TokenSource:
    """Token requests on a session of their own (a token request is safe to repeat)."""
    return TokenSource(config, _session(config, ("POST",)))


def open_session(config: SalesforceConfig) -> SalesforceClient:
    """A client for one org; only reads (GET) are retried after a failure, never the POST
    that creates a Bulk job (the transport retries it only when it was not sent)."""
    session = _session(config, ("GET",))
    session.auth = SalesforceAuth(token_source(config))
    return SalesforceClient(config, session)


_ORGS: weakref.WeakKeyDictionary[SalesforceConfig, str] = weakref.WeakKeyDictionary()
_ORGS_LOCK = threading.Lock()


def org_of(config: SalesforceConfig) -> str:
    """The configured ``org_id``, else the token's own org (asked once per configuration)."""
    if config.org_id is not None:
        return config.org_id
    with _ORGS_LOCK:
        known = _ORGS.get(config)
        if known is None:
            tokens = token_source(config)
            try:
                known = org_id_of(tokens.fetch())
            finally:
                tokens.close()
            if not known:
                raise TerminalError(SOURCE, "the token named no org id; set org_id in the source")
            _ORGS[config] = known
            log.info("salesforce: org_id not configured; the token's org is %s", known)
    return known


class SalesforceClient:
    """Sends Salesforce requests for one org, at the instance its token names; refuses to
    send one more when the daily allowance left is below ``api_reserve``."""

    def __init__(
        self,
        config: SalesforceConfig,
        session: PlatformSession,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.session = session
        self.sleep = sleep
        self.requests_made = 0
        self.usage: tuple[int, int] | None = None
        session.hooks["response"].append(self._read_usage)

    @property
    def auth(self) -> SalesforceAuth:
        assert isinstance(self.session.auth, SalesforceAuth)
        return self.session.auth

    @property
    def data_path(self) -> str:
        return f"/services/data/v{self.config.api_version}"

    def url(self, path: str) -> str:
        """``path`` (``/services/data/...``) at the org's instance."""
        return self.auth.instance_url + path

    def query(self, soql: str, *, all_rows: bool = False) -> dict[str, Any]:
        """One page of ``GET .../query`` (``queryAll``: deleted and archived rows too)."""
        path = f"{self.data_path}/{'queryAll' if all_rows else 'query'}"
        return self.get_json(path, {"q": soql}, self._batch_size())

    def query_more(self, next_records_url: str) -> dict[str, Any]:
        """The page a ``nextRecordsUrl`` names (a path on the instance, nothing else)."""
        if not next_records_url.startswith(f"{self.data_path}/"):
            raise TerminalError(
                SOURCE, "nextRecordsUrl is not a query path of this API version: not followed"
            )
        return self.get_json(next_records_url, None, self._batch_size())

    def count(self, soql: str, *, all_rows: bool = False) -> int:
        """The ``totalSize`` of a ``SELECT COUNT() ...`` query."""
        total = self.query(soql, all_rows=all_rows).get("totalSize")
        if isinstance(total, bool) or not isinstance(total, int):
            raise TerminalError(SOURCE, "a COUNT() query answered without a totalSize")
        return total

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        return self._send("GET", path, params=dict(params or {}), headers=dict(headers or {}))

    def post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._send("POST", path, json=dict(body))

    def patch_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._send("PATCH", path, json=dict(body))

    def get_text(
        self, path: str, params: Mapping[str, Any], *, accept: Acceptor, media: str
    ) -> requests.Response:
        """An answer that is not JSON (Bulk API 2.0's CSV results), read whole once ``accept``
        finds nothing wrong with it (else asked again, by the transport)."""
        self._before_request()
        return self.session.fetch_text(
            "GET", self.url(path), accept=accept, params=dict(params), headers={"Accept": media}
        )

    def exchange(
        self, method: str, path: str, *, classify: ErrorClassifier | None = None, **kwargs: Any
    ) -> Any:
        """Any JSON answer (an object, a list, None for a 204) of a request to ``path`` at
        the instance, within the daily reserve; ``classify`` reads its errors (a writer's own)."""
        self._before_request()
        return self.session.fetch_json(method, self.url(path), classify=classify, **kwargs)

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self.exchange(method, path, **kwargs)
        if not isinstance(body, dict):
            raise TerminalError(SOURCE, f"{method} {path.split('?')[0]}: not a JSON object")
        return body

    def _batch_size(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.config.page_size}"}

    def _before_request(self) -> None:
        """Refuse to spend the reserve: the sync stops here, its pages so far kept."""
        if self.usage is not None:
            used, limit = self.usage
            if limit - used < self.config.api_reserve:
                raise DailyLimitReached(
                    SOURCE, f"{limit - used} of the org's {limit} daily API requests left, "
                    f"under the reserve of {self.config.api_reserve} (api_reserve); the sync "
                    "goes on at the next run with room",
                )  # fmt: skip
        self.requests_made += 1

    def _read_usage(self, response: requests.Response, **kwargs: Any) -> None:
        usage = api_usage(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.usage = usage

    def close(self) -> None:
        self.auth.close()
        self.session.close()
