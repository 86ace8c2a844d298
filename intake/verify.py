"""Checking that a webhook comes from the platform: pure functions over the raw request.

Docs followed:
- Meta: https://developers.facebook.com/docs/graph-api/webhooks/getting-started
  (verification: ``GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...``, answer
  the challenge when the token is yours; every POST carries ``X-Hub-Signature-256:
  sha256=<hex HMAC-SHA256 of the raw payload, keyed with the app secret>``)
- Google Ads: https://developers.google.com/google-ads/webhook/docs/implementation
  (``google_key`` in the body: the key configured on the form, to compare before processing)
- LinkedIn: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation
  (``GET ?challengeCode=<uuid>`` answered ``{"challengeCode", "challengeResponse"}`` with
  ``challengeResponse`` = hex HMAC-SHA256 of the challengeCode keyed with the client secret;
  POSTs carry ``X-LI-Signature``, "the HMACSHA256 hash of the JSON-encoded string
  representation of the POST body prefixed by ``hmacsha256=``", same key). The sentence reads
  two ways; LinkedIn's own code (``PartnerPushEventCredentialPlugin``, as quoted by
  integrators) signs ``"hmacsha256=" + body`` and sends the bare hex, which the sandbox
  (written apart from this module) does too. That form is checked first; the other reading
  (``hmacsha256=`` + the hex HMAC of the body alone) is accepted as well. Either needs the
  secret.

Every comparison is constant-time (``hmac.compare_digest``) over the raw bytes received,
never over a re-encoded body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

META_SIGNATURE = "X-Hub-Signature-256"
META_PREFIX = "sha256="
LINKEDIN_SIGNATURE = "X-LI-Signature"
LINKEDIN_PREFIX = "hmacsha256="


def hex_hmac(secret: str, message: bytes) -> str:
    """Hex HMAC-SHA256 of ``message`` keyed with ``secret`` (UTF-8)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.strip().lower().encode(), expected.encode())


def meta_signature_ok(header: str | None, body: bytes, app_secret: str) -> bool:
    """``X-Hub-Signature-256`` is ``sha256=`` + the hex HMAC of ``body``."""
    if not header or not header.startswith(META_PREFIX):
        return False
    return _same(header[len(META_PREFIX) :], hex_hmac(app_secret, body))


def meta_challenge(query: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo for a subscribe request with our token, else None."""
    token = query.get("hub.verify_token") or ""
    if query.get("hub.mode") != "subscribe" or "hub.challenge" not in query:
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return query["hub.challenge"]


def google_key_ok(given: object, google_key: str) -> bool:
    """The body's ``google_key`` is the configured one."""
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode(), google_key.encode())


def linkedin_challenge(challenge_code: str, client_secret: str) -> dict[str, str]:
    """The validation answer: the code and its hex HMAC keyed with the client secret."""
    return {
        "challengeCode": challenge_code,
        "challengeResponse": hex_hmac(client_secret, challenge_code.encode()),
    }


def linkedin_signature_ok(header: str | None, body: bytes, client_secret: str) -> bool:
    """``X-LI-Signature`` is the hex HMAC of ``"hmacsha256=" + body`` (a ``hmacsha256=``
    prefix on the header tolerated), or ``hmacsha256=`` + the hex HMAC of ``body``."""
    if not header or not header.strip():
        return False
    value = header.strip()
    prefixed = value.lower().startswith(LINKEDIN_PREFIX)
    digest = value[len(LINKEDIN_PREFIX) :] if prefixed else value
    signed_prefixed = _same(digest, hex_hmac(client_secret, LINKEDIN_PREFIX.encode() + body))
    signed_body = _same(digest, hex_hmac(client_secret, body))
    return signed_prefixed or (prefixed and signed_body)
