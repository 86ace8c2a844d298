"""SLA rules on single qualifications, roll-ups, and the breach history (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadflow.models.sla.clock import BusinessCalendar
from leadflow.models.sla.config import SlaRules, SlaSettings
from leadflow.models.sla.evaluate import (
    Decision,
    Facts,
    History,
    Qualification,
    Touch,
    checked_periods,
    rollups,
    volume_rollups,
)
from leadflow.models.sla.rows import evaluate
from leadflow.models.sla.rows import history_row as with_history

NY = ZoneInfo("America/New_York")
CAL = BusinessCalendar(timezone="America/New_York", country="US")
RULES = SlaRules(first_touch={"severity": "critical"})
START = datetime(2026, 11, 24, 10, 0, tzinfo=NY)  # Tuesday 10:00; first touch due 11:00
H = timedelta(hours=1)
M = timedelta(minutes=1)


def q(**kw) -> Qualification:
    return Qualification(**{"person_id": "p1", "clock_start": START, "fit": 40, "team": "A",
                            "rep_id": "r1", "rep_source": "hubspot", **kw})  # fmt: skip


def by_rule(facts: Facts, now: datetime) -> dict[str, object]:
    return {e.rule: e for e in evaluate(facts, RULES, CAL, now)}


@pytest.mark.parametrize(
    ("touches", "now", "status", "minutes", "late"),
    [
        ([Touch(START + 59 * M, True)], START + 2 * H, "met", 59, None),
        ([Touch(START + 60 * M, True)], START + 2 * H, "met", 60, None),
        ([Touch(START + 61 * M, True)], START + 2 * H, "breached", 61, 1),
        ([], START + 30 * M, "pending", 30, None),
        ([], START + 60 * M, "pending", 60, None),
        ([], START + 61 * M, "breached", 61, 1),
        ([Touch(START - H, True)], START + 30 * M, "pending", 30, None),  # before the clock
        ([Touch(START + 5 * M, False)], START + 30 * M, "pending", 30, None),  # inbound only
        ([Touch(START + 23 * H + 30 * M, True)], START + 24 * H, "breached", 450, 390),
    ],
    ids=["met", "met-at-deadline", "late", "pending", "pending-at-deadline", "deadline-passed",
         "touch-before-qualification", "not-outbound", "next-morning"],
)  # fmt: skip
def test_first_touch(touches, now, status, minutes, late) -> None:
    e = by_rule(Facts(q(), touches), now)["first_touch"]
    assert (e.status, e.business_minutes, e.minutes_late) == (status, minutes, late)
    assert e.due_at == START + H


def test_first_touch_reports_wall_clock_beside_business_time() -> None:
    friday = datetime(2026, 11, 20, 16, 30, tzinfo=NY)
    touch = Touch(datetime(2026, 11, 23, 9, 15, tzinfo=NY), True)
    e = by_rule(Facts(q(clock_start=friday), [touch]), friday + 4 * 24 * H)["first_touch"]
    assert (e.status, e.business_minutes) == ("met", 45)
    assert e.wall_minutes == (touch.at - friday) / M


@pytest.mark.parametrize(
    ("touches", "now", "status", "event"),
    [
        ([Touch(START + k * H, True) for k in (1, 2, 3)], START + 20 * H, "met", START + 3 * H),
        ([Touch(START + H, True), Touch(START + 2 * H, True, connected=True)], START + 60 * H,
         "met", START + 2 * H),
        ([Touch(START + H, True)], START + 3 * H, "pending", None),
        ([Touch(START + H, True), Touch(START + 2 * H, True)], START + 5 * 24 * H, "breached",
         None),
        ([Touch(START + k * 24 * H, True) for k in (0, 1, 4)], START + 5 * 24 * H, "breached",
         None),  # the third attempt comes after the two business days
    ],
    ids=["three-attempts", "connected", "pending", "too-few", "third-too-late"],
)  # fmt: skip
def test_touch_attempts(touches, now, status, event) -> None:
    e = by_rule(Facts(q(), touches), now)["touch_attempts"]
    assert (e.status, e.event_at) == (status, event)
    assert e.due_at == datetime(2026, 11, 27, 10, 0, tzinfo=NY)  # Thanksgiving skipped


@pytest.mark.parametrize(
    ("decisions", "now", "accept_reject", "acceptance"),
    [
        ([Decision(START + 2 * H, True)], START + 3 * H, "met", "met"),
        ([Decision(START + 2 * H, False)], START + 3 * H, "met", "breached"),
        ([], START + 3 * H, "pending", "pending"),
        ([], START + 10 * 24 * H, "breached", "pending"),
        ([Decision(START - H, False)], START + 3 * H, "pending", "pending"),  # an older decision
    ],
    ids=["accepted", "rejected", "undecided", "undecided-late", "decision-before-clock"],
)  # fmt: skip
def test_decisions(decisions, now, accept_reject, acceptance) -> None:
    found = by_rule(Facts(q(), (), decisions), now)
    assert found["accept_reject"].status == accept_reject
    assert found["sales_acceptance"].status == acceptance


@pytest.mark.parametrize(("fit", "status"), [(30, "met"), (29, "breached"), (None, "breached")])
def test_icp_fit(fit, status) -> None:
    assert by_rule(Facts(q(fit=fit)), START)["icp_fit"].status == status


def test_an_inferred_qualification_only_counts_for_sales_acceptance() -> None:
    facts = Facts(q(inferred=True), (), [Decision(START, False)])
    assert {e.rule: e.status for e in evaluate(facts, RULES, CAL, START)} == {
        "sales_acceptance": "breached"
    }


def test_disabled_rules_are_not_evaluated() -> None:
    rules = SlaRules(touch_attempts={"enabled": False}, icp_fit={"enabled": False})
    found = {e.rule for e in evaluate(Facts(q()), rules, CAL, START)}
    assert found == {"first_touch", "accept_reject", "sales_acceptance"}


def test_evaluations_carry_rep_team_severity_and_local_periods() -> None:
    late_sunday = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # Sunday 22:00 in New York
    e = by_rule(Facts(q(clock_start=late_sunday)), late_sunday)["first_touch"]
    assert (e.period_month, e.period_week, e.team, e.rep_id) == ("2026-11", "2026-W48", "A", "r1")
    assert e.severity == "critical"
    assert by_rule(Facts(q()), START)["icp_fit"].severity == "warning"


def _evals(statuses: list[tuple[str, str]], rule: str = "first_touch") -> list:
    out = []
    for n, (team, status) in enumerate(statuses):
        touches = {"met": [Touch(START + M, True)], "breached": [Touch(START + 2 * H, True)],
                   "pending": []}[status]  # fmt: skip
        facts = Facts(q(person_id=f"p{n}", team=team, rep_id=f"r{team}"), touches)
        out += [e for e in evaluate(facts, RULES, CAL, START + 3 * H if status != "pending"
                                    else START) if e.rule == rule]  # fmt: skip
    return out


def test_rollups_count_met_over_decided_per_group() -> None:
    evaluations = _evals([("A", "met"), ("A", "breached"), ("A", "pending"), ("B", "met")])
    rows = {r.group_key: r for r in rollups(evaluations, RULES, "month")}
    assert set(rows) == {"overall", "team:A", "team:B", "rep:hubspot:rA", "rep:hubspot:rB"}
    overall = rows["overall"]
    assert (overall.numerator, overall.denominator, overall.pending) == (2, 3, 1)
    assert overall.percentage == pytest.approx(66.667)
    assert (overall.target, overall.status, overall.period) == (100.0, "failed", "2026-11")
    assert (rows["team:B"].status, rows["team:B"].percentage) == ("passed", 100.0)


def test_rollup_of_only_pending_is_pending() -> None:
    (row, *_) = rollups(_evals([("A", "pending")]), RULES, "week")
    assert (row.status, row.percentage, row.period) == ("pending", None, "2026-W48")


def test_rollups_pass_at_the_target_share() -> None:
    rules = SlaRules(first_touch={"target": 0.5})
    rows = rollups(_evals([("A", "met"), ("A", "breached")]), rules, "month")
    assert {r.status for r in rows} == {"passed"}


def test_volume_targets_overall_and_per_team() -> None:
    rules = SlaRules(qualified_volume={"per_period": 2, "per_team": {"A": 2, "B": 1}})
    october = datetime(2026, 10, 5, 10, tzinfo=NY)
    quals = [q(person_id="1"), q(person_id="2", team="B"), q(person_id="3", clock_start=october),
             q(person_id="4", clock_start=october, inferred=True)]  # fmt: skip
    rows = {
        (r.period, r.group_key): r for r in volume_rollups(quals, rules, "month", CAL, "2026-11")
    }
    assert {k: (r.numerator, r.status) for k, r in rows.items()} == {
        ("2026-11", "overall"): (2, "passed"),
        ("2026-11", "team:A"): (1, "pending"),  # the month is still running
        ("2026-11", "team:B"): (1, "passed"),
        ("2026-10", "overall"): (1, "failed"),
        ("2026-10", "team:A"): (1, "failed"),
        ("2026-10", "team:B"): (0, "failed"),
    }


def test_a_breach_is_kept_when_late_data_turns_it_met() -> None:
    t0, t1 = START + 2 * H, START + 26 * H
    breached = by_rule(Facts(q()), t0)["first_touch"]
    row, revised = with_history(breached, None, t0, "run-1")
    assert (row["breach_recorded_at"], row["breach_run_id"], revised) == (t0, "run-1", False)
    old = History("breached", t0, "run-1", None, t0)
    met = by_rule(Facts(q(), [Touch(START + 30 * M, True)]), t1)["first_touch"]
    row, revised = with_history(met, old, t1, "run-2")
    assert row["status"] == "met" and revised
    assert (row["breach_recorded_at"], row["breach_run_id"]) == (t0, "run-1")
    assert (row["revised_at"], row["first_evaluated_at"]) == (t1, t0)
    again, revised_again = with_history(met, History("met", t0, "run-1", t1, t0), t1 + H, "run-3")
    assert (again["revised_at"], revised_again) == (t1, False)


def test_pending_turning_met_is_no_revision() -> None:
    old = History("pending", None, None, None, START)
    met = by_rule(Facts(q(), [Touch(START + M, True)]), START + 2 * H)["first_touch"]
    row, revised = with_history(met, old, START + 2 * H, "run-2")
    assert (row["breach_recorded_at"], row["revised_at"], revised) == (None, None, False)


def test_checked_periods() -> None:
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    assert checked_periods(now, CAL, "month", 3) == ["2026-01", "2025-12", "2025-11"]
    assert checked_periods(now, CAL, "week", 2) == ["2026-W02", "2026-W01"]


def test_team_calendars_override_the_default() -> None:
    sla = SlaSettings(calendar={"country": "US"}, teams={"EMEA": {"timezone": "Europe/Berlin",
                                                                  "country": "DE"}})  # fmt: skip
    default, teams = sla.calendars("America/New_York")
    assert (default.timezone, default.country) == ("America/New_York", "US")
    assert (teams["EMEA"].timezone, teams["EMEA"].country, teams["EMEA"].opens) == (
        "Europe/Berlin", "DE", default.opens)  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [{"rules": {"first_touch": {"severity": "fatal"}}}, {"calendar": {"opens": "9am"}},
     {"calendar": {"workdays": ["funday"]}}, {"rules": {"nope": {}}}, {"period": "year"}],
    ids=["severity", "opens", "workdays", "unknown-rule", "period"],
)  # fmt: skip
def test_invalid_settings_are_refused(raw: dict) -> None:
    with pytest.raises(ValueError):
        SlaSettings(**raw)


def test_sales_acceptance_target_comes_from_max_rejected() -> None:
    assert SlaRules(sales_acceptance={"max_rejected": 0.3}).sales_acceptance.target == 0.7
    assert SlaRules().sales_acceptance.target == 0.8
    with pytest.raises(ValueError, match="max_rejected, not target"):
        SlaRules(sales_acceptance={"target": 0.5})
