"""Meta Webhooks for Pages, field ``leadgen``: what Meta sends to the app's callback URL.

Docs used:
* https://developers.facebook.com/docs/graph-api/webhooks/getting-started : the verification
  request Meta sends when the Webhooks product is configured (``GET`` with
  ``hub.mode=subscribe``, ``hub.challenge`` "an int you must pass back to us" and
  ``hub.verify_token`` from the App Dashboard; the endpoint answers with the challenge), and
  event notifications: a JSON ``POST`` signed in ``X-Hub-Signature-256`` ("sha256=" + the
  SHA256 HMAC of the payload with the app secret; ``X-Hub-Signature`` carries the same with
  SHA1), answered with 200 OK; a failed delivery is retried "immediately, then a few more
  times with decreasing frequency over the next 36 hours"; changes may be batched (up to 1000).
* https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-leadgen :
  ``object`` "page", ``entry[].id`` the Page, ``entry[].time``, ``entry[].changes[]`` with
  ``field`` "leadgen" and ``value`` {ad_id, form_id, leadgen_id, created_time (Unix seconds),
  page_id, adgroup_id}; the lead itself is read with ``GET /{leadgen_id}``, which
  ``leadflow.sandbox.meta.app`` serves (token and ``fields=`` as for any Graph node).

``adgroup_id`` is the Ads API's older name of the ad, so it repeats ``ad_id``; organic leads
(no ad) carry neither. Retries here follow :data:`RETRIES` (short), not 36 hours.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import lead_timestamp
from leadflow.sandbox.webhooks import Attempt, Delivery, WebhookSender, compact_json

PLATFORM = "meta"
RETRIES = (0.0, 0.2, 0.5, 1.0)  # "immediately, then ... decreasing frequency"
USER_AGENT = "facebookexternalua"
MAX_BATCH = 1000


def sign_sha256(body: bytes, app_secret: str) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def sign_sha1(body: bytes, app_secret: str) -> str:
    """``X-Hub-Signature`` (legacy): ``sha1=`` + hex HMAC-SHA1 of the raw body."""
    return "sha1=" + hmac.new(app_secret.encode(), body, hashlib.sha1).hexdigest()


def leadgen_value(lead: dict[str, Any], page_id: str) -> dict[str, Any]:
    """The ``value`` of one ``leadgen`` change: ids only, never the answers."""
    value: dict[str, Any] = {}
    if lead.get("ad_id"):
        value["ad_id"] = lead["ad_id"]
    value.update(form_id=lead["form_id"], leadgen_id=lead["id"],
                 created_time=lead_timestamp(lead), page_id=page_id)  # fmt: skip
    if lead.get("ad_id"):
        value["adgroup_id"] = lead["ad_id"]
    return value


def leadgen_body(changes: Sequence[tuple[str, dict[str, Any]]], now: int) -> dict[str, Any]:
    """The notification for ``(page_id, lead)`` pairs: one entry per Page, in first-seen order."""
    entries: dict[str, dict[str, Any]] = {}
    for page_id, lead in changes:
        entry = entries.setdefault(page_id, {"id": page_id, "time": now, "changes": []})
        entry["changes"].append({"field": "leadgen", "value": leadgen_value(lead, page_id)})
    return {"object": "page", "entry": list(entries.values())}


@dataclass
class Subscription:
    callback_url: str
    verify_token: str


class MetaLeadgenWebhooks:
    """The app's ``page``/``leadgen`` subscription on a :class:`MetaSandbox`.

    ``subscribe`` performs Meta's verification request and keeps the callback only if the
    endpoint echoed the challenge; ``new_lead`` adds a lead to the sandbox (then readable with
    ``GET /{id}``) and notifies it; ``notify`` re-sends existing leads.
    """

    def __init__(
        self,
        meta: MetaSandbox,
        sender: WebhookSender,
        *,
        app_secret: str = "sandbox-meta-app-secret",
        retries: Sequence[float] = RETRIES,
    ) -> None:
        self.meta, self.sender, self.app_secret = meta, sender, app_secret
        self.retries = tuple(retries)
        self.subscription: Subscription | None = None
        self._lock = threading.Lock()

    def subscribe(self, callback_url: str, verify_token: str) -> Attempt:
        """Meta's verification request; the subscription is saved only if it succeeded."""
        challenge = str(secrets.randbelow(2**31 - 10**9) + 10**9)
        query = urlencode({"hub.mode": "subscribe", "hub.challenge": challenge,
                           "hub.verify_token": verify_token})  # fmt: skip
        separator = "&" if "?" in callback_url else "?"
        attempt = self.sender.request(PLATFORM, "verification", "GET",
                                      f"{callback_url}{separator}{query}",
                                      {"User-Agent": USER_AGENT})  # fmt: skip
        echoed = attempt.response_body.decode("utf-8", "replace").strip() == challenge
        if attempt.status == 200 and echoed:
            self.subscription = Subscription(callback_url, verify_token)
        return attempt

    def notify(self, *leads: dict[str, Any] | str) -> Delivery:
        """One signed POST naming ``leads`` (objects or ids), grouped by Page."""
        if self.subscription is None:
            raise RuntimeError("no verified leadgen subscription: call subscribe() first")
        if not 0 < len(leads) <= MAX_BATCH:
            raise ValueError(f"a notification carries 1 to {MAX_BATCH} changes")
        dataset, changes = self.meta.dataset, []
        for item in leads:
            lead = dataset.lead(item) if isinstance(item, str) else item
            if lead is None:
                raise KeyError(f"unknown lead {item}")
            changes.append((dataset.get("form", lead["form_id"]).page_id, lead))
        body = compact_json(leadgen_body(changes, int(time.time())))
        return self.sender.post(PLATFORM, self.subscription.callback_url, body,
                                self.headers(body), self.retries)  # fmt: skip

    def headers(self, body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                "X-Hub-Signature": sign_sha1(body, self.app_secret),
                "X-Hub-Signature-256": sign_sha256(body, self.app_secret)}  # fmt: skip

    def new_lead(
        self, form_id: str | None = None, **options: Any
    ) -> tuple[dict[str, Any], Delivery]:
        """Add a lead now (``options`` as ``MetaDataset.add_lead``; default: the first form) and
        notify it; returns the stored lead and its delivery."""
        with self._lock:
            lead = self.meta.add_lead(form_id or self.meta.dataset.forms[0].id, **options)
        return lead, self.notify(lead)
