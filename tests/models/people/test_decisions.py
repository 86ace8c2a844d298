"""Sales decisions from CRM status history and current values (models/people/decisions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadflow.models.people.classify import classify
from leadflow.models.people.decisions import sales_decisions
from leadflow.models.people.facts import LeadFacts
from leadflow.models.people.rules import SalesRules, rules_from_mapping
from leadflow.models.records.activity import StatusChange
from leadflow.models.records.leads import Lead
from tests.models.people.classify_facts import NOW, RULES, T0, lead, person

SF = {"source": "salesforce", "source_lead_id": "00Q1", "owner_id": "005OWNER"}


def change(
    new: str | None,
    at: datetime,
    *,
    old: str | None = None,
    field: str = "Status",
    lead_id: str = "00Q1",
    by: str | None = "005REP",
    n: int = 0,
) -> StatusChange:
    return StatusChange(
        "salesforce", f"017{n}", lead_id, field, at, at, new, old, by, None, {"Id": f"017{n}"}
    )


def test_a_recorded_change_is_a_decision_at_its_own_time() -> None:
    accepted_at = T0 + timedelta(hours=3)
    facts = person(
        lead(**SF, updated_at=T0 + timedelta(days=5), lead_status="Working - Contacted"),
        status_changes=[change("Working - Contacted", accepted_at, old="Open - Not Contacted")],
    )
    result = classify(facts, RULES, NOW)
    assert result.lifecycle == "sql"
    assert [(d.at, d.kind, d.rep_id, d.basis) for d in result.decisions] == [
        (accepted_at, "accepted", "005REP", "history")
    ]  # the current value of a field with history is not a second decision
    assert [(m.kind, m.at) for m in result.milestones if m.kind == "sql"] == [("sql", accepted_at)]


def test_without_history_the_current_value_counts_at_the_last_update() -> None:
    updated = T0 + timedelta(days=1)
    facts = person(lead(**SF, updated_at=updated, lead_status="Closed - Not Converted"))
    result = classify(facts, RULES, NOW)
    assert [(d.at, d.kind, d.rep_id, d.basis) for d in result.decisions] == [
        (updated, "rejected", "005OWNER", "current")
    ]
    assert result.lifecycle == "nurture"
    assert result.rejection == "Status=Closed - Not Converted"


def test_the_value_before_the_first_change_counts_from_creation() -> None:
    converted_at = T0 + timedelta(days=2)
    found = sales_decisions(
        [lead(**SF)],
        [change("Closed - Converted", converted_at, old="Working - Contacted")],
        RULES,
        NOW,
    )
    assert [(d.at, d.kind) for d in found] == [(T0, "accepted"), (converted_at, "converted")]


def test_a_rejection_then_a_reopening_then_an_acceptance() -> None:
    times = [T0 + timedelta(days=d) for d in (1, 2, 3)]
    changes = [
        change("Closed - Not Converted", times[0], old="Open - Not Contacted", n=1),
        change("Open - Not Contacted", times[1], old="Closed - Not Converted", n=2),
        change("Working - Contacted", times[2], old="Open - Not Contacted", n=3),
    ]
    result = classify(person(lead(**SF), status_changes=changes), RULES, NOW)
    assert [(d.at, d.kind) for d in result.decisions] == [
        (times[0], "rejected"),
        (times[2], "accepted"),
    ]
    assert result.lifecycle == "sql"
    # The acceptance after the rejection qualifies again: a new SLA clock at times[2].
    assert result.qualified_at == times[2]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        pytest.param([change("Working - Contacted", NOW + timedelta(hours=1))], "future", id="future"),
        pytest.param([change("Working - Contacted", T0, lead_id="00Qother")], "other lead", id="other"),
        pytest.param([change("Open - Not Contacted", T0)], "an open status", id="open"),
    ],
)  # fmt: skip
def test_changes_that_decide_nothing(changes: list[StatusChange], why: str) -> None:
    assert sales_decisions([lead(**SF)], changes, RULES, NOW) == [], why


def test_conversion_is_a_converted_decision() -> None:
    converted_at = T0 + timedelta(days=3)
    found = sales_decisions(
        [lead(**SF)], [change("true", converted_at, old="false", field="IsConverted")], RULES, NOW
    )
    assert [(d.at, d.kind, d.accepted, d.field) for d in found] == [
        (converted_at, "converted", True, "IsConverted")
    ]


def test_a_custom_status_maps_through_the_rules() -> None:
    data = RULES.model_dump(mode="json")
    data["sales"]["decision_statuses"]["status"]["Recycled"] = "recycled"  # keys stored lower
    rules = rules_from_mapping(data)
    facts = person(lead(**SF), status_changes=[change("Recycled", T0 + timedelta(days=1))])
    result = classify(facts, rules, NOW)
    assert [d.kind for d in result.decisions] == ["recycled"]
    assert result.lifecycle == "nurture"
    assert classify(facts, RULES, NOW).decisions == ()  # not a decision by default


def test_hubspot_shorthands_still_decide_and_the_map_wins() -> None:
    sales = SalesRules(
        accepted_lead_statuses=["CONNECTED"],
        rejected_lead_statuses=["UNQUALIFIED", "BAD_TIMING"],
        decision_statuses={"hs_lead_status": {"BAD_TIMING": "recycled"}},
    )
    assert sales.decision_for("hs_lead_status", "connected") == "accepted"
    assert sales.decision_for("HS_LEAD_STATUS", "Unqualified") == "rejected"
    assert sales.decision_for("hs_lead_status", "BAD_TIMING") == "recycled"
    assert sales.decision_for("hs_lead_status", None) is None


def test_a_status_field_on_an_ad_platform_lead_is_not_a_crm_status() -> None:
    moment = datetime(2026, 3, 2, tzinfo=UTC)
    form_answer = Lead(
        source="meta",
        source_lead_id="m1",
        account_id="a",
        created_at=moment,
        updated_at=moment,
        custom_fields={"Status": "Closed - Converted"},
    )
    assert LeadFacts.from_lead(form_answer).lead_status is None
    crm = Lead(
        source="salesforce",
        source_lead_id="00Q1",
        account_id="org",
        created_at=moment,
        updated_at=moment,
        custom_fields={"Status": "Closed - Converted"},
    )
    assert LeadFacts.from_lead(crm).lead_status == "Closed - Converted"
