"""The sandboxes' outgoing webhooks (Meta leadgen, Google Ads lead forms, LinkedIn Lead Sync),
checked by ``tests.sandbox.webhook_receiver``, a receiver written from the platforms' docs:
documented bodies, signatures that verify, handshakes, retries on the schedule, and the lead a
notification names read back by id from the sandbox's API.
"""

from __future__ import annotations

import itertools
import re
import socket
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import FORMS, google_ads_dataset
from leadflow.sandbox.google_ads.webhooks import GoogleLeadFormWebhooks
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset
from leadflow.sandbox.linkedin.webhooks import LinkedInLeadNotifications
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from leadflow.sandbox.meta.webhooks import MetaLeadgenWebhooks, Subscription
from leadflow.sandbox.webhooks import WebhookSender
from tests.sandbox.webhook_receiver import (
    APP_SECRET,
    CLIENT_SECRET,
    GOOGLE_KEY,
    VERIFY_TOKEN,
    Receiver,
    running_receiver,
)

FAST = (0.05, 0.1, 0.2)
LI_HEADERS = {"Authorization": "Bearer sandbox-linkedin-token", "LinkedIn-Version": "202611",
              "X-Restli-Protocol-Version": "2.0.0"}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    with WebhookSender() as webhooks:
        yield webhooks


@pytest.fixture
def meta() -> Iterator[MetaSandbox]:
    with MetaSandbox(meta_dataset(40)) as sandbox:
        yield sandbox


# -- Meta ------------------------------------------------------------------------------------
def test_meta_verification_request_and_wrong_token(meta, sender, receiver) -> None:
    state, base = receiver
    hooks = MetaLeadgenWebhooks(meta, sender, app_secret=APP_SECRET)
    refused = hooks.subscribe(f"{base}/meta", "not-the-token")
    assert refused.status == 403 and hooks.subscription is None
    with pytest.raises(RuntimeError):
        hooks.new_lead()
    accepted = hooks.subscribe(f"{base}/meta", VERIFY_TOKEN)
    assert accepted.status == 200 and hooks.subscription is not None
    query = state.received[-1].query
    assert state.received[-1].method == "GET" and query["hub.mode"] == ["subscribe"]
    assert query["hub.verify_token"] == [VERIFY_TOKEN] and query["hub.challenge"][0].isdigit()
    assert accepted.response_body.decode() == query["hub.challenge"][0]


