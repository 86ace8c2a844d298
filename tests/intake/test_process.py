"""Loading the inbox on SQLite and PostgreSQL: Google from the body, Meta and LinkedIn
fetched by id from their sandboxes over HTTP, each under the nightly poll's natural key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from leadflow.connectors.base import LeadContext
from leadflow.connectors.google_ads.fields import to_lead as google_to_lead
from leadflow.connectors.linkedin import connector as linkedin
from leadflow.connectors.meta import connector as meta
from leadflow.intake.app import create_app
from leadflow.intake.process import process_inbox
from leadflow.models.loading.leads import load_batch
from leadflow.models.warehouse.engine import write_transaction
from leadflow.pipeline.mapping import normalize_records
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from tests.intake.support import (
    LINKEDIN_TOKEN,
    META_TOKEN,
    encoded,
    google_lead,
    inbox,
    leadgen,
    linkedin_headers,
    meta_headers,
    settings,
    stored_leads,
)

KEY = "customers/1234567890/leadFormSubmissionData/L-1"


def post_google(engine, body) -> None:
    app = create_app(settings(str(engine.url)).intake, engine)
    assert TestClient(app).post("/webhooks/google_ads", json=body).status_code == 200


def poll_load(engine, connector, client, account: str, pages) -> set[str]:
    """What the nightly poll does with one account's pages: map, normalize, load. Returns
    the keys of the leads it loaded."""
    keys: set[str] = set()
    for page in pages:
        context = LeadContext(connector.name, account, "US")
        leads, rejected = normalize_records(connector, page.records, context)
        keys |= {lead.source_lead_id for lead in leads}
        with write_transaction(engine) as conn:
            load_batch(conn, source=connector.name, account_id=account, leads=leads,
                       rejected=rejected, watermark=page.cursor, cursor=None,
                       now=datetime.now(UTC), state_key=page.partition)  # fmt: skip
    return keys


def test_google_webhook_loads_the_lead_from_its_body(migrated_engine):
    post_google(migrated_engine, google_lead("L-1"))
    config = settings(str(migrated_engine.url))
    assert process_inbox(migrated_engine, config) == 1
    [lead] = stored_leads(migrated_engine, "google_ads")
    [row] = inbox(migrated_engine)
    assert (lead["source_lead_id"], lead["account_id"]) == (KEY, "1234567890")
    assert (lead["email"], lead["phone"]) == ("ada@example.com", "+14155550123")
    assert (lead["first_name"], lead["last_name"]) == ("Ada", "Lovelace")
    assert (lead["campaign_id"], lead["adset_id"], lead["ad_id"], lead["form_id"]) == (
        "1234567", "20000000002", "30000000003", "40000000001")  # fmt: skip
    assert lead["custom_fields"]["Budget?"] == "10k"
    assert lead["custom_fields"]["gclid"] == "gclid-abc"
    # No submission time in the body: the receive time, and the lead says so.
    assert lead["custom_fields"]["submission_time_source"] == "receive time"
    assert abs(lead["created_at"] - row["received_at"]) < timedelta(seconds=1)
    assert lead["is_test"] is False
    assert (row["status"], row["attempts"], row["last_error"]) == ("loaded", 0, None)
    assert "user_column_data" not in row["body"]  # the answers live in leads only now
    assert row["body"]["lead_id"] == "L-1"
    assert process_inbox(migrated_engine, config) == 0  # nothing left to do


def test_google_submit_time_and_test_flag_are_taken_from_the_body(migrated_engine):
    post_google(migrated_engine, google_lead("L-2", lead_submit_time="2026-12-01T12:30:00Z",
                                             is_test=True))  # fmt: skip
    process_inbox(migrated_engine, settings(str(migrated_engine.url)))
    [lead] = stored_leads(migrated_engine, "google_ads")
    assert lead["created_at"] == datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    assert lead["custom_fields"]["submission_time_source"] == "lead_submit_time"
    assert lead["is_test"] is True


def test_google_webhook_and_poll_copies_are_one_lead(migrated_engine):
    post_google(migrated_engine, google_lead("L-1"))
    process_inbox(migrated_engine, settings(str(migrated_engine.url)))
    row = {"leadFormSubmissionData": {
        "resourceName": KEY, "id": "L-1", "submissionDateTime": "2026-12-06 09:00:00+01:00",
        "campaign": "customers/1234567890/campaigns/1234567",
        "leadFormSubmissionFields": [{"fieldType": "EMAIL", "fieldValue": "ada@example.com"}],
    }}  # fmt: skip
    polled = google_to_lead(row, LeadContext("google_ads", "1234567890", "US"))
    with write_transaction(migrated_engine) as conn:
        counts = load_batch(conn, source="google_ads", account_id="1234567890", leads=[polled],
                            rejected=[], watermark=None, cursor=None, now=datetime.now(UTC))  # fmt: skip
    assert (counts.inserted, counts.updated) == (0, 1)  # the poll's copy refines, not adds
    [lead] = stored_leads(migrated_engine, "google_ads")
    assert lead["created_at"] == datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def test_a_google_lead_without_contact_is_quarantined_and_the_row_done(migrated_engine):
    body = {**google_lead("L-3"), "user_column_data": [{"column_id": "CITY", "string_value": "X"}]}
    post_google(migrated_engine, body)
    process_inbox(migrated_engine, settings(str(migrated_engine.url)))
    assert stored_leads(migrated_engine, "google_ads") == []
    assert inbox(migrated_engine)[0]["status"] == "loaded"


@pytest.fixture
def meta_box():
    with MetaSandbox(meta_dataset(40), token=META_TOKEN) as box:
        yield box


def meta_settings(engine, box: MetaSandbox, **intake):
    source = {"type": "meta", "base_url": box.base_url, "access_token": META_TOKEN,
              "page_ids": [p.id for p in box.dataset.pages], "backoff_seconds": 0.01}  # fmt: skip
    return settings(str(engine.url), sources={"meta": source}, **intake)


def post_meta(engine, config, payload) -> None:
    http = TestClient(create_app(config.intake, engine))
    body = encoded(payload)
    assert http.post("/webhooks/meta", content=body, headers=meta_headers(body)).status_code == 200


def test_meta_lead_is_fetched_by_id_and_the_poll_finds_it_unchanged(migrated_engine, meta_box):
    form = meta_box.dataset.forms[0]
    new = meta_box.add_lead(form.id)
    config = meta_settings(migrated_engine, meta_box)
    post_meta(migrated_engine, config, leadgen(new["id"], form.page_id, form.id))
    assert process_inbox(migrated_engine, config) == 1
    [lead] = stored_leads(migrated_engine, "meta")
    assert (lead["source_lead_id"], lead["account_id"], lead["form_id"]) == (
        new["id"], form.page_id, form.id)  # fmt: skip
    assert lead["email"] is not None or lead["phone"] is not None
    assert lead["raw"]["leadflow_form"]["id"] == form.id  # attached as the poll attaches it
    assert inbox(migrated_engine)[0]["status"] == "loaded"
    client = meta.open_session(config.sources["meta"])
    try:
        poll_load(migrated_engine, meta.CONNECTOR, client, form.page_id,
                  meta.pages(client, form.page_id, lambda _: None))  # fmt: skip
    finally:
        client.close()
    after = {row["source_lead_id"]: row for row in stored_leads(migrated_engine, "meta")}
    assert after[new["id"]]["row_hash"] == lead["row_hash"]  # same key, same content
    assert after[new["id"]]["first_loaded_at"] == lead["first_loaded_at"]
    expected = {x["id"] for x in meta_box.dataset.leads if x["form_id"] in {
        f.id for f in meta_box.dataset.forms if f.page_id == form.page_id}}  # fmt: skip
    assert set(after) <= expected  # one row per lead: no second copy of the webhook's


def test_meta_lead_not_fetchable_yet_stays_pending_and_is_retried(migrated_engine, meta_box):
    form = meta_box.dataset.forms[0]
    config = meta_settings(migrated_engine, meta_box, retry_base_seconds=30)
    post_meta(migrated_engine, config, leadgen("99999999999999", form.page_id, form.id))
    now = datetime.now(UTC)
    assert process_inbox(migrated_engine, config, now) == 1
    [row] = inbox(migrated_engine)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"].startswith("fetch failed")
    assert row["next_attempt_at"] == now + timedelta(seconds=30)
    assert process_inbox(migrated_engine, config, now + timedelta(seconds=10)) == 0  # not due
    assert process_inbox(migrated_engine, config, now + timedelta(seconds=31)) == 1
    assert inbox(migrated_engine)[0]["attempts"] == 2
    assert stored_leads(migrated_engine, "meta") == []


def test_meta_gives_up_after_max_attempts(migrated_engine, meta_box):
    form = meta_box.dataset.forms[0]
    config = meta_settings(migrated_engine, meta_box, max_attempts=1)
    post_meta(migrated_engine, config, leadgen("99999999999999", form.page_id, form.id))
    process_inbox(migrated_engine, config)
    [row] = inbox(migrated_engine)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["processed_at"] is not None


def test_linkedin_lead_is_fetched_by_id_under_the_polls_key(migrated_engine):
    with LinkedInSandbox(linkedin_dataset(40, seed=5), token=LINKEDIN_TOKEN) as box:
        sponsored = [x for x in box.dataset.leads
                     if "sponsoredAccount" in x["owner"] and not x["testLead"]]  # fmt: skip
        target = sponsored[0]
        account_urn = target["owner"]["sponsoredAccount"]
        account = "sponsoredAccount:" + account_urn.rsplit(":", 1)[-1]
        source = {"type": "linkedin", "base_url": box.base_url, "access_token": LINKEDIN_TOKEN,
                  "sponsored_account_ids": [account.split(":")[1]], "backoff_seconds": 0.01}  # fmt: skip
        config = settings(str(migrated_engine.url), sources={"linkedin": source})
        note = {"type": "LEAD_ACTION", "leadAction": "CREATED", "leadType": "SPONSORED",
                "leadGenFormResponse": f"urn:li:leadGenFormResponse:{target['id']}",
                "owner": {"sponsoredAccount": account_urn}, "occurredAt": 1733480000000}  # fmt: skip
        body = encoded(note)
        http = TestClient(create_app(config.intake, migrated_engine))
        posted = http.post("/webhooks/linkedin", content=body, headers=linkedin_headers(body))
        assert posted.status_code == 200
        assert process_inbox(migrated_engine, config) == 1
        [lead] = stored_leads(migrated_engine, "linkedin")
        assert (lead["source_lead_id"], lead["account_id"]) == (target["id"], account)
        client = linkedin.open_session(config.sources["linkedin"])
        try:
            poll_load(migrated_engine, linkedin.CONNECTOR, client, account,
                      linkedin.pages(client, account, lambda _: None))  # fmt: skip
        finally:
            client.close()
    after = {row["source_lead_id"]: row for row in stored_leads(migrated_engine, "linkedin")}
    assert after[target["id"]]["row_hash"] == lead["row_hash"]
    assert len(after) == len({x["id"] for x in box.dataset.leads if x["owner"] == target["owner"]
                              and not x["testLead"]})  # fmt: skip
