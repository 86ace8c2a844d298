"""Qualification (hand raisers, score thresholds), sales decisions and forward-only stages."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from leadflow.models.people.classify import classify
from leadflow.models.people.facts import LeadFacts, PersonFacts, PreviousState, SalesDecision
from leadflow.models.people.transitions import transitions
from leadflow.models.records.activity import SalesTouch
from leadflow.models.records.leads import Stage
from tests.models.people.classify_facts import LATER, NOW, RULES, T0, VP, burst, event, lead, person


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


def test_a_stored_stage_without_facts_behind_it_is_not_kept() -> None:
    """A person split from the one who qualified keeps only its own leads' facts."""
    previous = PreviousState(Stage.QUALIFIED, "mql", T0)
    result = classify(person(lead(source="meta"), previous=previous), RULES, NOW)
    assert (result.stage, result.lifecycle, result.qualified_at) == (Stage.COLD, "lead", None)
    assert result.changed and not any(r.startswith("stage:held") for r in result.reasons)


# --- sales decisions -----------------------------------------------------------------------
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


# --- milestones: what the SLA evaluates ----------------------------------------------------
def kinds(result) -> list[tuple[str, object]]:
    return [(m.kind, m.at) for m in result.milestones]


def test_milestones_list_every_qualification_and_decision_in_time_order() -> None:
    facts = person(
        lead(form_name="demo"),
        events=[event("reply", LATER + timedelta(days=2))],
        decisions=[
            SalesDecision(LATER, False, "bad_timing"),
            SalesDecision(LATER + timedelta(days=3), True, "accept_event"),
        ],
    )
    result = classify(facts, RULES, NOW)
    assert kinds(result) == [
        ("mql", T0),  # the demo form
        ("rejected", LATER),
        ("mql", LATER + timedelta(days=2)),  # the reply after the rejection
        ("sql", LATER + timedelta(days=3)),
    ]
    assert (result.lifecycle, result.qualified_at) == ("sql", T0)


def test_an_acceptance_without_a_signal_is_the_qualification() -> None:
    facts = person(lead(), decisions=[SalesDecision(LATER, True, "accept_event")])
    assert kinds(classify(facts, RULES, NOW)) == [("mql", LATER), ("sql", LATER)]


def test_a_rejection_with_nothing_after_it_ends_the_episode() -> None:
    facts = person(lead(form_name="demo"), decisions=[SalesDecision(LATER, False, "x")])
    result = classify(facts, RULES, NOW)
    assert kinds(result) == [("mql", T0), ("rejected", LATER)]
    assert (result.lifecycle, result.qualified_at) == ("nurture", None)


def test_milestones_ignore_what_happens_after_now() -> None:
    facts = person(lead(form_name="demo"), decisions=[SalesDecision(NOW + timedelta(days=1), False, "x")])  # fmt: skip
    assert kinds(classify(facts, RULES, NOW)) == [("mql", T0)]
