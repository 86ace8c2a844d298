"""The HTML report: numbers from the views, no personal data, and it really renders
(headless Chromium draws every chart offline, with no console error)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from leadflow.cli.main import main
from leadflow.report.data import Period, decisions_by_rep, hour_bins, nearest_rank
from leadflow.report.html import report_summary_markdown, write_report
from tests.bi_seed import EMAIL, PHONE, seed

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture
def seeded_url(migrated_engine: Engine, warehouse_url: str) -> str:
    with migrated_engine.begin() as conn:
        seed(conn)
    return warehouse_url


def chromium() -> str:
    """The browser, or skip; in CI (which installs Debian's chromium) a missing one fails."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    message = "headless Chromium not installed (apt-get install chromium; .ci/run does)"
    if os.environ.get("LEADFLOW_CHROMIUM_UNAVAILABLE"):  # .ci/run tried and apt said no
        pytest.skip(message + ": apt-get could not install it on this machine")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def browse(report: Path, tmp_path: Path, *action: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=30000",  # let vega-embed finish before the DOM is read
        "--window-size=1200,3200",
        *action,
        report.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line and "rror" in line]


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_report_renders_every_chart_in_headless_chromium(seeded_url: str, tmp_path: Path) -> None:
    report = write_report(seeded_url, tmp_path / "report.html")
    dom = browse(report, tmp_path, "--dump-dom")
    assert console_errors(dom.stderr) == []
    charts = re.findall(r'<div class="chart[^"]*" id="chart-\d"[^>]*>', dom.stdout)
    assert len(charts) == 4
    assert all('data-rendered="true"' in tag for tag in charts), charts
    assert "data-error" not in dom.stdout
    assert dom.stdout.count("<svg") >= 4
    assert len(re.findall(r'class="mark-rect', dom.stdout)) >= 3  # bars were drawn
    shot = browse(report, tmp_path, f"--screenshot={tmp_path / 'report.png'}")
    assert console_errors(shot.stderr) == []
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_report_is_one_offline_file_without_personal_data(seeded_url: str, tmp_path: Path) -> None:
    text = write_report(seeded_url, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "vegaEmbed" in text and "<script src" not in text
    assert not re.search(r"""(src|href)=["']https?:""", text)
    assert EMAIL not in text and PHONE not in text and "Ann Lee" not in text


def test_summary_markdown_has_the_numbers(seeded_url: str) -> None:
    summary = report_summary_markdown(seeded_url)
    assert "| first_touch | 3 | 1 | 2 | 75.00 |" in summary
    assert "| USD | 150.50 | 3 | 2 | 75.25 |" in summary
    assert "| meta | 3 | 3 | 2 | 1 |" in summary
    assert "| 4 | 60.00 | 360.00 | 60.00 | 1,500.00 |" in summary  # speed: nearest rank
    # Sales decisions per rep and CRM: r1's one accept/reject evaluation, never decided.
    assert "| r1 | hubspot | east | 0 | 1 | 0 | - | - |" in summary
    assert EMAIL not in summary and PHONE not in summary


def test_summary_for_one_month(seeded_url: str) -> None:
    summary = report_summary_markdown(seeded_url, "2026-10")
    assert summary.startswith("# leadflow report — 2026-10\n")
    assert "| first_touch | 2 | 1 | 2 | 66.67 |" in summary  # weeks 41 and 43 only
    assert "| EUR | 20.00 | 1 | 1 | 20.00 |" in summary
    assert "| USD |" not in summary  # meta's October lead had no spend reported
    # HubSpot's only lead is from September: no funnel row (its rep's decisions may show).
    assert not re.search(r"^\| hubspot \| \d", summary, re.MULTILINE)


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        pytest.param(
            "2026-10", {"2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"}, id="month"
        ),
        pytest.param(
            "2027-01",
            {"2026-W53", "2027-W01", "2027-W02", "2027-W03", "2027-W04"},
            id="iso-year-edge",
        ),
    ],
)
def test_period_weeks(text: str, weeks: set[str]) -> None:
    assert Period.parse(text).weeks == weeks


@pytest.mark.parametrize("text", ["2026-13", "26-10", "2026-1", "last month"])
def test_bad_period_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY"):
        Period.parse(text)


def test_hour_bins_count_each_team_in_equal_nice_bins() -> None:
    rows = [{"team": "east", "business_minutes": m} for m in (0, 30, 90, 600, 600)] + [
        {"team": "west", "business_minutes": 61}
    ]
    # 0-10 hours in at most 30 bins: a step of 0.5 hours; 10 hours closes the last bin.
    assert hour_bins(rows) == [
        {"team": "east", "start": 0.0, "end": 0.5, "count": 1},
        {"team": "east", "start": 0.5, "end": 1.0, "count": 1},
        {"team": "east", "start": 1.5, "end": 2.0, "count": 1},
        {"team": "east", "start": 9.5, "end": 10.0, "count": 2},
        {"team": "west", "start": 1.0, "end": 1.5, "count": 1},
    ]
    many = [{"team": "t", "business_minutes": 7.0 * n} for n in range(100_000)]
    bins = hour_bins(many)
    assert len(bins) <= 30 and sum(b["count"] for b in bins) == 100_000
    assert hour_bins([{"team": "t", "business_minutes": 90}]) == [
        {"team": "t", "start": 1.0, "end": 2.0, "count": 1}
    ]
    assert hour_bins([]) == []


def test_nearest_rank_matches_the_views_definition() -> None:
    assert nearest_rank([360, 60, 120], 50) == 120
    assert nearest_rank([360, 60, 120], 90) == 360
    assert nearest_rank([5], 90) == 5
    assert nearest_rank([], 50) is None


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_cli_report_writes_the_file_and_prints_its_path(
    seeded_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(f"warehouse_url: {seeded_url}\n")
    out = tmp_path / "out" / "report.html"
    code = main(["--config", str(config), "report", "--out", str(out), "--period", "2026"])
    assert code == 0
    assert capsys.readouterr().out.strip() == f"report written to {out.resolve()}"
    assert "leadflow report — 2026" in out.read_text(encoding="utf-8")


def test_decisions_by_rep_counts_and_ranks_business_minutes() -> None:
    rows = [
        {"rep": "005A", "crm": "salesforce", "team": "t", "status": "met", "minutes": m}
        for m in (30.0, 180.0, 90.0)
    ] + [
        {"rep": "005A", "crm": "salesforce", "team": "t", "status": "pending", "minutes": None},
        {"rep": "7", "crm": "hubspot", "team": "t", "status": "breached", "minutes": 900.0},
    ]
    assert decisions_by_rep(rows) == [
        {"rep": "005A", "crm": "salesforce", "team": "t", "met": 3, "breached": 0,
         "pending": 1, "p50_business_minutes": 90.0, "p90_business_minutes": 180.0},
        {"rep": "7", "crm": "hubspot", "team": "t", "met": 0, "breached": 1, "pending": 0,
         "p50_business_minutes": 900.0, "p90_business_minutes": 900.0},
    ]  # fmt: skip
