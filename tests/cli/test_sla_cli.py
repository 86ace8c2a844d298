"""``leadflow sla``: the latest run's compliance, read from the warehouse."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from leadflow.cli.main import main
from leadflow.models.warehouse.tables import sla_results

T0 = datetime(2026, 11, 20, 3, tzinfo=UTC)


def _row(run_id: str, at: datetime, period: str, group: str, met: int, **kw) -> dict:
    scope = group.split(":", 1)[0] if ":" in group else "overall"
    return {"run_id": run_id, "rule": kw.get("rule", "first_touch"), "period": period,
            "group_key": group, "period_kind": "month", "scope": scope,
            "team": kw.get("team"), "rep_id": kw.get("rep_id"), "numerator": met,
            "denominator": 10, "pending": 0, "percentage": 10.0 * met, "target": 100.0,
            "status": "passed" if met == 10 else "failed", "severity": "critical",
            "evaluated_at": at}  # fmt: skip


@pytest.fixture
def config(warehouse_url: str, migrated_engine: Engine, tmp_path: Path) -> str:
    later = T0 + timedelta(days=1)
    with migrated_engine.begin() as conn:
        conn.execute(sla_results.insert(), [
            _row("old", T0, "2026-11", "overall", 1),
            _row("new", later, "2026-11", "overall", 7),
            _row("new", later, "2026-10", "overall", 10),
            _row("new", later, "2026-11", "team:Inbound", 6, team="Inbound"),
            _row("new", later, "2026-11", "rep:hubspot:r1", 3, team="Inbound", rep_id="r1"),
            _row("new", later, "2026-11", "team:Outbound", 9, team="Outbound"),
        ])  # fmt: skip
    path = tmp_path / "leadflow.yaml"
    path.write_text(f"warehouse_url: {warehouse_url}\n")
    return str(path)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    """The table's rows, split on its column gaps (a period's label has single spaces)."""
    out = capsys.readouterr().out
    table = out.split("\n\n", 1)[0]
    return [re.split(r"\s{2,}", line.strip()) for line in table.splitlines()]


NOV = "2026-11 (partial, to Nov 21)"  # evaluated Nov 21 (UTC, the configured zone)


def test_prints_the_latest_run_overall_and_per_team(config, capsys) -> None:
    assert main(["--config", config, "sla"]) == 0
    header, *rows = _lines(capsys)
    assert header[:4] == ["rule", "period", "group", "met"]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (NOV, "overall", "7"),
        (NOV, "team:Inbound", "6"),
        (NOV, "team:Outbound", "9"),
        ("2026-10", "overall", "10"),
    ]  # the older run's 1 of 10 is not shown; reps only with --team
    assert rows[0][6:9] == ["70.0%", "100%", "failed"]


def test_period_and_team_filters(config, capsys) -> None:
    assert main(["--config", config, "sla", "--period", "2026-11", "--team", "Inbound"]) == 0
    _, *rows = _lines(capsys)
    assert [(r[1], r[2]) for r in rows] == [(NOV, "rep:hubspot:r1"), (NOV, "team:Inbound")]


def test_names_the_period_of_each_breach(config, capsys) -> None:
    assert main(["--config", config, "sla"]) == 0
    out = capsys.readouterr().out
    assert "2026-11 is partial: the SLA was evaluated 2026-11-21 03:00 UTC" in out
    assert "breaches in the periods the SLA check validates (2026-11, 2026-10):" in out
    assert f"  first_touch (critical): 3 of 10 decided not met in {NOV}" in out


def test_a_team_s_breaches_are_its_own(config, capsys) -> None:
    assert main(["--config", config, "sla", "--team", "Outbound"]) == 0
    out = capsys.readouterr().out
    assert f"  first_touch (critical): 1 of 10 decided not met in {NOV}" in out


def test_an_empty_warehouse_says_so(warehouse_url, migrated_engine, tmp_path, capsys) -> None:
    path = tmp_path / "leadflow.yaml"
    path.write_text(f"warehouse_url: {warehouse_url}\n")
    assert main(["--config", str(path), "sla"]) == 0
    assert "no SLA results" in capsys.readouterr().out
