"""Properties of classification over generated facts: deterministic, explained, monotonic."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.models.people.classify import LIFECYCLE_RANK, STAGE_RANK, classify
from leadflow.models.people.facts import PersonFacts, PreviousState
from leadflow.models.records.leads import Stage
from tests.models.people.classify_facts import RULES, T0, VP, event, lead

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
def test_the_previous_classification_never_changes_the_answer(leads, events, previous, now) -> None:
    """Stages come from the facts alone: what an earlier run stored does not matter."""
    held = classify(PersonFacts("p", leads, events, (), previous), RULES, now)
    fresh = classify(PersonFacts("p", leads, events, (), None), RULES, now)
    assert replace(held, changed=True) == replace(fresh, changed=True)


@settings(max_examples=150, deadline=None)
@given(leads_st, events_st, now_st, st.integers(0, 400))
def test_stages_never_move_backwards_with_time_without_a_rejection(
    leads, events, now, days
) -> None:
    """The same facts seen later never give a lower stage: engagement decays, but being
    qualified or engaged is a dated fact that stays true; only a rejection moves back."""
    before = classify(PersonFacts("p", leads, events), RULES, now)
    after = classify(PersonFacts("p", leads, events), RULES, now + timedelta(days=days))
    if rank(after) < rank(before):
        assert after.lifecycle == "nurture"
        assert after.rejection
        assert any(r.startswith("sales:rejected:") for r in after.reasons)


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
