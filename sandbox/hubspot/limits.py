"""HubSpot error bodies and rate limiting for the sandbox.

Sources:
* https://developers.hubspot.com/docs/api/usage-details (rate limits, X-HubSpot-RateLimit-*
  headers, 429 bodies with ``errorType``/``policyName``; the DAILY example body)
* https://developers.hubspot.com/docs/api/error-handling (``status``/``message``/
  ``correlationId``/``category`` error shape, 401 INVALID_AUTHENTICATION)
* https://developers.hubspot.com/docs/api/crm/search (search: five requests per second per
  account; the spec marks search exempt from the ten-secondly limit)

General endpoints count against a rolling 10-second window (default 100 requests, the
Free/Starter private-app limit) and a daily quota; every non-search response carries the
``X-HubSpot-RateLimit-*`` headers. Search endpoints have their own per-second limit and do
not return those headers; their 429 is the "secondly" one.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
SECONDLY = "SECONDLY"
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
        **extra,
    }


def auth_error(expired_seconds_ago: int | None = None) -> dict[str, Any]:
    if expired_seconds_ago is None:
        return error_body("INVALID_AUTHENTICATION", AUTH_MESSAGE)
    expired_at = datetime.now(UTC) - timedelta(seconds=expired_seconds_ago)
    message = f"The OAuth token used to make this call expired {expired_seconds_ago} second(s) ago."
    return error_body(
        "EXPIRED_AUTHENTICATION",
        message,
        context={"expire time": [expired_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"]},
    )


def rate_limit_body(policy: str) -> dict[str, Any]:
    """429 bodies: ten-secondly/daily as on the usage page; search 'secondly' as observed."""
    if policy == SECONDLY:
        return error_body("RATE_LIMITS", "You have reached your secondly limit.")
    body: dict[str, Any] = {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
    }
    if policy == DAILY:
        body["message"] = "You have reached your daily limit."
        body["requestId"] = correlation_id()
    else:
        body["groupName"] = "publicapi:private_app-api-calls-ten-secondly:1:1"
    return body


@dataclass
class RateLimiter:
    """Sliding-window limits; ``None`` disables a limit. Attributes may be changed live."""

    ten_second_limit: int | None = 100
    search_per_second: float | None = 5
    daily_limit: int | None = 250_000
    _general: deque[float] = field(default_factory=deque)
    _search: deque[float] = field(default_factory=deque)
    _daily_used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self._general.clear()
            self._search.clear()
            self._daily_used = 0

    def admit(self, search: bool) -> str | None:
        """Count one request; return the violated policy name (request not counted) or None."""
        now = time.monotonic()
        with self._lock:
            _prune(self._general, now - 10.0)
            _prune(self._search, now - 1.0)
            if self.daily_limit is not None and self._daily_used >= self.daily_limit:
                return DAILY
            window, limit = (
                (self._search, self.search_per_second)
                if search
                else (self._general, self.ten_second_limit)
            )
            if limit is not None and len(window) >= limit:
                return SECONDLY if search else TEN_SECONDLY
            window.append(now)
            self._daily_used += 1
            return None

    def headers(self) -> dict[str, str]:
        """X-HubSpot-RateLimit-* headers for non-search responses (after counting)."""
        now = time.monotonic()
        with self._lock:
            _prune(self._general, now - 10.0)
            ten_max = self.ten_second_limit if self.ten_second_limit is not None else 10**6
            daily_max = self.daily_limit if self.daily_limit is not None else 10**9
            last_second = sum(1 for t in self._general if t > now - 1.0)
            return {
                "X-HubSpot-RateLimit-Daily": str(daily_max),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(daily_max - self._daily_used, 0)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": str(ten_max),
                "X-HubSpot-RateLimit-Remaining": str(max(ten_max - len(self._general), 0)),
                "X-HubSpot-RateLimit-Secondly": str(max(ten_max // 10, 1)),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(
                    max(max(ten_max // 10, 1) - last_second, 0)
                ),
            }


def _prune(window: deque[float], cutoff: float) -> None:
    while window and window[0] <= cutoff:
        window.popleft()
