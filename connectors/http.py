"""One HTTP transport for every connector: the retry loop, timeouts, error mapping, redaction.

A request is retried here and nowhere else. ``PlatformSession.request`` sends it, reads the
whole answer and asks the platform's classifier (an ``ErrorClassifier``) what it means; the
class of the error it names says what to do:

* a 2xx answer whose body is JSON: done (``fetch_text``: a 2xx answer its ``accept`` finds
  nothing wrong with, such as Salesforce Bulk API 2.0's CSV results, whole);
* ``RateLimited`` (the platform's throttle signal, in a header or in the body): wait what the
  platform asked (``retry_after``, else ``Retry-After``, else the backoff) and try again; a
  wait longer than the session's ``max_wait`` (a daily quota) is not slept through, the error
  is raised at once;
* ``TransientError`` (a 5xx, Meta's ``is_transient``, a timeout, a reset, a connection cut
  mid-body, and a 2xx whose body is not JSON: truncated, or an HTML page): try again after a
  jittered exponential backoff;
* ``TerminalError`` (``AuthError``, a rejected request, a redirect, a daily quota): raise.

A method the policy does not allow (``allowed_methods``: what is safe to repeat, e.g. a POST
that creates) is retried only when repeating it cannot do it twice: a throttle signal (the
platform refused it) or ``NotSent`` (no connection was made). A timeout or a reset after
the request went out is raised at once: the platform may have acted on it.

Every kind shares one budget: ``max_attempts`` requests in all, then the last error is raised
(for a 2xx that is not JSON, a ``TransientError`` naming the method and the path, never the
query string, which can hold a token).

The policy is urllib3's ``Retry``: the budget (``total``), the exponential backoff with jitter
and its cap, Retry-After parsing (seconds or an HTTP date) and ``allowed_methods``. Its
retries are not the adapter's: urllib3 retries before the body is read, so it can neither see
a throttle signal in a body (Meta, Google) nor a truncated 200. The adapter is mounted with no
retries, and the loop that drives the ``Retry`` object (``PlatformSession._exchange`` and its
helpers, some 60 lines) is written by hand: urllib3 has no hook after the body is read, and a
second library (tenacity, backoff) would bring a second budget and a second backoff to keep in
step with urllib3's. ``PlatformRetry`` changes one thing in urllib3's policy: the first retry
waits too.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    NotSent,
    RateLimited,
    TerminalError,
    TransientError,
)

# Re-exported: the connectors and the flows import them from here.
from leadflow.connectors.redaction import install_log_redaction as install_log_redaction
from leadflow.connectors.redaction import redact
from leadflow.connectors.redaction import register_secret as register_secret

log = logging.getLogger(__name__)

DEFAULT_MAX_WAIT = 300.0


class PlatformRetry(Retry):
    """urllib3's ``Retry``, except that the first retry waits too.

    urllib3 sends the first retry at once and starts backing off at the second; a platform
    that has just failed or throttled is given ``backoff_factor`` seconds, then twice that,
    four times... (plus up to ``backoff_jitter`` seconds of jitter, at most ``backoff_max``).
    """

    def get_backoff_time(self) -> float:
        failures = len(self.history)  # redirects are refused, never counted here
        if failures == 0:
            return 0.0
        wait = self.backoff_factor * 2 ** (failures - 1)
        wait += random.random() * self.backoff_jitter
        return float(max(0.0, min(self.backoff_max, wait)))


def build_retry(
    *,
    attempts: int = 6,
    backoff_factor: float = 1.0,
    backoff_max: float = 60.0,
    methods: Iterable[str] = ("GET",),
) -> PlatformRetry:
    """The retry policy: ``attempts`` requests in all, of the ``methods`` safe to repeat.

    Which answers are retried is the classifier's call (module doc), not a status list.
    """
    return PlatformRetry(
        total=attempts - 1,  # connect, read, status: None, the total alone counts
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=0.25 * backoff_factor,
        allowed_methods=frozenset(m.upper() for m in methods),
    )


ErrorClassifier = Callable[[requests.Response, Any], ConnectorError | None]
"""A platform's reading of a non-2xx answer: the error it means, or None for the default
mapping (``default_error``). The error's class says whether to retry (module doc)."""
Acceptor = Callable[[requests.Response], ConnectorError | None]
"""A check of a 2xx answer that is not JSON (``fetch_text``): None, or what is wrong with it
(a ``TransientError``: asked again, like a 2xx that is not JSON)."""

