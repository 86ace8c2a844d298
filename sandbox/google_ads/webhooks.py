"""Google Ads lead form webhooks: the POST Google sends for each lead, and "Send test data".

Docs used:
* https://developers.google.com/google-ads/webhook/docs/implementation : the ``WebhookLead``
  JSON body: ``lead_id`` (string, unique across forms: dedupe on it), ``user_column_data``
  (``column_name`` "might not always be populated", ``string_value``, ``column_id`` "populated
  for all types of fields", e.g. ``FULL_NAME``), ``api_version``, ``form_id``, ``campaign_id``,
  ``adgroup_id``, ``creative_id`` (int64: JSON numbers; clients need 8-byte integers),
  ``google_key`` (the key the advertiser configured with the form; check it before processing),
  ``is_test``, ``gcl_id``, ``asset_group_id`` (Performance Max only, so never here),
  ``lead_stage`` and ``lead_submit_time`` (ISO-8601, e.g. ``2024-09-26T12:30:00Z``).
* https://developers.google.com/google-ads/api/reference/rpc/v24/WebhookDelivery (url,
  ``google_secret``, ``payload_schema_version``) and the lead form's "Send test data" button,
  whose lead has ``is_test`` true and made-up values.

``column_id`` for the predefined fields is the ``LeadFormFieldUserInputType`` name the dataset
stores (``leadflow.sandbox.google_ads.data``). Not documented, so chosen here: custom questions
get ``column_name`` (the question) and a ``column_id`` made from it in the same upper-case style;
a failed POST (non-2xx, no answer) is retried on :data:`RETRIES`; ``submit_time=False`` leaves
``lead_submit_time`` out, as older schema versions did.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import FIELD_VALUES, FORMS, Submission
from leadflow.sandbox.people import person
from leadflow.sandbox.webhooks import Delivery, WebhookSender, compact_json

PLATFORM = "google_ads"
API_VERSION = "1.0"
RETRIES = (0.1, 0.3, 1.0)
TEST_VALUES = {"FULL_NAME": "FirstName LastName", "FIRST_NAME": "FirstName",
               "LAST_NAME": "LastName", "EMAIL": "test@example.com",
               "WORK_EMAIL": "test@example.com", "PHONE_NUMBER": "+16505550123",
               "POSTAL_CODE": "94043", "CITY": "Mountain View", "COUNTRY": "US",
               "COMPANY_NAME": "Test Company", "JOB_TITLE": "Tester"}  # fmt: skip


def column_id_for(question: str) -> str:
    """An upper-case id for a custom question (see the module doc)."""
    return re.sub(r"[^A-Z0-9]+", "_", question.upper()).strip("_")


def submit_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lead_body(
    submission: Submission,
    google_key: str,
    *,
    is_test: bool = False,
    include_submit_time: bool = True,
) -> dict[str, Any]:
    """The ``WebhookLead`` JSON for one stored submission."""
    columns: list[dict[str, Any]] = [
        {"string_value": value, "column_id": kind} for kind, value in submission.fields
    ]
    columns += [
        {"column_name": question, "string_value": value, "column_id": column_id_for(question)}
        for question, value in submission.custom
    ]
    body: dict[str, Any] = {
        "lead_id": submission.id, "user_column_data": columns, "api_version": API_VERSION,
        "form_id": int(submission.asset_id), "campaign_id": int(submission.campaign_id),
        "google_key": google_key, "is_test": is_test,
    }  # fmt: skip
    if submission.gclid:
        body["gcl_id"] = submission.gclid
    body.update(adgroup_id=int(submission.ad_group_id), creative_id=int(submission.ad_id))
    if include_submit_time:
        body["lead_submit_time"] = submit_time(submission.submitted_at)
    return body


class GoogleLeadFormWebhooks:
    """The webhook integration of a :class:`GoogleAdsSandbox`'s lead forms.

    ``configure(url, google_key)`` is what the advertiser types into the form's webhook
    settings (no handshake: Google documents none); ``new_lead`` stores a submission (so the
    GAQL ``lead_form_submission_data`` report shows it too) and POSTs it; ``send_test_data``
    posts a lead that exists nowhere else, with ``is_test`` true.
    """

    def __init__(
        self,
        ads: GoogleAdsSandbox,
        sender: WebhookSender,
        *,
        retries: Sequence[float] = RETRIES,
        include_submit_time: bool = True,
    ) -> None:
        self.ads, self.sender, self.retries = ads, sender, tuple(retries)
        self.include_submit_time = include_submit_time
        self.url: str | None = None
        self.google_key = ""
        self._lock = threading.Lock()

    def configure(self, url: str, google_key: str) -> None:
        self.sender.check_target(url)
        self.url, self.google_key = url, google_key

    def notify(self, submission: Submission, *, is_test: bool = False) -> Delivery:
        body = lead_body(submission, self.google_key, is_test=is_test,
                         include_submit_time=self.include_submit_time)  # fmt: skip
        return self._post(body)

    def new_lead(
        self,
        customer_id: str = "1234567890",
        *,
        person_index: int | None = None,
        campaign_id: str | None = None,
        submitted_at: datetime | None = None,
        gclid: str | None = None,
    ) -> tuple[Submission, Delivery]:
        """A submission now by pool person ``person_index`` (default: a new one) answering the
        campaign's form, stored in the dataset and POSTed; returns both."""
        with self._lock:
            enabled = [c for c in self.ads.dataset.campaigns_of(customer_id)
                       if c.status == "ENABLED" and campaign_id in (None, c.id)]  # fmt: skip
            if not enabled:
                raise KeyError(f"no enabled campaign {campaign_id or ''} for {customer_id}")
            campaign = enabled[0]
            count = len(self.ads.dataset.submissions())
            who = person(200_000 + count if person_index is None else person_index)
            rng = random.Random(f"google-webhook-{count}")
            fields = {kind: FIELD_VALUES[kind](who) if kind != "POSTAL_CODE"
                      else f"{rng.randrange(10000, 99999)}"
                      for kind in FORMS[campaign.form][0]}  # fmt: skip
            custom = {
                question: rng.choice(options) for question, options in FORMS[campaign.form][1]
            }
            submission = self.ads.add_submission(
                customer_id, submitted_at=submitted_at or datetime.now(UTC),
                fields={k: v for k, v in fields.items() if v}, custom=custom,
                campaign_id=campaign.id, gclid=gclid or "Cj0KCQiA" + secrets.token_urlsafe(45),
            )  # fmt: skip
        return submission, self.notify(submission)

    def send_test_data(self, customer_id: str = "1234567890") -> Delivery:
        """What the form's "Send test data" button sends: dummy values, ``is_test`` true."""
        campaign = next(c for c in self.ads.dataset.campaigns_of(customer_id)
                        if c.status == "ENABLED")  # fmt: skip
        group_id, _name, ad_id = campaign.ad_groups[0]
        kinds = FORMS[campaign.form][0]
        fields = tuple((kind, TEST_VALUES.get(kind, "test")) for kind in kinds)
        lead_id = "TeSter-123-" + secrets.token_urlsafe(32)
        test = Submission(customer_id, lead_id, campaign.id, group_id, ad_id, campaign.asset_id,
                          datetime.now(UTC).replace(microsecond=0), fields,
                          gclid="TeSter-123-" + secrets.token_urlsafe(32))  # fmt: skip
        return self.notify(test, is_test=True)

    def _post(self, body: dict[str, Any]) -> Delivery:
        if self.url is None:
            raise RuntimeError("no webhook configured: call configure() first")
        raw = compact_json(body)
        return self.sender.post(PLATFORM, self.url, raw, {"Content-Type": "application/json"},
                                self.retries)  # fmt: skip
