"""Google Ads spend, configuration and the mapping of a submission to a Lead."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from leadflow.connectors.base import LeadContext
from leadflow.connectors.google_ads.connector import (
    CONNECTOR,
    GoogleAdsConfig,
    open_session,
    spend,
)
from leadflow.connectors.google_ads.fields import to_lead
from leadflow.models.records.leads import InvalidRecord
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from tests.connectors.google_ads.support import (
    BOTH_SIDES,
    KOLKATA,
    LA,
    ROW,
    config,
    no_sleep,
    read,
    records_of,
)


# -- spend ----------------------------------------------------------------------------------------
@BOTH_SIDES
def test_spend_per_campaign_day_equals_the_dataset_exactly(
    sandbox: GoogleAdsSandbox, customer: str
) -> None:
    first, last = date(2026, 9, 1), date(2026, 11, 30)
    client = open_session(config(sandbox, customer), sleep=no_sleep)
    rows = [row for batch in spend(client, customer, first, last) for row in batch]
    got = {(r.account_id, r.campaign_id, r.day.isoformat()): r.spend for r in rows}
    truth = {
        key: Decimal(micros) / 1_000_000
        for key, micros in sandbox.dataset.cost_micros_by_campaign_day(customer).items()
        if first.isoformat() <= key[2] <= last.isoformat()
    }
    assert got == truth and len(rows) == len(got)
    assert {r.currency for r in rows} == {"USD" if customer == LA else "INR"}
    assert all(r.campaign_name and r.impressions >= r.clicks >= 0 for r in rows)


def test_spend_accounts_are_the_customers(sandbox: GoogleAdsSandbox) -> None:
    cfg = config(sandbox, customer_ids=["123-456-7890", "555-000-1234"])
    assert CONNECTOR.spend_accounts is not None
    assert CONNECTOR.spend_accounts(cfg) == CONNECTOR.accounts(cfg) == [LA, KOLKATA]


# -- configuration --------------------------------------------------------------------------------
def test_customer_ids_accept_dashes_and_reject_junk() -> None:
    cfg = GoogleAdsConfig(access_token="t", customer_ids=["123-456-7890"], login_customer_id="")
    assert cfg.customer_ids == [LA] and cfg.login_customer_id is None
    assert cfg.base_url == "https://googleads.googleapis.com" and cfg.api_version == "v24"
    with pytest.raises(ValidationError):
        GoogleAdsConfig(access_token="t", customer_ids=["customers/123"])
    with pytest.raises(ValidationError):
        GoogleAdsConfig(access_token="t", customer_ids=[])


# -- mapping --------------------------------------------------------------------------------------
def test_to_lead_maps_every_documented_field(sandbox: GoogleAdsSandbox) -> None:
    sub = sandbox.add_submission(
        LA,
        submitted_at=datetime(2026, 11, 21, 3, 4, 5, tzinfo=UTC),
        fields={
            "FIRST_NAME": "ada", "LAST_NAME": "LOVELACE", "EMAIL": "Ada.Lovelace@Example.com",
            "WORK_EMAIL": "ada@analytical.example", "PHONE_NUMBER": "(415) 555-0100",
            "COMPANY_NAME": "Analytical Engines", "JOB_TITLE": "Head of Maths",
            "COUNTRY": "US", "CITY": "San Francisco", "POSTAL_CODE": "94105",
            "COMPANY_SIZE": "11-50",
        },
        custom={"What are you looking for?": "A demo"},
        gclid="Cj0KCQiAexample",
    )  # fmt: skip
    found = read(sandbox, LA, since=sub.submitted_at)
    record = next(r for r in records_of(found) if r[ROW]["id"] == sub.id)
    lead = CONNECTOR.to_lead(record, LeadContext("google_ads", LA, "GB"))
    assert (lead.source, lead.source_lead_id, lead.account_id) == (
        "google_ads", sub.resource_name, LA
    )  # fmt: skip
    assert lead.created_at == lead.updated_at == sub.submitted_at
    assert (lead.email, lead.email_match_key) == ("ada.lovelace@example.com",) * 2
    assert lead.phone == "+14155550100"  # parsed with the lead's country, not the default
    assert (lead.first_name, lead.last_name) == ("Ada", "Lovelace")
    assert (lead.company, lead.job_title) == ("Analytical Engines", "Head of Maths")
    assert (lead.country, lead.city) == ("US", "San Francisco")
    assert (lead.campaign_id, lead.adset_id, lead.ad_id, lead.form_id) == (
        sub.campaign_id, sub.ad_group_id, sub.ad_id, sub.asset_id
    )  # fmt: skip
    assert lead.campaign_name == "Lead Gen - Search"
    assert lead.custom_fields == {
        "work_email": "ada@analytical.example", "postal_code": "94105",
        "company_size": "11-50", "What are you looking for?": "A demo",
        "gclid": "Cj0KCQiAexample",
        "form_name": "Get a call back from our team",  # the form's headline: it has no name
    }  # fmt: skip
    assert lead.is_test is False and lead.is_organic is False
    assert lead.raw == record and CONNECTOR.record_key(record) == sub.resource_name


def _row(**changes: Any) -> dict[str, Any]:
    inner = {
        "resourceName": "customers/1234567890/leadFormSubmissionData/77",
        "id": "77",
        "submissionDateTime": "2019-01-01 12:32:45-08:00",
        "leadFormSubmissionFields": [
            {"fieldType": "FULL_NAME", "fieldValue": "John Ronald Doe"},
            {"fieldType": "WORK_PHONE", "fieldValue": "+14155550134"},
        ],
    }
    inner.update(changes)
    return {ROW: {k: v for k, v in inner.items() if v is not None}}


def test_full_name_splits_and_work_phone_reaches_the_lead() -> None:
    lead = to_lead(_row(), LeadContext("google_ads", LA))
    assert (lead.first_name, lead.last_name) == ("John Ronald", "Doe")  # last word: the family name
    assert lead.phone == "+14155550134" and lead.email is None
    assert lead.created_at == datetime(2019, 1, 1, 20, 32, 45, tzinfo=UTC)
    assert lead.campaign_id is None and lead.is_organic is None


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"resourceName": None}, "resourceName"),
        ({"submissionDateTime": None}, "submissionDateTime"),
        ({"submissionDateTime": "2019-01-01 12:32:45"}, "submissionDateTime"),
        ({"submissionDateTime": "yesterday"}, "submissionDateTime"),
        ({"leadFormSubmissionFields": [{"fieldType": "EMAIL", "fieldValue": "nope"}]}, "email"),
    ],
    ids=["no-resource-name", "no-time", "time-without-offset", "garbage-time", "no-contact"],
)
def test_unusable_records_are_invalid_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        to_lead(_row(**changes), LeadContext("google_ads", LA))
    assert caught.value.field_name == field and caught.value.source == "google_ads"