# Failures of the exchange itself worth another try: no answer, or one cut short.
_RETRIED_FAILURES = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class PlatformSession(requests.Session):
    """A ``requests.Session`` for one platform: default timeout, redirects refused, and the
    one retry loop (module doc) around every request.

    ``request`` (and so ``get``/``post``) returns only a 2xx response whose body is JSON, or
    raises the ``ConnectorError`` that says what went wrong; ``fetch_json`` returns the
    decoded body. ``classify`` reads the platform's error bodies (a call may pass its own);
    ``max_wait`` is the longest throttle wait worth sleeping through; ``sleep`` is the
    waiting itself (tests record it instead).
    """

    def __init__(
        self,
        source: str,
        *,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        retry: Retry | None = None,
        classify: ErrorClassifier | None = None,
        max_wait: float = DEFAULT_MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 4,
    ) -> None:
        super().__init__()
        self.source = source
        self.timeout = timeout
        self.retry = retry or build_retry()
        self.classify = classify
        self.max_wait = max_wait
        self.sleep = sleep
        adapter = HTTPAdapter(max_retries=0, pool_maxsize=pool_size)  # the loop retries
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self,
        method: str | bytes,
        url: str | bytes,
        *args: Any,
        classify: ErrorClassifier | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        return self._exchange(method, url, args, classify, kwargs)[0]

    def fetch_json(
        self, method: str, url: str, *, classify: ErrorClassifier | None = None, **kwargs: Any
    ) -> Any:
        """The decoded JSON body of a successful request, after whatever retries it took."""
        return self._exchange(method, url, (), classify, kwargs)[1]

    def fetch_text(
        self, method: str, url: str, *, accept: Acceptor, classify: ErrorClassifier | None = None,
        **kwargs: Any,
    ) -> requests.Response:  # fmt: skip
        """A successful response that is not JSON (its ``text`` is the body), after whatever
        retries it took: a 2xx is done once ``accept`` finds nothing wrong with it."""
        return self._exchange(method, url, (), classify, kwargs, accept)[0]

    def _exchange(
        self,
        method: str | bytes,
        url: str | bytes,
        args: tuple[Any, ...],
        classify: ErrorClassifier | None,
        kwargs: dict[str, Any],
        accept: Acceptor | None = None,
    ) -> tuple[requests.Response, Any]:
        verb = method.decode() if isinstance(method, bytes) else str(method)
        where = f"{verb.upper()} {_path(url)}"
        kwargs.setdefault("timeout", self.timeout)
        # Credentials go only to the configured base URL: APIs do not redirect, so a
        # redirect is answered as an error (``redirected``) and never followed, not even to
        # the same host (requests would strip Authorization on another host, but not the
        # platform's own headers such as Google's developer-token).
        kwargs["allow_redirects"] = False
        retry = self.retry
        while True:
            response, body, failure = self._attempt(
                method, url, args, where, classify, kwargs, accept
            )
            if failure is None:
                assert response is not None
                return response, body
            retry, wait = self._next_try(retry, verb, response, failure)
            log.warning(
                "%s: %s failed (%s); retry %d of %d in %.2f s",
                self.source, where, _why(response, failure), len(retry.history),
                self.retry.total or 0, wait,
            )  # fmt: skip
            self.sleep(wait)

    def _attempt(
        self,
        method: str | bytes,
        url: str | bytes,
        args: tuple[Any, ...],
        where: str,
        classify: ErrorClassifier | None,
        kwargs: dict[str, Any],
        accept: Acceptor | None = None,
    ) -> tuple[requests.Response | None, Any, ConnectorError | None]:
        """One request, read whole: (response, body, None) or (response?, None, failure)."""
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.exceptions.SSLError as error:  # another try would meet the same
            raise TransientError(self.source, f"network failure: {_quiet(error)}") from None
        except _RETRIED_FAILURES as error:
            message = f"network failure on {where}: {_quiet(error)}"
            kind = NotSent if _not_sent(error) else TransientError
            return None, None, kind(self.source, message)
        except requests.RequestException as error:
            raise TransientError(self.source, f"request failed: {_quiet(error)}") from None
        body, failure = judge(self.source, response, classify or self.classify, accept)
        return response, body, failure

    def _next_try(
        self,
        retry: Retry,
        method: str,
        response: requests.Response | None,
        failure: ConnectorError,
    ) -> tuple[Retry, float]:
        """The policy after ``failure``: the next ``Retry`` and the wait before it, or
        ``failure`` raised when it is not worth another try or the budget is spent."""
        if not isinstance(failure, TransientError):
            raise failure
        unsafe = retry.allowed_methods is not None and method.upper() not in retry.allowed_methods
        if unsafe and not isinstance(failure, RateLimited | NotSent):
            raise failure  # it may have been acted on: not sent twice (module doc)
        asked = _asked_wait(retry, response, failure)
        if asked is not None and asked > self.max_wait:
            raise failure  # not slept through: a later run will find the quota back
        raw = response.raw if response is not None else None
        try:
            retry = retry.increment(method.upper(), response=raw)
        except MaxRetryError:
            raise failure from None
        return retry, asked if asked is not None else retry.get_backoff_time()


