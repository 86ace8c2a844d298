"""The SLA table shows the periods that have data: the running one marked partial (as of the
evaluation, in the business time zone), the latest complete one, and always the checked
period holding a breach, which the lines under the table name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from leadflow.cli.main import main
from leadflow.cli.sla import Compliance, format_compliance, read_compliance
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.run import evaluate_warehouse
from leadflow.models.warehouse.activity_tables import sales_reps, sales_touches
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import people, person_milestones

NY = ZoneInfo("America/New_York")
STAMP = datetime(2026, 9, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 6, 10, tzinfo=NY)  # a Sunday morning: December has barely begun
SLA = {"first_touch": {"business_minutes": 60, "severity": "critical"},
       "qualified_volume": {"per_period": 2}}  # fmt: skip
M = timedelta(minutes=1)


def _lead(person_id: str) -> dict[str, Any]:
    return {"source": "hubspot", "source_lead_id": person_id, "account_id": "portal",
            "created_at": STAMP, "updated_at": STAMP, "owner_id": "r1", "is_test": False,
            "custom_fields": {}, "raw": {}, "row_hash": "x" * 64, "person_id": person_id,
            "first_loaded_at": STAMP, "last_changed_at": STAMP}  # fmt: skip


def _touch(person_id: str, at: datetime) -> dict[str, Any]:
    return {"source": "hubspot", "touch_id": f"t-{person_id}", "lead_id": person_id,
            "touch_type": "call", "occurred_at": at, "updated_at": at, "owner_id": "r1",
            "direction": "outbound", "outcome": None, "raw": {}, "row_hash": "x" * 64,
            "person_id": person_id, "first_loaded_at": STAMP, "last_changed_at": STAMP}  # fmt: skip


# person -> (qualified at, New York; minutes to the first touch or None: never touched)
QUALIFIED = {
    "p_sep": (datetime(2026, 9, 15, 10, tzinfo=NY), 5),  # an older complete month, all met
    "p_nov1": (datetime(2026, 11, 10, 10, tzinfo=NY), 10),
    "p_nov2": (datetime(2026, 11, 10, 11, tzinfo=NY), None),  # breached
    "p_nov3": (datetime(2026, 11, 30, 21, tzinfo=NY), None),  # Dec 1 in UTC; breached
    "p_dec1": (datetime(2026, 12, 4, 10, tzinfo=NY), 5),
    "p_dec2": (datetime(2026, 12, 4, 16, 30, tzinfo=NY), None),  # due Monday: pending
}


@pytest.fixture
def evaluated(migrated_engine: Engine, warehouse_url: str, tmp_path: Path) -> str:
    """A warehouse evaluated at NOW; the path of a configuration naming it (New York)."""
    with migrated_engine.begin() as conn:
        conn.execute(sales_reps.insert(), [
            {"source": "hubspot", "rep_id": "r1", "team": "Inbound", "archived": False,
             "updated_at": STAMP, "raw": {}, "row_hash": "x" * 64, "first_loaded_at": STAMP,
             "last_changed_at": STAMP},
        ])  # fmt: skip
        conn.execute(people.insert(), [
            {"person_id": p, "created_at": STAMP, "updated_at": STAMP, "fit": 40}
            for p in QUALIFIED
        ])  # fmt: skip
        conn.execute(leads.insert(), [_lead(p) for p in QUALIFIED])
        conn.execute(person_milestones.insert(), [
            {"person_id": p, "kind": "mql", "at": at, "reason": "seed"}
            for p, (at, _) in QUALIFIED.items()
        ])  # fmt: skip
        touches = [_touch(p, at + m * M) for p, (at, m) in QUALIFIED.items() if m is not None]
        conn.execute(sales_touches.insert(), touches)
    sla = SlaSettings(rules=SLA)
    evaluate_warehouse(migrated_engine, sla, "America/New_York", NOW, "run-dec")
    path = tmp_path / "leadflow.yaml"
    path.write_text(
        f"warehouse_url: {warehouse_url}\ntimezone: America/New_York\n"
        "sla:\n  rules:\n    first_touch: {business_minutes: 60, severity: critical}\n"
        "    qualified_volume: {per_period: 2}\n"
    )
    return str(path)


def _table(out: str) -> list[list[str]]:
    table = out.split("\n\n", 1)[0]
    return [re.split(r"\s{2,}", line.strip()) for line in table.splitlines()[1:]]


DEC = "2026-12 (partial, to Dec 6)"


def test_the_table_shows_the_month_with_the_breach_and_marks_the_running_one(
    evaluated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", evaluated, "sla"]) == 0
    out = capsys.readouterr().out
    rows = _table(out)
    first_touch = [(r[1], r[3], r[4], r[5], r[8]) for r in rows
                   if r[0] == "first_touch" and r[2] == "overall"]  # fmt: skip
    assert first_touch == [
        (DEC, "1", "1", "1", "passed"),  # to date: one met, one pending
        ("2026-11", "1", "3", "0", "failed"),  # Nov 30 21:00 New York is November's
    ]
    assert {r[1] for r in rows} == {DEC, "2026-11"}  # September has data but is older
    assert "2026-12 is partial: the SLA was evaluated 2026-12-06 10:00 America/New_York" in out
    assert "breaches in the periods the SLA check validates (2026-12, 2026-11):" in out
    assert "  first_touch (critical): 2 of 3 decided not met in 2026-11\n" in out
    volume = [(r[1], r[3], r[8]) for r in rows if r[0] == "qualified_volume" and r[2] == "overall"]
    assert volume == [(DEC, "2", "passed"), ("2026-11", "3", "passed")]


def test_the_summary_after_a_sync_knows_the_running_period_without_the_zone(
    evaluated: str, warehouse_url: str
) -> None:
    """What ``leadflow sync`` and ``demo`` print: read without the configuration."""
    out = format_compliance(read_compliance(warehouse_url), periods=1)
    periods = {r[1] for r in _table(out)}
    assert periods == {"2026-12 (partial, to Dec 6 UTC)", "2026-11"}
    assert "first_touch (critical): 2 of 3 decided not met in 2026-11" in out


def test_an_old_breach_outside_the_checked_periods_is_not_forced_in(
    evaluated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", evaluated, "sla", "--period", "2026-09"]) == 0
    out = capsys.readouterr().out
    assert {r[1] for r in _table(out)} == {"2026-09"}
    assert "is partial" not in out


def _row(period: str, rule: str, met: int, decided: int, at: datetime) -> dict[str, Any]:
    return {"rule": rule, "period": period, "group_key": "overall", "period_kind": "month",
            "scope": "overall", "team": None, "numerator": met, "denominator": decided,
            "pending": 0, "percentage": None, "target": 90.0 if rule != "qualified_volume" else 2,
            "status": "failed" if met < decided else "passed", "severity": "critical",
            "evaluated_at": at}  # fmt: skip


def test_a_month_is_partial_until_it_ends_in_the_business_time_zone() -> None:
    at = datetime(2026, 12, 1, 3, tzinfo=UTC)  # Nov 30, 22:00 in New York
    rows = [_row("2026-11", "first_touch", 4, 5, at), _row("2026-10", "first_touch", 5, 5, at)]
    out = format_compliance(Compliance(rows, rows, "America/New_York"))
    assert [r[1] for r in _table(out)] == ["2026-11 (partial, to Nov 30)", "2026-10"]
    assert "first_touch (critical): 1 of 5 decided not met in 2026-11 (partial, to Nov 30)" in out
    # Without the zone, the volume rule's newest period (New York's) says the same.
    volume = _row("2026-11", "qualified_volume", 0, 0, at)
    out = format_compliance(Compliance(rows, [*rows, volume]))
    assert [r[1] for r in _table(out)] == ["2026-11 (partial, to Dec 1 UTC)", "2026-10"]


def test_a_breach_in_a_checked_month_is_shown_beyond_the_newest_periods() -> None:
    at = datetime(2026, 12, 20, tzinfo=UTC)
    rows = [_row("2026-12", "first_touch", 5, 5, at), _row("2026-11", "first_touch", 5, 5, at),
            _row("2026-10", "first_touch", 5, 6, at)]  # fmt: skip

    def shown(checked: int) -> list[str]:
        out = format_compliance(Compliance(rows, rows, "UTC", periods_checked=checked), 1)
        return [r[1] for r in _table(out)]

    assert shown(3) == ["2026-12 (partial, to Dec 20)", "2026-11", "2026-10"]
    assert shown(2) == ["2026-12 (partial, to Dec 20)", "2026-11"]  # October is not checked
