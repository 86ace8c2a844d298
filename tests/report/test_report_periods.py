"""Partial periods in the report: the month that has not ended at report time is shown to
date and labelled partial, gets no month-over-month rate, and is not the headline; the
latest complete month's rate is. (The views' months are UTC and end by the database's
clock, so the data is placed around the real now.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.tables import people
from leadflow.report.data import PARTIAL_RATE, Period, read_report_data
from leadflow.report.html import report_summary_markdown, write_report
from leadflow.report.periods import (
    LATEST_ZONE,
    bounds,
    is_partial,
    month_name,
    period_of,
    previous,
    recent,
)

NOW = datetime.now(UTC)
CURRENT = period_of(NOW, "month")
LAST = previous(CURRENT)
BEFORE = previous(LAST)
TO_DATE = f"{NOW:%b} {NOW.day}"
PARTIAL = f"{month_name(CURRENT)} (partial, to {TO_DATE})"


def _start(month: str) -> datetime:
    return datetime.combine(bounds(month)[0], datetime.min.time(), tzinfo=UTC)


@pytest.fixture
def velocity_url(migrated_engine: Engine, warehouse_url: str) -> str:
    """4 people qualified the month before last, 5 last month, 2 so far this month."""
    started = _start(CURRENT)
    qualified = (
        [_start(BEFORE) + timedelta(days=2, hours=n) for n in range(4)]
        + [_start(LAST) + timedelta(days=3, hours=n) for n in range(5)]
        + [started + (NOW - started) * n / 3 for n in (1, 2)]
    )
    with migrated_engine.begin() as conn:
        conn.execute(people.insert(), [
            {"person_id": f"p{n}", "qualified_at": at, "lifecycle": "mql", "stage": "qualified",
             "created_at": at, "updated_at": at}
            for n, at in enumerate(qualified)
        ])  # fmt: skip
    return warehouse_url


def test_the_running_month_is_partial_and_has_no_rate(velocity_url: str, migrated_engine) -> None:
    with migrated_engine.connect() as conn:
        data = read_report_data(conn, Period(None), NOW)
    by_month = {row["month"]: row for row in data.velocity}
    assert by_month[CURRENT]["partial"] and by_month[CURRENT]["label"] == PARTIAL
    assert by_month[CURRENT]["qualified"] == 2
    assert by_month[CURRENT]["lead_velocity_rate"] is None  # the view says -60: not shown
    assert not by_month[LAST]["partial"]
    assert by_month[LAST]["lead_velocity_rate"] == pytest.approx(25.0)  # 5 vs 4


def test_the_headline_is_the_latest_complete_month(velocity_url: str) -> None:
    summary = report_summary_markdown(velocity_url, as_of=NOW)
    assert (
        f"| lead velocity rate (latest complete month) | {month_name(LAST)} | +25.00% | "
        f"5 qualified vs 4 in {month_name(BEFORE)} |"
    ) in summary
    assert f"| qualified leads to date | {PARTIAL} | 2 |" in summary
    assert f"| {PARTIAL} | 2 | 5 | {PARTIAL_RATE} |" in summary  # the velocity table
    assert f"| {month_name(LAST)} | 5 | 4 | 25.00 |" in summary
    assert "-60" not in summary  # 2 to date vs 5: never a rate


def test_the_html_labels_the_partial_period(velocity_url: str, tmp_path) -> None:
    page = write_report(velocity_url, tmp_path / "r.html", as_of=NOW).read_text(encoding="utf-8")
    assert PARTIAL in page and PARTIAL_RATE in page
    assert "is partial: shown to date and labelled so" in page
    one = write_report(velocity_url, tmp_path / "m.html", CURRENT, as_of=NOW)
    title = f"leadflow report — {CURRENT} (partial, to {TO_DATE})"
    assert title in one.read_text(encoding="utf-8")
    last = write_report(velocity_url, tmp_path / "l.html", LAST, as_of=NOW)
    assert f"leadflow report — {LAST}</h1>" in last.read_text(encoding="utf-8")


def test_a_report_as_of_an_earlier_day_stops_there(velocity_url: str, migrated_engine) -> None:
    """Reported as of last month's 10th, last month is the partial one, and this one
    (after the report time) is left out."""
    as_of = _start(LAST) + timedelta(days=9, hours=12)
    with migrated_engine.connect() as conn:
        data = read_report_data(conn, Period(None), as_of)
    assert [row["month"] for row in data.velocity][-1] == LAST
    assert data.velocity[-1]["partial"] and data.velocity[-1]["lead_velocity_rate"] is None
    assert data.velocity[-1]["label"] == f"{month_name(LAST)} (partial, to {as_of:%b} 10)"


@pytest.mark.parametrize(
    ("label", "as_of", "zone", "partial"),
    [
        ("2026-11", datetime(2026, 12, 1, 3, tzinfo=UTC), UTC, False),
        ("2026-11", datetime(2026, 11, 30, 23, 59, tzinfo=UTC), UTC, True),
        ("2026-W49", datetime(2026, 12, 7, 1, tzinfo=UTC), UTC, False),  # Monday 01:00 UTC
        ("2026-W49", datetime(2026, 12, 7, 1, tzinfo=UTC), LATEST_ZONE, True),  # not yet there
        ("2026", datetime(2026, 12, 31, 12, tzinfo=UTC), UTC, True),
    ],
)
def test_is_partial(label: str, as_of: datetime, zone, partial: bool) -> None:
    assert is_partial(label, as_of, zone) is partial


def test_period_arithmetic() -> None:
    assert recent("2027-01", 3) == ["2027-01", "2026-12", "2026-11"]
    assert recent("2027-W01", 3) == ["2027-W01", "2026-W53", "2026-W52"]
    assert month_name("2026-12") == "Dec 2026"


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_a_running_sla_week_is_marked_partial(migrated_engine: Engine, warehouse_url) -> None:
    """Week 41 ended on Monday 2026-10-12 at 00:00 UTC, and everywhere 12 hours later (its
    team's zone is not known here): partial until then. Week 43 had not even begun."""
    from tests.bi_seed import seed

    with migrated_engine.begin() as conn:
        seed(conn)
    labels = {}
    for hour in (6, 13):
        with migrated_engine.connect() as conn:
            as_of = datetime(2026, 10, 12, hour, tzinfo=UTC)
            data = read_report_data(conn, Period.parse("2026-10"), as_of)
        labels[hour] = {row["week"]: row["week_label"] for row in data.sla}
    assert labels[6]["2026-W41"] == "2026-W41 (partial)"
    assert labels[13]["2026-W41"] == "2026-W41"
    assert labels[13]["2026-W43"] == "2026-W43 (partial)"


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_headless_chromium_shows_the_partial_label(velocity_url: str, tmp_path) -> None:
    from leadflow.models.warehouse.engine import open_warehouse
    from tests.bi_seed import seed
    from tests.report.test_report import browse, console_errors

    with open_warehouse(velocity_url) as engine, engine.begin() as conn:
        seed(conn)
    report = write_report(velocity_url, tmp_path / "report.html", as_of=NOW)
    dom = browse(report, tmp_path, "--dump-dom")
    assert console_errors(dom.stderr) == []
    charts = re.findall(r'<div class="chart[^"]*" id="chart-\d"[^>]*>', dom.stdout)
    assert charts and all('data-rendered="true"' in tag for tag in charts), charts
    assert PARTIAL in dom.stdout and PARTIAL_RATE in dom.stdout