def _not_sent(error: Exception) -> bool:
    """True when no connection was made: the request never left."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _asked_wait(
    retry: Retry, response: requests.Response | None, failure: ConnectorError
) -> float | None:
    """What the platform asked to wait: its throttle signal, else ``Retry-After``."""
    if isinstance(failure, RateLimited) and failure.retry_after is not None:
        return failure.retry_after
    header = response.headers.get("Retry-After") if response is not None else None
    if not header or not retry.respect_retry_after_header:
        return None
    try:
        return retry.parse_retry_after(header)
    except InvalidHeader:
        return None


_QUERY_IN_MESSAGE = re.compile(r"(url: [^?\s]*)\?\S*")


def _quiet(error: Exception) -> str:
    """An exception's text for a message: redacted, and with no query string (queries can
    hold tokens and ids that have no place in a log)."""
    return _QUERY_IN_MESSAGE.sub(r"\1", redact(str(error)))


def _why(response: requests.Response | None, failure: ConnectorError) -> str:
    kind = type(failure).__name__
    return f"HTTP {response.status_code}, {kind}" if response is not None else kind


def judge(
    source: str,
    response: requests.Response,
    classify: ErrorClassifier | None = None,
    accept: Acceptor | None = None,
) -> tuple[Any, ConnectorError | None]:
    """``(body, None)`` for a 2xx answer whose body is JSON (None for a 204; with ``accept``:
    its text, once ``accept`` finds nothing wrong), else ``(None, error)``: the error that
    says what the answer means (a redirect, a body that is not JSON, the platform's
    classification, or ``default_error``)."""
    if response.is_redirect:
        return None, redirected(source, response)
    if response.status_code == 204:  # No Content (an update): done, nothing to decode
        return None, None
    if response.ok and accept is not None:
        failure = accept(response)
        return (None, failure) if failure is not None else (response.text, None)
    body = _decode(response)
    if response.ok and body is not _NOT_JSON:
        return body, None
    if response.ok:
        kind = response.headers.get("Content-Type", "no content type")
        message = f"HTTP {response.status_code} from {_where(response)} was not JSON ({kind})"
        return None, TransientError(source, message)
    readable = None if body is _NOT_JSON else body
    error = classify(response, readable) if classify is not None else None
    return None, error or default_error(source, response, readable)


def response_json(
    source: str, response: requests.Response, classify: ErrorClassifier | None = None
) -> Any:
    """The decoded JSON body of a 2xx response, else the platform's error as an exception."""
    body, error = judge(source, response, classify)
    if error is not None:
        raise error
    return body


_NOT_JSON = object()


def redirected(source: str, response: requests.Response) -> TerminalError:
    """A redirect, refused: naming where it pointed (host only) and why it is not followed."""
    target = requests.utils.urlparse(response.headers.get("Location") or "")
    host = redact(target.netloc or "an unnamed location")
    return TerminalError(
        source,
        f"HTTP {response.status_code} on {_where(response)} redirects to {host}: not followed"
        " (credentials are only sent to the configured base_url; check it)",
    )


def _decode(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return _NOT_JSON


def _path(url: str | bytes) -> str:
    text = url.decode() if isinstance(url, bytes) else str(url)
    return requests.utils.urlparse(text).path or "/"


def _where(response: requests.Response) -> str:
    request = response.request
    path = _path(request.url or "") if request is not None else "?"
    method = request.method if request is not None else "?"
    return f"{method} {path}"


def error_detail(body: Any, keys: Iterable[str] = ("message", "detail", "title")) -> str:
    """The human part of an error body, redacted and shortened."""
    if isinstance(body, Mapping):
        for key in keys:
            if body.get(key):
                return redact(str(body[key]))[:300]
    return redact(json.dumps(body))[:300] if body is not None else "no JSON body"


def default_error(source: str, response: requests.Response, body: Any) -> ConnectorError:
    """Map an HTTP failure to the error class that says what to do about it."""
    status, where = response.status_code, _where(response)
    detail = error_detail(body)
    if status in (401, 403):
        return AuthError(source, f"credentials refused (HTTP {status} on {where}): {detail}")
    if status == 429:
        after = response.headers.get("Retry-After")
        return RateLimited(
            source,
            f"still rate limited after retries (HTTP 429 on {where}): {detail}",
            retry_after=float(after) if after and after.isdigit() else None,
        )
    if status >= 500:
        return TransientError(source, f"server error after retries (HTTP {status} on {where})")
    return TerminalError(source, f"request rejected (HTTP {status} on {where}): {detail}")
