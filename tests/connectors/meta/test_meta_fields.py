"""The Meta Lead Ads connector's mapping (``to_lead``), its configuration, and the throttle
estimate read from Meta's usage headers: no HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.meta.config import MetaConfig
from leadflow.connectors.meta.connector import spend_accounts
from leadflow.connectors.meta.fields import to_lead
from leadflow.connectors.meta.graph import throttle_wait
from leadflow.models.records.leads import InvalidRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "meta"
CONTEXT = LeadContext("meta", "page-1", "US")


def recorded(name: str = "form_leads_page.json") -> list[dict]:
    return json.loads((FIXTURES / name).read_text())["data"]


# -- to_lead ------------------------------------------------------------------------------------
def test_paid_lead_maps_ids_contact_names_utm_consent_and_custom_questions():
    lead = to_lead(recorded()[0], CONTEXT)
    assert (lead.source, lead.source_lead_id, lead.account_id) == (
        "meta",
        "1234567890123456",
        "page-1",
    )
    assert lead.created_at == lead.updated_at == datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC)
    assert (lead.email, lead.email_match_key) == (
        "ada.lovelace@example.com",
        "ada.lovelace@example.com",
    )
    assert lead.phone == "+14155550132"  # national format, parsed with the form's country
    assert (lead.first_name, lead.last_name) == ("Ada", "Lovelace")  # split from Full_Name
    assert (lead.company, lead.job_title, lead.country) == (
        "Analytical Engines Ltd",
        "Head of Marketing Ops",
        "US",
    )
    assert (lead.campaign_id, lead.adset_id, lead.ad_id) == (
        "120210000000000003",
        "120210000000000002",
        "120210000000000001",
    )
    assert (lead.form_id, lead.campaign_name) == ("2345678901234567", "Q4 Lead Gen - Contact Sales")
    assert (lead.utm_source, lead.utm_campaign, lead.utm_medium) == (
        "facebook",
        "q4_contact_sales",
        None,
    )
    assert lead.is_organic is False and lead.is_test is False
    assert lead.consent == {"optional_1": True, "optional_2": False}
    assert lead.custom_fields == {"what_is_your_budget?": "$5k_-_$25k"}
    assert lead.raw == recorded()[0]


def test_organic_lead_without_phone_or_ad_ids_is_kept():
    lead = to_lead(recorded()[1], CONTEXT)
    assert lead.is_organic is True
    assert (lead.campaign_id, lead.adset_id, lead.ad_id, lead.campaign_name) == (
        None,
        None,
        None,
        None,
    )
    assert (lead.email, lead.phone) == ("grace@example.org", None)
    assert (lead.first_name, lead.last_name) == ("Grace", "Hopper")
    assert lead.custom_fields == {}


def test_test_tool_lead_is_flagged_and_its_dummy_answers_ignored():
    lead = to_lead(recorded()[2], CONTEXT)
    assert lead.is_test is True
    assert (lead.email, lead.phone, lead.first_name) == ("test@fb.com", None, None)
    assert lead.custom_fields == {}


@pytest.mark.parametrize(
    ("created_time", "expected"),
    [
        pytest.param(
            "2026-11-20T14:50:56+0000",
            datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC),
            id="plus-0000",
        ),
        pytest.param(
            "2026-11-20T06:50:56-0800",
            datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC),
            id="minus-0800",
        ),
        pytest.param(
            "2026-11-21T00:20:56+0930",
            datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC),
            id="plus-0930",
        ),
    ],
)
def test_created_time_offsets_without_colon_become_utc(created_time, expected):
    lead = to_lead({**recorded()[1], "created_time": created_time}, CONTEXT)
    assert lead.created_at == expected
    assert lead.created_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "name",
    ["email", "EMAIL", "Email", " e-mail ", "Email Address"],
    ids=lambda n: n.strip() or "blank",
)
def test_standard_question_names_match_case_insensitively(name):
    record = {"id": "1", "created_time": "2026-11-20T14:50:56+0000",
              "field_data": [{"name": name, "values": ["Someone@Example.com"]}]}  # fmt: skip
    assert to_lead(record, CONTEXT).email == "someone@example.com"


def test_work_email_and_phone_are_used_when_the_personal_ones_are_missing():
    record = {"id": "1", "created_time": "2026-11-20T14:50:56+0000", "field_data": [
        {"name": "WORK_EMAIL", "values": ["x@corp.example"]},
        {"name": "work_phone_number", "values": ["+44 20 7946 0958"]},
    ]}  # fmt: skip
    lead = to_lead(record, CONTEXT)
    assert (lead.email, lead.phone) == ("x@corp.example", "+442079460958")


def test_unmapped_standard_answers_and_multi_values_go_to_custom_fields():
    record = {"id": "1", "created_time": "2026-11-20T14:50:56+0000", "field_data": [
        {"name": "email", "values": ["a@example.com"]},
        {"name": "zip_code", "values": ["94107"]},
        {"name": "State", "values": ["CA"]},
        {"name": "which_products?", "values": ["crm", "ads"]},
        {"name": "empty_answer", "values": [""]},
    ]}  # fmt: skip
    assert to_lead(record, CONTEXT).custom_fields == {
        "zip_code": "94107", "State": "CA", "which_products?": ["crm", "ads"]}  # fmt: skip


def test_bad_phone_with_good_email_is_kept_and_reported():
    record = {"id": "1", "created_time": "2026-11-20T14:50:56+0000", "field_data": [
        {"name": "email", "values": ["a@example.com"]}, {"name": "phone_number", "values": ["12"]}]}  # fmt: skip
    lead = to_lead(record, CONTEXT)
    assert lead.phone is None
    assert "phone" in lead.custom_fields["_invalid"]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        pytest.param(
            {"created_time": "2026-11-20T14:50:56+0000", "field_data": []}, "id", id="no-id"
        ),
        pytest.param({"id": "", "created_time": "2026-11-20T14:50:56+0000"}, "id", id="empty-id"),
        pytest.param(
            {"id": "7", "field_data": [{"name": "email", "values": ["a@b.co"]}]},
            "created_time",
            id="no-time",
        ),
        pytest.param(
            {"id": "7", "created_time": "2026-11-20 14:50:56"}, "created_time", id="naive-time"
        ),
        pytest.param(
            {
                "id": "7",
                "created_time": "2026-11-20T14:50:56+0000",
                "field_data": [{"name": "email", "values": ["not-an-email"]}],
            },
            "field_data",
            id="no-contact",
        ),
    ],
)
def test_unusable_records_raise_invalid_record_naming_the_field(record, field):
    with pytest.raises(InvalidRecord) as caught:
        to_lead(record, CONTEXT)
    assert caught.value.field_name == field
    assert caught.value.source == "meta"


# -- config and throttle headers ----------------------------------------------------------------
def test_ad_account_ids_are_normalized_without_the_act_prefix():
    config = MetaConfig(access_token="t" * 12, page_ids=["1"], ad_account_ids=["act_123", "456"])
    assert spend_accounts(config) == ["123", "456"]
    assert config.base_url == "https://graph.facebook.com"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        pytest.param(
            {
                "X-Business-Use-Case-Usage": '{"111":[{"type":"leadgen","call_count":101,"estimated_time_to_regain_access":3}],"222":[{"type":"pages","estimated_time_to_regain_access":7}]}'
            },
            420.0,
            id="largest-buc-minutes",
        ),
        pytest.param(
            {
                "X-Business-Use-Case-Usage": '{"111":[{"type":"leadgen","estimated_time_to_regain_access":0}]}',
                "X-Ad-Account-Usage": '{"acc_id_util_pct":100,"reset_time_duration":90}',
            },
            90.0,
            id="ad-account-reset",
        ),
        pytest.param({"X-App-Usage": '{"call_count":100}'}, None, id="no-estimate"),
        pytest.param({"X-Business-Use-Case-Usage": "not json"}, None, id="garbage"),
    ],
)
def test_throttle_wait_reads_the_usage_headers(headers, seconds):
    assert throttle_wait(headers) == seconds
