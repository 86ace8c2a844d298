"""The Google Ads API's error responses, as the sandbox sends them.

Docs used (developers.google.com/google-ads/api/...): docs/get-started/handle-errors and
docs/best-practices/understand-api-errors (google.rpc.Status with a GoogleAdsFailure detail:
``errors[].errorCode/message/location/details``, ``requestId``), reference/rpc/v24/QuotaErrorDetails
(``rateScope``, ``rateName``, ``retryDelay``). Errors raised before the Google Ads backend
(malformed JSON) are a plain Status with a BadRequest detail; unknown paths get Google's
front-end HTML 404.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
          429: "RESOURCE_EXHAUSTED"}  # fmt: skip
CREDENTIALS = "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    f"cookie or other valid {CREDENTIALS}",
    403: "The caller does not have permission",
    429: "Resource has been exhausted (e.g. check quota).",
}
MISSING_CREDENTIALS = ("Request is missing required authentication credential. Expected OAuth 2 "
                       f"access token, login cookie or other valid {CREDENTIALS}")  # fmt: skip
PERMISSION = ("User doesn't have permission to access customer. Note: If you're accessing a "
              "client customer, the manager's customer ID must be set in the 'login-customer-id' "
              "header. See https://developers.google.com/google-ads/api/docs/concepts/"
              "call-structure#cid")  # fmt: skip
QUOTA = {"RESOURCE_TEMPORARILY_EXHAUSTED": ("ACCOUNT", "Requests per account"),
         "RESOURCE_EXHAUSTED": ("DEVELOPER", "Number of operations for basic access")}  # fmt: skip
NOT_FOUND = ("<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 404 (Not Found)!!1"
             "</title><p><b>404.</b> <ins>That's an error.</ins><p>The requested URL <code>{path}"
             "</code> was not found on this server. <ins>That's all we know.</ins>")  # fmt: skip


class AdsError(Exception):
    """An error response: HTTP status plus one GoogleAdsError (``kind`` None: a plain Status)."""

    def __init__(
        self, status: int, kind: str | None, code: str, message: str, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code
        self.message, self.extra = message, extra


def request_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


def error_body(error: AdsError, version: str, rid: str) -> dict[str, Any]:
    plain = error.kind is None  # rejected before the Google Ads backend (e.g. malformed JSON)
    top = error.extra.get("top") or (error.message if plain else MESSAGES[error.status])
    status = {"code": error.status, "message": top, "status": STATUS[error.status]}
    if plain:
        violation = {"description": error.message}
        status["details"] = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                              "fieldViolations": [violation]}]  # fmt: skip
        return {"error": status}
    failure: dict[str, Any] = {"errorCode": {error.kind: error.code}, "message": error.message}
    if "location" in error.extra:
        failure["location"] = {"fieldPathElements": [{"fieldName": error.extra["location"]}]}
    if "details" in error.extra:
        failure["details"] = error.extra["details"]
    kind = f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure"
    status["details"] = [{"@type": kind, "errors": [failure], "requestId": rid}]
    return {"error": status}


def duration(seconds: float) -> str:
    """google.protobuf.Duration in JSON: ``"30s"``, ``"1.500s"``."""
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds:.3f}s"