def test_meta_leadgen_notification_is_signed_and_names_a_fetchable_lead(
    meta, sender, receiver
) -> None:
    state, base = receiver
    hooks = MetaLeadgenWebhooks(meta, sender, app_secret=APP_SECRET, retries=FAST)
    hooks.subscribe(f"{base}/meta", VERIFY_TOKEN)
    lead, delivery = hooks.new_lead(person_index=7)
    assert delivery.wait(5) and delivery.state == "delivered" and delivery.statuses == [200]
    [post] = state.posts("/meta")
    assert post.signature_ok and post.headers["Content-Type"] == "application/json"
    body = post.json()
    form = meta.dataset.get("form", lead["form_id"])
    assert body["object"] == "page" and len(body["entry"]) == 1
    entry = body["entry"][0]
    assert entry["id"] == form.page_id and isinstance(entry["time"], int)
    assert entry["changes"][0]["field"] == "leadgen"
    value = entry["changes"][0]["value"]
    assert list(value) == [
        "ad_id",
        "form_id",
        "leadgen_id",
        "created_time",
        "page_id",
        "adgroup_id",
    ]
    assert value["leadgen_id"] == lead["id"] and value["page_id"] == form.page_id
    assert value["ad_id"] == value["adgroup_id"] == lead["ad_id"]
    assert abs(value["created_time"] - time.time()) < 60
    fetched = requests.get(
        meta.url(f"/{value['leadgen_id']}"),
        params={"access_token": meta.token, "fields": "id,created_time,field_data,form_id,ad_id"},
        timeout=5,
    )
    assert fetched.status_code == 200
    got = fetched.json()
    assert got["id"] == lead["id"] and got["form_id"] == value["form_id"]
    assert got["ad_id"] == value["ad_id"] and got["field_data"] == lead["field_data"]
    created = datetime.strptime(got["created_time"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    assert int(created) == value["created_time"]


def test_meta_organic_leads_and_batches_by_page(meta, sender, receiver) -> None:
    state, base = receiver
    hooks = MetaLeadgenWebhooks(meta, sender, app_secret=APP_SECRET)
    hooks.subscribe(f"{base}/meta", VERIFY_TOKEN)
    organic, first = hooks.new_lead(organic=True)
    assert first.wait(5)
    value = state.posts("/meta")[0].json()["entry"][0]["changes"][0]["value"]
    assert (
        "ad_id" not in value and "adgroup_id" not in value and value["leadgen_id"] == organic["id"]
    )
    other_page = next(f for f in meta.dataset.forms if f.page_id != meta.dataset.forms[0].page_id)
    second = meta.add_lead(other_page.id)
    batch = hooks.notify(organic["id"], second, organic["id"])
    assert batch.wait(5) and batch.state == "delivered"
    entries = state.posts("/meta")[1].json()["entry"]
    assert [e["id"] for e in entries] == [meta.dataset.forms[0].page_id, other_page.page_id]
    assert [len(e["changes"]) for e in entries] == [2, 1]


def test_a_500_is_retried_on_the_schedule_and_a_200_stops_the_retries(
    meta, sender, receiver
) -> None:
    state, base = receiver
    hooks = MetaLeadgenWebhooks(meta, sender, app_secret=APP_SECRET, retries=FAST)
    hooks.subscribe(f"{base}/meta", VERIFY_TOKEN)
    state.statuses.extend([500, 503])
    _lead, delivery = hooks.new_lead()
    assert delivery.wait(5) and delivery.state == "delivered"
    assert delivery.statuses == [500, 503, 200]
    posts = state.posts("/meta")
    assert len({p.body for p in posts}) == 1 and all(p.signature_ok for p in posts)
    gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
    assert gaps[0] >= FAST[0] * 0.9 and gaps[1] >= FAST[1] * 0.9
    time.sleep(sum(FAST))
    assert len(state.posts("/meta")) == 3  # nothing after the 200
    assert [a.number for a in delivery.attempts] == [1, 2, 3]


def test_a_delivery_fails_once_the_schedule_is_spent(meta, sender, receiver) -> None:
    state, base = receiver
    hooks = MetaLeadgenWebhooks(meta, sender, app_secret="not-the-app-secret", retries=(0.01,) * 2)
    hooks.subscribe(f"{base}/meta", VERIFY_TOKEN)
    _lead, delivery = hooks.new_lead()
    assert delivery.wait(5) and delivery.state == "failed"
    assert delivery.statuses == [401, 401, 401]  # the receiver rejects the signature each time
    assert not any(p.signature_ok for p in state.posts("/meta"))


def test_an_unreachable_endpoint_is_retried_and_recorded(meta, sender) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hooks = MetaLeadgenWebhooks(meta, sender, app_secret=APP_SECRET, retries=(0.01, 0.01))
    hooks.subscription = Subscription(f"http://127.0.0.1:{port}/meta", VERIFY_TOKEN)
    _lead, delivery = hooks.new_lead()
    assert delivery.wait(5) and delivery.state == "failed"
    assert delivery.statuses == [None, None, None]
    assert all(a.error for a in delivery.attempts) and sender.wait_idle(1)


def test_the_sender_only_targets_the_loopback_interface(sender) -> None:
    with pytest.raises(ValueError):
        sender.post("meta", "http://example.com/hook", b"{}", {}, ())
    with pytest.raises(ValueError):
        sender.request("meta", "verification", "GET", "ftp://127.0.0.1/x")


# -- Google Ads ------------------------------------------------------------------------------
@pytest.fixture
def ads() -> Iterator[GoogleAdsSandbox]:
    with GoogleAdsSandbox(google_ads_dataset(30)) as sandbox:
        yield sandbox


def test_google_lead_body_matches_the_webhook_schema(ads, sender, receiver) -> None:
    state, base = receiver
    hooks = GoogleLeadFormWebhooks(ads, sender, retries=FAST)
    hooks.configure(f"{base}/google", GOOGLE_KEY)
    state.statuses.append(500)
    submission, delivery = hooks.new_lead("1234567890", person_index=3)
    assert delivery.wait(5) and delivery.statuses == [500, 200]
    body = state.posts("/google")[-1].json()
    assert set(body) == {"lead_id", "user_column_data", "api_version", "form_id", "campaign_id",
                         "google_key", "is_test", "gcl_id", "adgroup_id", "creative_id",
                         "lead_submit_time"}  # fmt: skip
    assert body["lead_id"] == submission.id and isinstance(body["lead_id"], str)
    assert body["google_key"] == GOOGLE_KEY and body["is_test"] is False
    for key in ("form_id", "campaign_id", "adgroup_id", "creative_id"):
        assert isinstance(body[key], int)
    assert body["campaign_id"] == int(submission.campaign_id)
    assert body["form_id"] == int(submission.asset_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["lead_submit_time"])
    campaign = next(c for c in ads.dataset.campaigns if c.id == submission.campaign_id)
    predefined = [c for c in body["user_column_data"] if "column_name" not in c]
    assert {c["column_id"] for c in predefined} <= set(FORMS[campaign.form][0])
    assert {"FULL_NAME", "EMAIL"} <= {c["column_id"] for c in predefined} or (
        {"FIRST_NAME", "WORK_EMAIL"} <= {c["column_id"] for c in predefined}
    )
    custom = [c for c in body["user_column_data"] if "column_name" in c]
    assert {c["column_name"] for c in custom} == {q for q, _ in FORMS[campaign.form][1]}
    assert all(set(c) >= {"string_value", "column_id"} for c in body["user_column_data"])
    assert submission.id in {s.id for s in ads.dataset.submissions("1234567890")}


def test_google_send_test_data_and_no_submit_time(ads, sender, receiver) -> None:
    state, base = receiver
    hooks = GoogleLeadFormWebhooks(ads, sender, include_submit_time=False)
    hooks.configure(f"{base}/google", GOOGLE_KEY)
    assert hooks.send_test_data().wait(5)
    body = state.posts("/google")[-1].json()
    assert body["is_test"] is True and "lead_submit_time" not in body
    assert body["lead_id"] not in {s.id for s in ads.dataset.submissions()}
    hooks.configure(f"{base}/google", "a-wrong-key")
    _sub, refused = hooks.new_lead()
    assert refused.wait(5) and refused.state == "failed" and set(refused.statuses) == {401}


# -- LinkedIn --------------------------------------------------------------------------------
@pytest.fixture
def linkedin() -> Iterator[LinkedInSandbox]:
    with LinkedInSandbox(linkedin_dataset(40, seed=5)) as sandbox:
        yield sandbox


ACCOUNT = {"sponsoredAccount": "urn:li:sponsoredAccount:510000101"}


def test_linkedin_validation_challenge(linkedin, sender, receiver) -> None:
    state, base = receiver
    hooks = LinkedInLeadNotifications(linkedin, sender, client_secret=CLIENT_SECRET)
    hooks.subscribe(f"{base}/linkedin", ACCOUNT, "SPONSORED")
    get = state.received[-1]
    assert get.method == "GET" and list(get.query) == ["challengeCode"]
    code = get.query["challengeCode"][0]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", code
    )
    assert hooks.webhooks[f"{base}/linkedin"].validated


def test_linkedin_unvalidated_or_blocked_webhooks_get_nothing(linkedin, sender, receiver) -> None:
    state, base = receiver
    state.linkedin_answer = "wrong"
    hooks = LinkedInLeadNotifications(linkedin, sender, client_secret=CLIENT_SECRET)
    hooks.subscribe(f"{base}/linkedin", ACCOUNT, "SPONSORED")
    _lead, deliveries = hooks.new_lead()
    assert deliveries == [] and not state.posts("/linkedin")
    state.linkedin_answer = "right"
    hooks.revalidate()
    _lead, deliveries = hooks.new_lead()
    assert len(deliveries) == 1 and deliveries[0].wait(5)
    state.linkedin_answer = "none"
    for _ in range(3):
        hooks.revalidate()
    webhook = hooks.webhooks[f"{base}/linkedin"]
    assert webhook.blocked and hooks.new_lead()[1] == []


def test_linkedin_lead_notification_is_signed_and_names_a_fetchable_lead(
    linkedin, sender, receiver
) -> None:
    state, base = receiver
    hooks = LinkedInLeadNotifications(linkedin, sender, client_secret=CLIENT_SECRET, retries=FAST)
    hooks.subscribe(f"{base}/linkedin", ACCOUNT, "SPONSORED")
    hooks.subscribe(f"{base}/linkedin-org", {"organization": "urn:li:organization:2414183"},
                    "COMPANY")  # fmt: skip
    state.statuses.append(500)
    lead, [delivery] = hooks.new_lead(7100101)
    assert delivery.wait(5) and delivery.statuses == [500, 200]
    post = state.posts("/linkedin")[-1]
    assert post.signature_ok
    body = post.json()
    assert body["type"] == "LEAD_ACTION" and body["leadAction"] == "CREATED"
    assert body["leadGenFormResponse"] == f"urn:li:leadGenFormResponse:{lead['id']}"
    assert body["leadGenForm"] == "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7100101,1)"
    assert body["owner"] == ACCOUNT and body["leadType"] == "SPONSORED"
    assert body["associatedEntity"]["sponsoredCreative"].startswith("urn:li:sponsoredCreative:")
    assert abs(body["occurredAt"] - time.time() * 1000) < 60_000
    lead_id = body["leadGenFormResponse"].rsplit(":", 1)[1]
    fetched = requests.get(f"{linkedin.base_url}/rest/leadFormResponses/{lead_id}",
                           headers=LI_HEADERS, timeout=5)  # fmt: skip
    assert fetched.status_code == 200
    assert fetched.json()["id"] == lead["id"]
    assert fetched.json()["versionedLeadGenFormUrn"] == body["leadGenForm"]
    assert not state.posts("/linkedin-org")  # a COMPANY subscription: not this lead

    [deleted] = hooks.delete_lead(lead["id"])
    assert deleted.wait(5) and deleted.json()["leadAction"] == "DELETED"
    gone = requests.get(f"{linkedin.base_url}/rest/leadFormResponses/{lead_id}",
                        headers=LI_HEADERS, timeout=5)  # fmt: skip
    assert gone.status_code == 404
