"""The org's daily API request allocation, its ``Sforce-Limit-Info`` header and the REST API's
error bodies.

* Every REST API response carries ``Sforce-Limit-Info: api-usage=18/5000`` (calls used / the
  org's limit), https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm.
* Once the allocation is used up: 403 with errorCode ``REQUEST_LIMIT_EXCEEDED``
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm:
  "If the error code is REQUEST_LIMIT_EXCEEDED, you've exceeded API request limits in your
  org"). The developer docs name only the code; the message "TotalRequests Limit exceeded." is
  the one orgs report receiving (https://success.salesforce.com/answers?id=90630000000gnuYAAQ).
* Errors are a JSON array of ``{"message", "errorCode"}`` (plus ``fields`` for record errors),
  e.g. 401 ``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]``.
* ``GET /services/data/vXX.X/limits``: ``{"DailyApiRequests": {"Max", "Remaining"}, ...}``,
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from leadflow.sandbox.server import Response, json_response

SESSION_EXPIRED = "Session expired or invalid"
LIMIT_EXCEEDED = "TotalRequests Limit exceeded."
NOT_FOUND = "The requested resource does not exist"
HEADER = "Sforce-Limit-Info"


def error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """Salesforce's error answer: ``[{"message", "errorCode"[, "fields"]}]``."""
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return json_response(status, [body])


def invalid_session() -> Response:
    return error(401, "INVALID_SESSION_ID", SESSION_EXPIRED)


def not_found() -> Response:
    return error(404, "NOT_FOUND", NOT_FOUND)


@dataclass
class ApiUsage:
    """Calls counted against the daily allocation (``daily_limit``; None: unlimited, reported
    as a large limit). Attributes may be changed live."""

    daily_limit: int | None = 100_000
    used: int = 0
    bulk_jobs_used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def max(self) -> int:
        return self.daily_limit if self.daily_limit is not None else 1_000_000_000

    def admit(self) -> bool:
        """Count one call; False (not counted) when the allocation is used up."""
        with self._lock:
            if self.used >= self.max:
                return False
            self.used += 1
            return True

    def header(self) -> dict[str, str]:
        return {HEADER: f"api-usage={self.used}/{self.max}"}

    def exceeded(self) -> Response:
        response = error(403, "REQUEST_LIMIT_EXCEEDED", LIMIT_EXCEEDED)
        response.headers.update(self.header())
        return response

    def body(self) -> dict[str, Any]:
        """The ``/limits`` resource (the allocations a sync reads)."""
        return {
            "DailyApiRequests": {"Max": self.max, "Remaining": max(self.max - self.used, 0)},
            "DailyBulkV2QueryJobs": {
                "Max": 10000,
                "Remaining": max(10000 - self.bulk_jobs_used, 0),
            },
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        }
