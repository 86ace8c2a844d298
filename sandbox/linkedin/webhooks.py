"""LinkedIn Lead Sync notifications: webhook validation, lead notifications, their signature.

Docs used:
* https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation : LinkedIn
  validates a webhook before using it with ``GET {url}?challengeCode={type-4 UUID}``; the
  endpoint answers 200 within 3 seconds with JSON ``{"challengeCode", "challengeResponse"}``,
  ``challengeResponse`` = hex HMAC-SHA256 of the challengeCode keyed with the app's
  clientSecret; validation repeats every 2 hours and 3 failures in a row block the webhook.
  Every POST carries ``X-LI-Signature``: "the HMACSHA256 hash of the JSON-encoded string
  representation of the POST body prefixed by ``hmacsha256=``", computed with the clientSecret;
  read here as hex HMAC-SHA256(clientSecret, ``"hmacsha256=" + raw body``), the header holding
  the hex digest alone. A 2xx acknowledges; a notification may arrive more than once.
* https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync : subscriptions
  (``POST /rest/leadNotifications`` with ``webhook``, ``owner``, ``leadType`` and optionally
  ``versionedForm`` or ``associatedEntity``); since 16 March 2026 notifications only go to
  validated webhooks; the body: ``type`` "LEAD_ACTION", ``leadGenFormResponse`` (the lead's
  URN), ``leadGenForm`` (the versioned form URN), ``owner``, ``associatedEntity``,
  ``leadType``, ``leadAction`` (CREATED or DELETED), ``occurredAt`` (epoch ms). The lead is then
  read with ``GET /rest/leadFormResponses/{id}``, which ``leadflow.sandbox.linkedin.app`` serves.

Retries of lead notifications are not documented (organization social actions: every 5 minutes
for 8 hours); the sandbox retries on :data:`RETRIES`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import EVENT_URN, owner_urn_of
from leadflow.sandbox.webhooks import Attempt, Delivery, WebhookSender, compact_json

PLATFORM = "linkedin"
RETRIES = (0.1, 0.3, 1.0)
BLOCK_AFTER = 3  # consecutive failed validations
RESPONSE_URN = "urn:li:leadGenFormResponse:"


def challenge_response(challenge_code: str, client_secret: str) -> str:
    """Hex HMAC-SHA256 of the challengeCode, keyed with the clientSecret."""
    return hmac.new(client_secret.encode(), challenge_code.encode(), hashlib.sha256).hexdigest()


def sign(body: bytes, client_secret: str) -> str:
    """``X-LI-Signature`` (see the module doc)."""
    return hmac.new(client_secret.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()


def lead_id_of(urn: str) -> str:
    """The ``leadFormResponses`` key inside a ``urn:li:leadGenFormResponse:`` URN."""
    return urn.removeprefix(RESPONSE_URN)


def notification_body(lead: dict[str, Any], action: str, occurred_at: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "LEAD_ACTION", "leadGenFormResponse": RESPONSE_URN + lead["id"],
        "leadGenForm": lead["versionedLeadGenFormUrn"], "owner": dict(lead["owner"]),
    }  # fmt: skip
    entity = lead.get("associatedEntity") or {}
    if "associatedCreative" in entity:
        body["associatedEntity"] = {"sponsoredCreative": entity["associatedCreative"]}
    elif "event" in entity or lead["leadType"] == "EVENT":
        body["associatedEntity"] = {"event": entity.get("event", EVENT_URN)}
    body.update(leadType=lead["leadType"], leadAction=action, occurredAt=occurred_at)
    return body


@dataclass
class Webhook:
    url: str
    validated: bool = False
    failures: int = 0  # consecutive failed validations

    @property
    def blocked(self) -> bool:
        return self.failures >= BLOCK_AFTER

    @property
    def usable(self) -> bool:
        return self.validated and not self.blocked


@dataclass
class LeadNotificationSubscription:
    id: int
    webhook: str
    owner: dict[str, str]
    lead_type: str
    versioned_form: str | None = None

    def matches(self, lead: dict[str, Any]) -> bool:
        return (owner_urn_of(lead) == next(iter(self.owner.values()))
                and lead["leadType"] == self.lead_type
                and self.versioned_form in (None, lead["versionedLeadGenFormUrn"]))  # fmt: skip


class LinkedInLeadNotifications:
    """Lead notification webhooks of a :class:`LinkedInSandbox`'s app.

    ``subscribe`` validates the URL (LinkedIn's challenge) and registers a subscription;
    ``new_lead``/``delete_lead`` change the dataset (so ``GET /rest/leadFormResponses/{id}``
    follows) and notify every matching subscription whose webhook is validated and not blocked.
    """

    def __init__(
        self,
        linkedin: LinkedInSandbox,
        sender: WebhookSender,
        *,
        client_secret: str = "sandbox-linkedin-client-secret",
        retries: Sequence[float] = RETRIES,
    ) -> None:
        self.linkedin, self.sender, self.client_secret = linkedin, sender, client_secret
        self.retries = tuple(retries)
        self.webhooks: dict[str, Webhook] = {}
        self.subscriptions: list[LeadNotificationSubscription] = []
        self._lock = threading.Lock()

    # -- validation ------------------------------------------------------------------------
    def validate(self, url: str) -> Attempt:
        """One validation GET; updates the webhook's validated/blocked state."""
        code = str(uuid.uuid4())
        separator = "&" if "?" in url else "?"
        attempt = self.sender.request(
            PLATFORM, "validation", "GET", f"{url}{separator}{urlencode({'challengeCode': code})}"
        )
        passed = attempt.status == 200 and _answers(
            attempt.response_body, code, challenge_response(code, self.client_secret)
        )
        with self._lock:
            webhook = self.webhooks.setdefault(url, Webhook(url))
            webhook.validated = passed or webhook.validated
            webhook.failures = 0 if passed else webhook.failures + 1
        return attempt

    def revalidate(self) -> list[Attempt]:
        """What LinkedIn does every 2 hours: validate every known webhook again."""
        return [self.validate(url) for url in list(self.webhooks)]

    # -- subscriptions ---------------------------------------------------------------------
    def subscribe(
        self, webhook: str, owner: dict[str, str], lead_type: str, versioned_form: str | None = None
    ) -> LeadNotificationSubscription:
        """``POST /rest/leadNotifications``: validates ``webhook`` first if it never passed."""
        self.sender.check_target(webhook)
        if not self.webhooks.get(webhook, Webhook(webhook)).validated:
            self.validate(webhook)
        with self._lock:
            sub = LeadNotificationSubscription(len(self.subscriptions) + 1, webhook, dict(owner),
                                               lead_type, versioned_form)  # fmt: skip
            self.subscriptions.append(sub)
        return sub

    # -- notifications ---------------------------------------------------------------------
    def notify(self, lead: dict[str, Any], action: str = "CREATED") -> list[Delivery]:
        """One signed POST per matching subscription with a usable webhook."""
        body = compact_json(notification_body(lead, action, int(time.time() * 1000)))
        headers = {"Content-Type": "application/json", "X-LI-Signature": self.sign(body)}
        with self._lock:
            targets = {s.webhook for s in self.subscriptions if s.matches(lead)}
            usable = [url for url in targets if self.webhooks[url].usable]
        return [self.sender.post(PLATFORM, url, body, headers, self.retries) for url in usable]

    def sign(self, body: bytes) -> str:
        return sign(body, self.client_secret)

    def new_lead(self, form_id: int = 7100101, **options: Any) -> tuple[dict[str, Any], list]:
        """Add a lead submitted now (``options`` as ``add_response``) and notify CREATED."""
        options.setdefault("submitted_at", int(time.time() * 1000))
        with self._lock:
            lead = self.linkedin.add_response(form_id, **options)
        return lead, self.notify(lead, "CREATED")

    def delete_lead(self, lead_id: str) -> list[Delivery]:
        """The member deleted the lead: gone from the API, then notified DELETED."""
        with self._lock:
            leads = self.linkedin.dataset.leads
            lead = next(item for item in leads if item["id"] == lead_id)
            leads.remove(lead)
        return self.notify(lead, "DELETED")


def _answers(raw: bytes, code: str, expected: str) -> bool:
    try:
        answer = json.loads(raw)
    except ValueError:
        return False
    if not isinstance(answer, dict) or answer.get("challengeCode") != code:
        return False
    return hmac.compare_digest(str(answer.get("challengeResponse", "")), expected)
