"""Classification: channel rules, scores, decay, sales decisions, forward-only stages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.models.people.classify import (
    LIFECYCLE_RANK,
    STAGE_RANK,
    LeadFacts,
    PersonFacts,
    PreviousState,
    SalesDecision,
    classify,
    detect_channel,
    transitions,
)
from leadflow.models.people.rules import default_rules, load_rules, rules_from_mapping
from leadflow.models.records.activity import EngagementEvent, SalesTouch
from leadflow.models.records.leads import Lead, Stage

RULES = default_rules()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=10)


def lead(**changes: object) -> LeadFacts:
    base = LeadFacts(source="csv", source_lead_id="1", created_at=T0, updated_at=T0)
    return replace(base, **changes)


def event(event_type: str, at: datetime, n: int = 0) -> EngagementEvent:
    return EngagementEvent(
        source="mailchimp",
        event_id=f"{event_type}-{at.isoformat()}-{n}",
        account_id="a",
        event_type=event_type,
        occurred_at=at,
    )


def person(*leads: LeadFacts, events=(), touches=(), previous=None, decisions=()) -> PersonFacts:
    return PersonFacts("p1", leads or (lead(),), events, touches, previous, decisions)


VP = {"job_title": "VP Marketing", "email_domain": "acme.com"}  # fit 20 + 10 = 30
# webinar 15 + form 10 + two clicks 6 = 31, all on one morning
ENGAGED = (("webinar_attended", 0), ("form_submission", 1), ("click", 2), ("click", 3))


def burst(start: datetime, spacing: timedelta = timedelta(hours=1)) -> list[EngagementEvent]:
    return [event(kind, start + i * spacing, i) for kind, i in ENGAGED]


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


# --- qualification -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("facts", "signal"),
    [
        pytest.param(
            person(lead(form_name="Request a demo")), "signal:demo_request", id="demo-form"
        ),
        pytest.param(
            person(lead(form_name="Contact Sales")), "signal:contact_sales", id="contact-sales-form"
        ),
        pytest.param(
            person(lead(form_name="Get a quote")), "signal:quote_request", id="quote-form"
        ),
        pytest.param(person(events=[event("reply", T0)]), "signal:email_reply", id="email-reply"),
        pytest.param(
            person(touches=[SalesTouch("hubspot", "m1", "1", "meeting", T0, T0)]),
            "signal:meeting_booked",
            id="meeting",
        ),
        pytest.param(
            person(lead(source_stage="marketingqualifiedlead")),
            "signal:platform_mql",
            id="hubspot-mql",
        ),
    ],
)
def test_hand_raisers_qualify(facts: PersonFacts, signal: str) -> None:
    result = classify(facts, RULES, NOW)
    assert (result.stage, result.lifecycle, result.qualified_at) == (Stage.QUALIFIED, "mql", T0)
    assert signal in result.reasons


def test_score_qualifies_at_the_event_that_crossed_the_threshold() -> None:
    events = burst(T0)
    result = classify(person(lead(**VP), events=events), RULES, NOW)
    assert result.lifecycle == "mql"
    assert result.qualified_at == events[-1].occurred_at
    assert "threshold:fit>=30,engagement>=30" in result.reasons


def test_fit_below_threshold_does_not_qualify() -> None:
    result = classify(person(lead(job_title="VP Sales"), events=burst(T0)), RULES, NOW)
    assert result.lifecycle == "lead"


def test_a_later_lead_with_fit_qualifies_at_its_creation() -> None:
    later = T0 + timedelta(hours=5)
    facts = person(
        lead(), lead(source_lead_id="2", created_at=later, updated_at=later, **VP), events=burst(T0)
    )
    assert classify(facts, RULES, NOW).qualified_at == later


def test_spacing_events_out_lets_decay_prevent_qualification() -> None:
    close = classify(person(lead(**VP), events=burst(T0)), RULES, NOW)
    spread = classify(
        person(lead(**VP), events=burst(T0, timedelta(days=10))), RULES, T0 + timedelta(days=40)
    )
    assert close.lifecycle == "mql"
    assert spread.lifecycle == "lead"


def test_decay_lowers_engagement_but_a_qualified_person_stays_qualified() -> None:
    facts = person(lead(**VP), events=burst(T0))
    early = classify(facts, RULES, T0 + timedelta(hours=4))
    late = classify(replace(facts, previous=early.previous_state), RULES, T0 + timedelta(days=120))
    assert early.engagement >= 30 > late.engagement
    assert (late.stage, late.lifecycle, late.qualified_at) == (
        Stage.QUALIFIED,
        "mql",
        early.qualified_at,
    )
    assert late.changed is False


def test_previous_stage_is_held_when_evidence_is_gone() -> None:
    previous = PreviousState(Stage.QUALIFIED, "mql", T0)
    result = classify(person(lead(source="meta"), previous=previous), RULES, NOW)
    assert (result.stage, result.lifecycle, result.qualified_at) == (Stage.QUALIFIED, "mql", T0)
    assert "stage:held:mql" in result.reasons


# --- sales decisions -----------------------------------------------------------------------
LATER = T0 + timedelta(days=2)


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        pytest.param(
            lead(source="hubspot", source_stage="salesqualifiedlead", updated_at=LATER),
            "sales:accepted:lifecyclestage=salesqualifiedlead",
            id="hs-sql",
        ),
        pytest.param(
            lead(source="hubspot", source_stage="opportunity", updated_at=LATER),
            "sales:accepted:lifecyclestage=opportunity",
            id="hs-opportunity",
        ),
        pytest.param(
            lead(source="hubspot", lead_status="IN_PROGRESS", updated_at=LATER),
            "sales:accepted:hs_lead_status=IN_PROGRESS",
            id="hs-in-progress",
        ),
    ],
)
def test_sales_acceptance_is_sql(facts: LeadFacts, reason: str) -> None:
    result = classify(person(facts), RULES, NOW)
    assert (result.stage, result.lifecycle, result.lifecycle_at) == (Stage.QUALIFIED, "sql", LATER)
    assert reason in result.reasons
    assert result.raw_stage == (f"hubspot:{facts.source_stage}" if facts.source_stage else None)


def test_accept_event_after_mql_keeps_the_qualification_time() -> None:
    facts = person(lead(form_name="demo"), decisions=[SalesDecision(LATER, True, "accept_event")])
    result = classify(facts, RULES, NOW)
    assert (result.lifecycle, result.qualified_at, result.lifecycle_at) == ("sql", T0, LATER)
    rows = transitions(None, result, NOW)
    assert [(r.to_lifecycle, r.at) for r in rows] == [("mql", T0), ("sql", LATER)]


def test_rejection_recycles_to_nurture_with_the_reason() -> None:
    rejected = lead(
        source="hubspot",
        form_name="demo",
        lead_status="UNQUALIFIED",
        source_stage="salesqualifiedlead",
        updated_at=LATER,
    )
    previous = PreviousState(Stage.QUALIFIED, "sql", T0)
    result = classify(person(rejected, previous=previous), RULES, NOW)
    assert (result.stage, result.lifecycle, result.qualified_at) == (Stage.WARM, "nurture", None)
    assert result.rejection == "hs_lead_status=UNQUALIFIED"
    assert "sales:rejected:hs_lead_status=UNQUALIFIED" in result.reasons
    assert [(r.to_lifecycle, r.at) for r in transitions(previous, result, NOW)] == [
        ("nurture", LATER)
    ]


def test_new_hand_raise_after_a_rejection_requalifies() -> None:
    rejected = lead(source="hubspot", form_name="demo", lead_status="UNQUALIFIED", updated_at=LATER)
    reply = event("reply", LATER + timedelta(days=1))
    result = classify(person(rejected, events=[reply]), RULES, NOW)
    assert (result.lifecycle, result.qualified_at) == ("mql", reply.occurred_at)


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


# --- rules loading -------------------------------------------------------------------------
def test_rules_load_from_yaml(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    data = RULES.model_dump(mode="json")
    data["thresholds"]["fit"] = 5
    path.write_text(yaml.safe_dump(data))
    assert load_rules(path).thresholds.fit == 5
    assert load_rules() is RULES


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: d["thresholds"].update(typo=1), id="unknown-key"),
        pytest.param(
            lambda d: d["channels"]["rules"].append({"channel": "x", "utm_medium": "("}),
            id="bad-regex",
        ),
        pytest.param(
            lambda d: d["channels"]["rules"].append({"channel": "x"}), id="rule-without-condition"
        ),
        pytest.param(lambda d: d["engagement"].update(half_life_days=0), id="zero-half-life"),
    ],
)
def test_invalid_rules_fail_at_load(mutate) -> None:
    data = RULES.model_dump(mode="json")
    mutate(data)
    with pytest.raises(ValueError):
        rules_from_mapping(data)


# --- properties ----------------------------------------------------------------------------
POSITIVE = ["open", "click", "form_submission", "webinar_attended", "reply"]
moments = st.integers(0, 60 * 24 * 90).map(lambda m: T0 + timedelta(minutes=m))
events_st = st.lists(
    st.builds(
        lambda k, at, n: event(k, at, n),
        st.sampled_from([*POSITIVE, "unsubscribe", "bounce"]),
        moments,
        st.integers(0, 3),
    ),
    max_size=12,
)
positive_events = st.lists(
    st.builds(
        lambda k, at, n: event(k, at, n), st.sampled_from(POSITIVE), moments, st.integers(0, 3)
    ),
    max_size=12,
)
leads_st = st.lists(
    st.builds(
        lambda i, at, src, medium, title, status, stage: lead(
            source_lead_id=str(i),
            created_at=at,
            updated_at=at,
            source=src,
            utm_medium=medium,
            job_title=title,
            email_domain="acme.com",
            lead_status=status,
            source_stage=stage,
        ),
        st.integers(0, 5),
        moments,
        st.sampled_from(["meta", "mailchimp", "hubspot"]),
        st.sampled_from([None, "cpc", "email"]),
        st.sampled_from([None, "VP Sales", "CEO"]),
        st.sampled_from([None, "UNQUALIFIED", "IN_PROGRESS"]),
        st.sampled_from([None, "salesqualifiedlead"]),
    ),
    min_size=1,
    max_size=3,
)
previous_st = st.one_of(
    st.none(),
    st.builds(
        PreviousState,
        st.sampled_from(list(Stage)),
        st.sampled_from(list(LIFECYCLE_RANK)),
        st.one_of(st.none(), moments),
    ),
)
now_st = moments.map(lambda m: m + timedelta(days=30))


def rank(c) -> tuple[int, int]:
    return LIFECYCLE_RANK[c.lifecycle], STAGE_RANK[c.stage]


@settings(max_examples=150, deadline=None)
@given(leads_st, events_st, previous_st, now_st)
def test_classify_is_deterministic_and_always_explained(leads, events, previous, now) -> None:
    facts = PersonFacts("p", leads, events, (), previous)
    first = classify(facts, RULES, now)
    assert first == classify(replace(facts, leads=leads[::-1], events=events[::-1]), RULES, now)
    assert first.reasons
    assert any(r.startswith("channel:") for r in first.reasons)


@settings(max_examples=150, deadline=None)
@given(leads_st, positive_events, st.sampled_from(POSITIVE), moments, now_st)
def test_adding_an_engagement_event_never_lowers_the_stage(leads, events, kind, at, now) -> None:
    before = classify(PersonFacts("p", leads, events), RULES, now)
    after = classify(PersonFacts("p", leads, [*events, event(kind, at, 99)]), RULES, now)
    assert rank(after) >= rank(before) or after.lifecycle == before.lifecycle == "nurture"
    if before.qualified_at and after.lifecycle in ("mql", "sql"):
        assert after.qualified_at <= before.qualified_at


@settings(max_examples=150, deadline=None)
@given(leads_st, events_st, previous_st, now_st)
def test_stages_never_move_backwards_without_a_rejection(leads, events, previous, now) -> None:
    result = classify(PersonFacts("p", leads, events, (), previous), RULES, now)
    if previous and rank(result) < (LIFECYCLE_RANK[previous.lifecycle], STAGE_RANK[previous.stage]):
        assert result.lifecycle == "nurture"
        assert result.rejection
        assert any(r.startswith("sales:rejected:") for r in result.reasons)


@settings(max_examples=150, deadline=None)
@given(positive_events, now_st)
def test_qualified_at_is_the_exact_event_that_crossed(events, now) -> None:
    facts = PersonFacts("p", [lead(**VP)], [e for e in events if e.event_type != "reply"])
    result = classify(facts, RULES, now)
    if result.qualified_at is None:
        assert result.lifecycle == "lead"
        return
    crossing = result.qualified_at
    assert crossing in {e.occurred_at for e in facts.events}
    at_crossing = classify(facts, RULES, crossing)
    just_before = classify(facts, RULES, crossing - timedelta(microseconds=1))
    assert at_crossing.engagement >= 30 - 0.001
    assert just_before.qualified_at is None
