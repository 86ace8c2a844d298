"""Classification's evidence: channel rules, fit points and engagement with its decay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadflow.models.people.classify import classify, detect_channel
from leadflow.models.people.facts import LeadFacts
from leadflow.models.records.leads import Lead, Stage
from tests.models.people.classify_facts import LATER, NOW, RULES, T0, VP, burst, event, lead, person


# --- channels ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("facts", "channel", "stage"),
    [
        pytest.param(lead(source="meta"), "paid_social", Stage.COLD, id="meta-form-paid-social"),
        pytest.param(
            lead(source="meta", is_organic=True), "organic", Stage.COLD, id="meta-organic"
        ),
        pytest.param(lead(source="linkedin"), "paid_social", Stage.COLD, id="linkedin-form"),
        pytest.param(lead(source="google_ads"), "paid_search", Stage.COLD, id="google-lead-form"),
        pytest.param(lead(utm_medium="cpc"), "paid_search", Stage.COLD, id="utm-cpc"),
        pytest.param(lead(utm_medium="display"), "display", Stage.COLD, id="utm-display"),
        pytest.param(
            lead(utm_medium="direct_mail"), "direct_mail", Stage.COLD, id="utm-direct-mail"
        ),
        pytest.param(lead(utm_medium="radio"), "traditional", Stage.COLD, id="utm-radio"),
        pytest.param(
            lead(utm_medium="sales-letter"), "sales_letter", Stage.WARM, id="utm-sales-letter"
        ),
        pytest.param(lead(utm_medium="email"), "email_invite", Stage.WARM, id="utm-email"),
        pytest.param(lead(utm_medium="referral"), "referral", Stage.WARM, id="utm-referral"),
        pytest.param(
            lead(form_name="Free training: Q3"), "webinar", Stage.WARM, id="form-free-training"
        ),
        pytest.param(lead(source="mailchimp"), "email_invite", Stage.WARM, id="mailchimp-member"),
        pytest.param(
            lead(source="hubspot", analytics_source="PAID_SOCIAL"),
            "paid_social",
            Stage.COLD,
            id="hs-paid-social",
        ),
        pytest.param(
            lead(source="hubspot", analytics_source="EMAIL_MARKETING"),
            "email_invite",
            Stage.WARM,
            id="hs-email",
        ),
        pytest.param(
            lead(source="meta", utm_medium="email"),
            "email_invite",
            Stage.WARM,
            id="utm-beats-platform",
        ),
        pytest.param(lead(source="csv"), "unknown", Stage.COLD, id="unknown-is-cold"),
    ],
)
def test_channel_rules(facts: LeadFacts, channel: str, stage: Stage) -> None:
    assert detect_channel(facts, RULES) == channel
    result = classify(person(facts), RULES, NOW)
    assert (result.stage, result.lifecycle) == (stage, "lead")
    assert f"channel:{channel}" in result.reasons


def test_any_warm_lead_makes_the_person_warm() -> None:
    result = classify(
        person(lead(source="meta"), lead(source="mailchimp", source_lead_id="2")), RULES, NOW
    )
    assert result.stage is Stage.WARM
    assert result.channels == ("email_invite", "paid_social")


def test_warm_with_engagement_is_engaged() -> None:
    result = classify(person(lead(source="mailchimp"), events=[event("click", T0)]), RULES, NOW)
    assert (result.stage, result.lifecycle) == (Stage.WARM, "engaged")


# --- fit -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("facts", "fit", "reason"),
    [
        pytest.param(
            lead(job_title="Chief Revenue Officer"), 25, "fit:title_c_level+25", id="chief"
        ),
        pytest.param(lead(job_title="VP Sales"), 20, "fit:title_vp+20", id="vp"),
        pytest.param(lead(job_title="Head of Growth"), 15, "fit:title_director+15", id="head-of"),
        pytest.param(lead(job_title="Marketing Manager"), 10, "fit:title_manager+10", id="manager"),
        pytest.param(
            lead(job_title="MBA student"), -20, "fit:title_student-20", id="student-negative"
        ),
        pytest.param(lead(company_size=5000), 15, "fit:size_1000+15", id="size-1000"),
        pytest.param(lead(company_size=250), 10, "fit:size_200+10", id="size-200"),
        pytest.param(lead(company_size=10), 0, None, id="size-small"),
        pytest.param(lead(country="de"), 10, "fit:country_target+10", id="country-code"),
        pytest.param(lead(country="Brazil"), 0, None, id="country-other"),
        pytest.param(
            lead(email_domain="acme.com"), 10, "fit:business_email+10", id="business-email"
        ),
        pytest.param(lead(email_domain="Gmail.com"), -10, "fit:free_email-10", id="free-email"),
    ],
)
def test_fit_points(facts: LeadFacts, fit: int, reason: str | None) -> None:
    result = classify(person(facts), RULES, NOW)
    assert result.fit == fit
    if reason:
        assert reason in result.reasons


def test_fit_is_the_best_lead() -> None:
    result = classify(person(lead(job_title="intern"), lead(source_lead_id="2", **VP)), RULES, NOW)
    assert result.fit == 30


# --- engagement ----------------------------------------------------------------------------
def test_engagement_points_and_reasons() -> None:
    result = classify(person(events=[event("webinar_attended", NOW)]), RULES, NOW)
    assert result.engagement == 15
    assert "engagement:webinar_attended+15" in result.reasons


def test_engagement_halves_every_half_life() -> None:
    result = classify(
        person(events=[event("webinar_attended", T0)]), RULES, T0 + timedelta(days=30)
    )
    assert result.engagement == pytest.approx(7.5)


def test_daily_cap_counts_only_the_latest_events_of_a_type() -> None:
    opens = [event("open", T0 + timedelta(minutes=i), i) for i in range(10)]
    result = classify(person(events=opens), RULES, T0 + timedelta(hours=1))
    assert result.engagement == pytest.approx(3, abs=0.01)


def test_unsubscribe_lowers_engagement() -> None:
    events = [event("webinar_attended", T0), event("unsubscribe", T0)]
    assert classify(person(events=events), RULES, T0).engagement == 5


def test_events_after_now_are_ignored() -> None:
    result = classify(person(lead(**VP), events=burst(NOW + timedelta(hours=1))), RULES, NOW)
    assert (result.engagement, result.qualified_at) == (0, None)


def test_from_lead_reads_platform_fields() -> None:
    raw = Lead(
        source="hubspot",
        source_lead_id="9",
        account_id="a",
        created_at=T0,
        updated_at=LATER,
        email="Ann@Acme.com",
        job_title="CEO",
        source_stage="lead",
        custom_fields={
            "hs_lead_status": "NEW",
            "hs_analytics_source": "PAID_SEARCH",
            "numberofemployees": "1,200",
        },
        raw={"form": {"name": "Pricing"}},
    )
    facts = LeadFacts.from_lead(raw)
    assert (facts.lead_status, facts.analytics_source, facts.company_size) == (
        "NEW",
        "PAID_SEARCH",
        1200,
    )
    assert (facts.form_name, facts.email_domain) == ("Pricing", "Acme.com")
    assert detect_channel(facts, RULES) == "paid_search"
