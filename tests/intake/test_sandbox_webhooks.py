"""The sandboxes' own webhook senders (written from the platforms' docs, apart from the
intake) POST to the intake served by uvicorn on 127.0.0.1; the leads load under the key the
nightly poll of the same sandbox uses, so poll and webhook agree on one row per lead."""

from __future__ import annotations

from leadflow.connectors.google_ads import connector as google
from leadflow.connectors.meta import connector as meta
from leadflow.intake.process import process_inbox
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.webhooks import GoogleLeadFormWebhooks
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset
from leadflow.sandbox.linkedin.webhooks import LinkedInLeadNotifications
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from leadflow.sandbox.meta.webhooks import MetaLeadgenWebhooks
from leadflow.sandbox.webhooks import WebhookSender
from tests.intake.support import (
    APP_SECRET,
    CLIENT_SECRET,
    GOOGLE_KEY,
    LINKEDIN_TOKEN,
    META_TOKEN,
    VERIFY_TOKEN,
    inbox,
    settings,
    stored_leads,
)
from tests.intake.test_process import poll_load


def test_meta_sandbox_verifies_and_notifies_and_the_poll_agrees(migrated_engine, serve):
    with MetaSandbox(meta_dataset(40), token=META_TOKEN) as box, WebhookSender() as sender:
        source = {"type": "meta", "base_url": box.base_url, "access_token": META_TOKEN,
                  "page_ids": [p.id for p in box.dataset.pages], "backoff_seconds": 0.01}  # fmt: skip
        config = settings(str(migrated_engine.url), sources={"meta": source})
        url = serve(config) + "/webhooks/meta"
        hooks = MetaLeadgenWebhooks(box, sender, app_secret=APP_SECRET)
        assert hooks.subscribe(url, "a wrong token").status == 403
        assert hooks.subscribe(url, VERIFY_TOKEN).status == 200
        lead, delivery = hooks.new_lead()
        assert delivery.wait(10) and delivery.statuses[-1] == 200
        assert process_inbox(migrated_engine, config) == 1
        [row] = stored_leads(migrated_engine, "meta")
        assert row["source_lead_id"] == lead["id"]
        page_id = box.dataset.get("form", lead["form_id"]).page_id
        client = meta.open_session(config.sources["meta"])
        try:
            poll_load(migrated_engine, meta.CONNECTOR, client, page_id,
                      meta.pages(client, page_id, lambda _: None))  # fmt: skip
        finally:
            client.close()
    after = {r["source_lead_id"]: r for r in stored_leads(migrated_engine, "meta")}
    assert after[lead["id"]]["row_hash"] == row["row_hash"]


def test_google_sandbox_posts_and_the_poll_reads_the_same_lead(migrated_engine, serve):
    with GoogleAdsSandbox() as ads, WebhookSender() as sender:
        config = settings(str(migrated_engine.url))
        hooks = GoogleLeadFormWebhooks(ads, sender)
        hooks.configure(serve(config) + "/webhooks/google_ads", "not-the-key")
        _, refused = hooks.new_lead("1234567890")
        assert refused.wait(10) and 200 not in refused.statuses
        assert inbox(migrated_engine) == []
        hooks.configure(hooks.url, GOOGLE_KEY)
        _, delivery = hooks.new_lead("1234567890")
        assert delivery.wait(10) and delivery.statuses[-1] == 200
        assert process_inbox(migrated_engine, config) == 1
        [webhook_copy] = stored_leads(migrated_engine, "google_ads")
        source = {"base_url": ads.base_url, "access_token": "sandbox-google-token",
                  "developer_token": "sandbox-dev-token", "customer_ids": ["1234567890"],
                  "backoff_seconds": 0.01}  # fmt: skip
        client = google.open_session(google.GoogleAdsConfig(**source))
        try:
            polled = poll_load(migrated_engine, google.CONNECTOR, client, "1234567890",
                               google.pages(client, "1234567890", lambda _: None))  # fmt: skip
        finally:
            client.close()
    # The poll read the webhook's lead under the very key the webhook copy has: one row.
    assert webhook_copy["source_lead_id"] in polled
    keys = [r["source_lead_id"] for r in stored_leads(migrated_engine, "google_ads")]
    assert sorted(keys) == sorted(polled)


def test_linkedin_sandbox_validates_and_notifies(migrated_engine, serve):
    with LinkedInSandbox(linkedin_dataset(40, seed=5), token=LINKEDIN_TOKEN) as box, \
            WebhookSender() as sender:  # fmt: skip
        hooks = LinkedInLeadNotifications(box, sender, client_secret=CLIENT_SECRET)
        form = box.dataset.forms[0]
        owner = form["owner"]
        kind, urn = next(iter(owner.items()))
        account = f"{kind}:{urn.rsplit(':', 1)[-1]}"
        ids = {"sponsored_account_ids" if kind == "sponsoredAccount" else "organization_ids":
               [urn.rsplit(":", 1)[-1]]}  # fmt: skip
        source = {"type": "linkedin", "base_url": box.base_url, "access_token": LINKEDIN_TOKEN,
                  "backoff_seconds": 0.01, **ids}  # fmt: skip
        config = settings(str(migrated_engine.url), sources={"linkedin": source})
        url = serve(config) + "/webhooks/linkedin"
        assert hooks.validate(url).status == 200
        hooks.subscribe(url, owner, "SPONSORED" if kind == "sponsoredAccount" else "COMPANY")
        lead, deliveries = hooks.new_lead(form["id"])
        assert deliveries, "the sandbox sent no notification"
        assert all(d.wait(10) and d.statuses[-1] == 200 for d in deliveries)
        assert process_inbox(migrated_engine, config) == 1
    [row] = stored_leads(migrated_engine, "linkedin")
    assert (row["source_lead_id"], row["account_id"]) == (lead["id"], account)
