"""A Google lead form webhook names its form by id only: with ``intake.google_ads.source``
set, the form's name is read from the Google Ads sandbox (GAQL ``FROM asset``) once per form,
so a "Request a demo" lead carries its form name at once; without a source it has none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from leadflow.connectors.google_ads import webhook
from leadflow.intake.app import create_app
from leadflow.intake.process import process_inbox
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.webhooks import lead_body
from tests.intake.support import GOOGLE_KEY, settings, stored_leads

LA = "1234567890"


@pytest.fixture
def ads() -> Iterator[GoogleAdsSandbox]:
    webhook._FORMS.clear()  # the per-process cache: each test starts as a new process
    with GoogleAdsSandbox() as sandbox:
        yield sandbox
    webhook._FORMS.clear()


def configured(engine, ads: GoogleAdsSandbox, source: bool = True, token: str | None = None):
    google = {"type": "google_ads", "base_url": ads.base_url,
              "access_token": token or ads.token, "developer_token": ads.developer_token,
              "customer_ids": [LA], "backoff_seconds": 0.01, "max_attempts": 1}  # fmt: skip
    section = {"google_key": GOOGLE_KEY, "customer_id": LA, **({"source": "ads"} if source else {})}
    return settings(str(engine.url), sources={"ads": google}, google_ads=section)


def post(engine, config, ads: GoogleAdsSandbox, form: str, n: int) -> str:
    """A new submission on the LA campaign with form ``form``, POSTed as Google sends it."""
    campaign = next(c for c in ads.dataset.campaigns_of(LA) if c.form == form)
    submission = ads.add_submission(
        LA, submitted_at=datetime(2026, 11, 30, 9, n, tzinfo=UTC), campaign_id=campaign.id,
        fields={"FULL_NAME": f"Lead {n}", "EMAIL": f"lead{n}@example.com"},
    )  # fmt: skip
    app = create_app(config.intake, engine)
    body = lead_body(submission, GOOGLE_KEY)
    assert TestClient(app).post("/webhooks/google_ads", json=body).status_code == 200
    return submission.resource_name


def form_names(engine) -> dict[str, str | None]:
    rows = stored_leads(engine, "google_ads")
    return {row["source_lead_id"]: (row["custom_fields"] or {}).get("form_name") for row in rows}


def asset_searches(ads: GoogleAdsSandbox) -> int:
    return sum("FROM asset" in (r.json() or {}).get("query", "") for r in ads.requests)


def test_a_webhook_lead_gets_its_form_name_read_once_per_form(migrated_engine, ads) -> None:
    config = configured(migrated_engine, ads)
    first = post(migrated_engine, config, ads, "b2b", 1)
    second = post(migrated_engine, config, ads, "b2b", 2)
    contact = post(migrated_engine, config, ads, "contact", 3)
    assert process_inbox(migrated_engine, config) == 3
    assert form_names(migrated_engine) == {
        first: "Request a demo - B2B", second: "Request a demo - B2B",
        contact: "Get a call back from our team",  # no asset name: the form's headline
    }  # fmt: skip
    assert asset_searches(ads) == 2  # one per form, not one per lead
    later = post(migrated_engine, config, ads, "b2b", 4)
    assert process_inbox(migrated_engine, config) == 1  # a later pass of the same process
    assert form_names(migrated_engine)[later] == "Request a demo - B2B"
    assert asset_searches(ads) == 2


def test_without_a_source_the_webhook_lead_has_no_form_name(migrated_engine, ads) -> None:
    config = configured(migrated_engine, ads, source=False)
    key = post(migrated_engine, config, ads, "b2b", 1)
    assert process_inbox(migrated_engine, config) == 1
    assert form_names(migrated_engine) == {key: None} and asset_searches(ads) == 0


def test_a_failed_form_read_still_loads_the_lead(migrated_engine, ads, caplog) -> None:
    config = configured(migrated_engine, ads, token="a-revoked-token")
    key = post(migrated_engine, config, ads, "b2b", 1)
    assert process_inbox(migrated_engine, config) == 1
    assert form_names(migrated_engine) == {key: None}
    assert "form's name could not be read (AuthError)" in caplog.text
    assert "a-revoked-token" not in caplog.text and "lead1@example.com" not in caplog.text
    assert webhook._FORMS == {}  # a failure is not remembered: the next lead tries again
