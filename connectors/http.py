"""One HTTP transport for every connector: retries, timeouts, error mapping, redaction.

Retries live here and only here: urllib3's ``Retry`` with jittered exponential backoff,
honouring ``Retry-After`` (capped), on connection errors, read errors, 429 and 5xx. A
platform can stop the retry loop early (``PlatformRetry.give_up``) when its signal says
waiting will not help, e.g. a daily quota.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    RateLimited,
    TerminalError,
    TransientError,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"),
    re.compile(r"(?i)((?:access_token|hapikey|apikey|api_key|token|key|client_secret)=)[^&\s'\"]+"),
    re.compile(r"(?i)(['\"]?(?:authorization|developer-token)['\"]?\s*[:=]\s*['\"]?)[^'\",}]+"),
]
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_E164 = re.compile(r"\+\d{6,12}(\d{2})\b")
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that ``redact`` removes it wherever it appears."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Remove tokens, credentials and full emails/phones from text bound for a log."""
    for secret in _known_secrets:
        text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    text = _EMAIL.sub(r"\1***\2", text)
    return _E164.sub(r"+***\1", text)


def install_log_redaction() -> None:
    """Redact every log record at creation, whichever logger or handler emits it."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "leadflow_redacting", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break the caller
            return record
        record.msg, record.args = redact(message), ()
        return record

    redacting_factory.leadflow_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


class PlatformRetry(Retry):
    """urllib3 ``Retry`` that a platform can cut short by overriding ``give_up``."""

    def give_up(self, response: BaseHTTPResponse) -> bool:
        """True when this response says retrying soon is pointless (default: never)."""
        return False

    def increment(  # type: ignore[no-untyped-def, override]
        self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None
    ):
        if response is not None and self.give_up(response):
            raise MaxRetryError(_pool, url, ResponseError(f"gave up on HTTP {response.status}"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


def build_retry(
    retry_class: type[PlatformRetry] = PlatformRetry,
    *,
    attempts: int = 6,
    backoff_factor: float = 1.0,
    backoff_max: float = 60.0,
    methods: Iterable[str] = ("GET",),
    statuses: Iterable[int] = RETRY_STATUSES,
) -> PlatformRetry:
    """The retry policy: ``attempts`` tries in all, Retry-After honoured up to 5 minutes.

    A platform whose throttle signal is in the body (Google's retryDelay) leaves 429 out of
    ``statuses`` and retries it with ``retry_throttled`` instead.
    """
    return retry_class(
        total=attempts - 1,
        connect=attempts - 1,
        read=attempts - 1,
        status=attempts - 1,
        other=0,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=0.25 * backoff_factor,
        status_forcelist=frozenset(statuses),
        allowed_methods=frozenset(m.upper() for m in methods),
        respect_retry_after_header=True,
        retry_after_max=300,
        raise_on_status=False,
    )


class PlatformSession(requests.Session):
    """A ``requests.Session`` with a default timeout, the retry policy mounted and
    transport failures turned into ``TransientError`` naming the source."""

    def __init__(
        self,
        source: str,
        *,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        retry: Retry | None = None,
        pool_size: int = 4,
    ) -> None:
        super().__init__()
        self.source = source
        self.timeout = timeout
        adapter = HTTPAdapter(max_retries=retry or build_retry(), pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        # Credentials go only to the configured base URL: APIs do not redirect, so a
        # redirect is answered as an error (response_json) and never followed, not even to
        # the same host (requests would strip Authorization on another host, but not the
        # platform's own headers such as Google's developer-token).
        kwargs["allow_redirects"] = False
        try:
            return super().request(method, url, *args, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise TransientError(self.source, f"network failure: {redact(str(error))}") from None
        except requests.RequestException as error:
            raise TransientError(self.source, f"request failed: {redact(str(error))}") from None


ErrorClassifier = Callable[[requests.Response, Any], ConnectorError | None]


def response_json(
    source: str, response: requests.Response, classify: ErrorClassifier | None = None
) -> Any:
    """The decoded JSON body of a 2xx response, else the platform's error as an exception."""
    if response.is_redirect:
        raise redirected(source, response)
    body = _decode(response)
    if response.ok and body is not _NOT_JSON:
        return body
    if response.ok:
        kind = response.headers.get("Content-Type", "no content type")
        raise TransientError(
            source, f"HTTP {response.status_code} from {_where(response)} was not JSON ({kind})"
        )
    if classify is not None:
        error = classify(response, None if body is _NOT_JSON else body)
        if error is not None:
            raise error
    raise default_error(source, response, None if body is _NOT_JSON else body)


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


def _where(response: requests.Response) -> str:
    request = response.request
    path = requests.utils.urlparse(request.url or "").path if request is not None else "?"
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


T = TypeVar("T")


def retry_throttled(
    call: Callable[[], T],
    *,
    attempts: int,
    max_wait: float = 300.0,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call again after a throttle signal urllib3 cannot see (one in the response body).

    Waits what the platform asked (``RateLimited.retry_after``), else a jittered exponential
    backoff; gives up, re-raising, after ``attempts`` tries or when the platform asks for
    longer than ``max_wait`` seconds (a daily quota is not worth sleeping through).
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except RateLimited as error:
            wait = error.retry_after
            if wait is None:
                wait = backoff * 2 ** (attempt - 1) * (1 + random.random() / 4)
            if attempt >= attempts or wait > max_wait:
                raise
            sleep(wait)
    raise AssertionError("unreachable")
