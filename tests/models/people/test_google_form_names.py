"""A Google Ads lead synced from a "Request a demo" lead form is a hand-raiser: the poll
selects the form's asset name with each submission, and classification reads it from the
warehouse (SQLite and PostgreSQL) as it does Meta's and LinkedIn's form names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.google_ads import connector as google
from leadflow.models.loading.leads import load_batch
from leadflow.models.people.classification_store import read_person_facts
from leadflow.models.people.rules import default_rules
from leadflow.models.warehouse.tables import people
from leadflow.pipeline.mapping import normalize_records
from leadflow.pipeline.people import resolve_and_classify
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox

LA = "1234567890"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.usefixtures("warehouse_url")
@pytest.mark.parametrize("form", ["b2b", "contact"])
def test_a_synced_google_demo_form_lead_is_an_mql(migrated_engine, form: str) -> None:
    with GoogleAdsSandbox() as ads:
        campaign = next(c for c in ads.dataset.campaigns_of(LA) if c.form == form)
        submission = ads.add_submission(
            LA, submitted_at=datetime(2026, 11, 30, 9, tzinfo=UTC), campaign_id=campaign.id,
            fields={"FULL_NAME": "Grace Hopper", "WORK_EMAIL": "grace@navy.example"},
        )  # fmt: skip
        config = google.GoogleAdsConfig(base_url=ads.base_url, access_token="sandbox-google-token",
                                        developer_token="sandbox-dev-token", customer_ids=[LA],
                                        backoff_seconds=0.01)  # fmt: skip
        client = google.open_session(config)
        try:
            pages = list(google.pages(client, LA, lambda _: submission.submitted_at))
        finally:
            client.close()
    records = [r for page in pages for r in page.records]
    leads, _ = normalize_records(google.CONNECTOR, records, LeadContext("google_ads", LA))
    [lead] = [lead for lead in leads if lead.source_lead_id == submission.resource_name]
    with migrated_engine.begin() as conn:
        load_batch(conn, source="google_ads", account_id=LA, leads=[lead], rejected=(),
                   watermark=lead.created_at, cursor=None, now=NOW)  # fmt: skip
    resolve_and_classify(migrated_engine, rules=default_rules(), now=NOW, run_id="r1")
    with migrated_engine.connect() as conn:
        [(pid, stage, reasons)] = conn.execute(
            people.select().with_only_columns(people.c.person_id, people.c.lifecycle,
                                              people.c.reasons)
        ).all()  # fmt: skip
        [facts] = read_person_facts(conn, [pid])
    if form == "b2b":
        assert facts.leads[0].form_name == "Request a demo - B2B"
        assert (stage, "signal:demo_request" in reasons) == ("mql", True)
    else:  # a form whose headline raises no hand: the name is read, nothing qualifies
        assert facts.leads[0].form_name == "Get a call back from our team"
        assert stage != "mql" and "signal:demo_request" not in reasons
