"""End to end: the sandboxes POST a Meta and a Google lead to ``leadflow intake``'s app
served with its loader process (as the command serves it), and seconds later each lead has
a person, a stage and a ``first_touch`` SLA evaluation, without any sync running."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from leadflow.models.warehouse.person_links import LEAD_PERSON, leads_with_people
from leadflow.models.warehouse.tables import leads, people, sla_evaluations
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.webhooks import GoogleLeadFormWebhooks
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from leadflow.sandbox.meta.webhooks import MetaLeadgenWebhooks
from leadflow.sandbox.webhooks import WebhookSender
from tests.intake.support import APP_SECRET, GOOGLE_KEY, META_TOKEN, VERIFY_TOKEN, settings

WITHIN_SECONDS = 30  # a ceiling for a loaded CI machine; it takes a few seconds here


def _settled(engine: Any, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Each lead's (person, stage, first_touch status) once all exist, else {}."""
    query = (
        sa.select(
            leads.c.source, leads.c.source_lead_id, people.c.lifecycle, sla_evaluations.c.status
        )
        .select_from(leads_with_people())
        .join(people, people.c.person_id == LEAD_PERSON)
        .join(sla_evaluations, sla_evaluations.c.person_id == people.c.person_id)
        .where(sla_evaluations.c.rule == "first_touch")
    )
    with engine.connect() as conn:
        found = {(row[0], row[1]): row[2:] for row in conn.execute(query)}
    return found if all(key in found for key in keys) else {}


def test_webhook_leads_get_their_first_touch_clock_within_seconds(migrated_engine, serve):
    with (
        MetaSandbox(meta_dataset(20), token=META_TOKEN) as meta,
        GoogleAdsSandbox() as google,
        WebhookSender() as sender,
    ):
        source = {"type": "meta", "base_url": meta.base_url, "access_token": META_TOKEN,
                  "page_ids": [p.id for p in meta.dataset.pages], "backoff_seconds": 0.01}  # fmt: skip
        ads = {
            "type": "google_ads",
            "base_url": google.base_url,
            "access_token": google.token,
            "developer_token": google.developer_token,
            "customer_ids": ["1234567890"],
        }
        section = {"google_key": GOOGLE_KEY, "customer_id": "1234567890", "source": "ads"}
        config = settings(str(migrated_engine.url), sources={"meta": source, "ads": ads},
                          poll_seconds=1, google_ads=section)  # fmt: skip
        # The "Request a demo" form: its name (read through the source) makes the lead an MQL.
        demo = next(c.id for c in google.dataset.campaigns_of("1234567890") if c.form == "b2b")
        base = serve(config, loop=True)
        hooks = MetaLeadgenWebhooks(meta, sender, app_secret=APP_SECRET)
        assert hooks.subscribe(base + "/webhooks/meta", VERIFY_TOKEN).status == 200
        forms = GoogleLeadFormWebhooks(google, sender)
        forms.configure(base + "/webhooks/google_ads", GOOGLE_KEY)
        sent = time.monotonic()
        meta_lead, meta_delivery = hooks.new_lead()
        google_lead, google_delivery = forms.new_lead("1234567890", campaign_id=demo)
        assert meta_delivery.wait(10) and meta_delivery.statuses[-1] == 200
        assert google_delivery.wait(10) and google_delivery.statuses[-1] == 200
        keys = [("meta", meta_lead["id"])]
        found: dict[tuple[str, str], Any] = {}
        google_key = None
        while time.monotonic() - sent < WITHIN_SECONDS:
            with migrated_engine.connect() as conn:
                google_key = conn.execute(
                    sa.select(leads.c.source_lead_id).where(leads.c.source == "google_ads")
                ).scalar()
            if google_key is not None:
                found = _settled(migrated_engine, [*keys, ("google_ads", google_key)])
                if found:
                    break
            time.sleep(0.25)
    assert google_key == f"customers/1234567890/leadFormSubmissionData/{google_lead.id}"
    assert found, f"no first_touch evaluation for both leads within {WITHIN_SECONDS} s"
    for lifecycle, status in found.values():
        assert lifecycle == "mql"
        assert status in {"pending", "met", "breached"}
