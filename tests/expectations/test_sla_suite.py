"""The SLA suite on SQLite and PostgreSQL: each rule passes on compliant data, fails on breaches."""

from __future__ import annotations

import pytest

from leadflow.expectations.runner import SlaRuleCheck

PERSON_RULES = ["first_touch", "touch_attempts", "accept_reject", "icp_fit", "sales_acceptance"]


def rule(name: str, target: float = 1.0, severity: str = "critical") -> SlaRuleCheck:
    return SlaRuleCheck(name, f"plain words for {name}", severity, target)


@pytest.mark.parametrize("name", PERSON_RULES)
def test_rule_passes_on_compliant_data(warehouse, name):
    warehouse.evaluations(name, {"p1": "met", "p2": "met", "p3": "pending"})

    [outcome] = warehouse.check(rule(name)).rules

    assert outcome.success
    assert (outcome.evaluated, outcome.breached, outcome.unexpected_ids) == (2, 0, [])
    assert outcome.percentage == 100.0
    assert outcome.description == f"plain words for {name}"


@pytest.mark.parametrize("name", PERSON_RULES)
def test_rule_fails_naming_exactly_the_breached_people(warehouse, name):
    warehouse.evaluations(name, {"p1": "met", "p2": "breached", "p3": "pending", "p4": "breached"})
    # Another rule's breach is not this rule's.
    other = next(r for r in PERSON_RULES if r != name)
    warehouse.evaluations(other, {"p5": "breached"})

    report = warehouse.check(rule(name))

    [outcome] = report.rules
    assert not outcome.success
    assert (outcome.evaluated, outcome.breached) == (3, 2)
    assert outcome.unexpected_ids == ["p2", "p4"]
    assert outcome.percentage == pytest.approx(100 / 3)
    assert report.failed() == [name]


def test_pending_rows_never_count_as_breaches(warehouse):
    warehouse.evaluations("first_touch", {f"p{i}": "pending" for i in range(5)})

    [outcome] = warehouse.check(rule("first_touch")).rules

    assert outcome.success
    assert (outcome.evaluated, outcome.breached, outcome.percentage) == (0, 0, None)


@pytest.mark.parametrize(
    ("target", "passes"),
    [pytest.param(0.9, True, id="0.9-passes"), pytest.param(0.95, False, id="0.95-fails")],
)
def test_target_below_one_allows_that_share_of_breaches(warehouse, target, passes):
    statuses = {f"p{i}": "met" for i in range(9)} | {"p9": "breached", "p10": "pending"}
    warehouse.evaluations("sales_acceptance", statuses)

    [outcome] = warehouse.check(rule("sales_acceptance", target)).rules

    assert outcome.success is passes
    assert (outcome.evaluated, outcome.breached, outcome.unexpected_ids) == (10, 1, ["p9"])
    assert outcome.percentage == pytest.approx(90.0)


def test_only_evaluations_of_the_checked_periods_count(warehouse):
    warehouse.evaluations("first_touch", {"nov": "breached"}, month="2026-11", week="2026-W48")
    warehouse.evaluations("first_touch", {"oct": "breached"}, month="2026-10", week="2026-W44")
    warehouse.evaluations("first_touch", {"dec": "met"}, month="2026-12", week="2026-W49")

    by_month = warehouse.check(rule("first_touch"), periods=["2026-11"]).rules[0]
    by_week = warehouse.check(rule("first_touch"), periods=["2026-W44"]).rules[0]
    mixed = warehouse.check(rule("first_touch"), periods=["2026-W44", "2026-12"]).rules[0]
    december = warehouse.check(rule("first_touch"), periods=["2026-12"]).rules[0]

    assert (by_month.unexpected_ids, by_month.evaluated) == (["nov"], 1)
    assert (by_week.unexpected_ids, by_week.evaluated) == (["oct"], 1)
    assert (mixed.unexpected_ids, mixed.evaluated) == (["oct"], 2)
    assert december.success


def test_a_person_breached_twice_is_named_once(warehouse):
    warehouse.evaluations("first_touch", {"p1": "breached"})
    warehouse.evaluations("first_touch", {"p1": "breached"})  # qualified again, later

    [outcome] = warehouse.check(rule("first_touch")).rules

    assert (outcome.breached, outcome.unexpected_ids) == (2, ["p1"])


def test_qualified_volume_fails_on_failed_groups_of_the_run_and_periods(warehouse):
    warehouse.volume("2026-11", {"overall": "failed", "team:east": "passed", "team:west": "failed"})
    warehouse.volume("2026-W48", {"overall": "pending"})
    warehouse.volume("2026-10", {"team:north": "failed"})  # another period
    warehouse.volume("2026-11", {"team:south": "failed"}, run_id="older-run")

    [outcome] = warehouse.check(
        rule("qualified_volume", target=0.1, severity="warning"),
        periods=["2026-11", "2026-W48"],
    ).rules

    assert not outcome.success  # the target share does not apply: any failed group fails
    assert (outcome.evaluated, outcome.breached) == (3, 2)
    assert outcome.unexpected_ids == ["overall", "team:west"]


def test_a_quote_in_the_run_id_is_a_value_not_sql(warehouse):
    warehouse.volume("2026-11", {"overall": "failed"}, run_id="run'1")

    [outcome] = warehouse.check(rule("qualified_volume"), run_id="run'1").rules

    assert outcome.unexpected_ids == ["overall"]


def test_qualified_volume_passes_when_every_group_passed_or_is_pending(warehouse):
    warehouse.volume("2026-11", {"overall": "passed", "team:east": "pending"})

    [outcome] = warehouse.check(rule("qualified_volume")).rules

    assert outcome.success
    assert (outcome.evaluated, outcome.breached, outcome.percentage) == (1, 0, 100.0)


def test_all_rules_in_one_run_with_severities(warehouse):
    warehouse.evaluations("first_touch", {"p1": "breached", "p2": "met"})
    warehouse.evaluations("icp_fit", {"p1": "breached", "p2": "met"})
    warehouse.evaluations("accept_reject", {"p1": "met"})
    warehouse.volume("2026-11", {"overall": "failed"})

    report = warehouse.check(
        rule("first_touch"),
        rule("icp_fit", severity="warning"),
        rule("accept_reject"),
        rule("qualified_volume", severity="warning"),
    )

    assert [r.rule for r in report.rules] == [
        "first_touch",
        "icp_fit",
        "accept_reject",
        "qualified_volume",
    ]
    assert report.failed("critical") == ["first_touch"]
    assert report.failed("warning") == ["icp_fit", "qualified_volume"]
    assert report.rules[1].unexpected_ids == ["p1"]


def test_unexpected_ids_are_capped_at_1000_while_counts_stay_complete(warehouse):
    warehouse.evaluations("first_touch", {f"p{i:04d}": "breached" for i in range(1005)})

    [outcome] = warehouse.check(rule("first_touch")).rules

    assert (outcome.evaluated, outcome.breached) == (1005, 1005)
    assert len(outcome.unexpected_ids) == 1000
    assert outcome.unexpected_ids == sorted(outcome.unexpected_ids)
    assert set(outcome.unexpected_ids) <= {f"p{i:04d}" for i in range(1005)}
