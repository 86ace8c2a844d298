"""The `leadflow` command: demo, sync, sandbox, db upgrade."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import requests
import sqlalchemy as sa

from leadflow.cli.main import format_summary, main


def test_db_upgrade_creates_the_warehouse(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n")
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    assert "latest schema" in capsys.readouterr().out
    inspector = sa.inspect(sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    assert {"leads", "people", "sync_state", "sync_runs", "quarantine"} <= set(
        inspector.get_table_names()
    )


def test_bad_configuration_exits_2_naming_the_file(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("timezone: Nowhere/Special\n")
    assert main(["--config", str(config), "db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and "timezone" in err


def test_format_summary_lists_every_account_errors_and_warnings():
    rows = [
        {"source": "hubspot", "account_id": "p1", "status": "succeeded", "pages": 3,
         "records": 500, "inserted": 490, "updated": 0, "unchanged": 0, "quarantined": 10,
         "watermark": datetime(2026, 11, 26, tzinfo=UTC), "seconds": 1.2, "error": None,
         "warnings": None},
        {"source": "meta", "account_id": "123", "status": "failed", "pages": 0, "records": 0,
         "inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0, "watermark": None,
         "seconds": 0.1, "error": "AuthError: meta: token expired",
         "warnings": "reported 12 leads, fetched 11"},
    ]  # fmt: skip
    header, first, second, *notes = format_summary(rows).splitlines()
    assert header.split()[:5] == ["source", "account_id", "status", "pages", "records"]
    assert first.split()[:6] == ["hubspot", "p1", "succeeded", "3", "500", "490"]
    assert "2026-11-26T00:00:00+00:00" in first
    assert second.split()[2] == "failed"
    assert notes == [
        "meta 123: AuthError: meta: token expired",
        "meta 123: warning: reported 12 leads, fetched 11",
    ]


def test_sandbox_command_serves_every_platform_until_stopped():
    process = subprocess.Popen(
        [sys.executable, "-m", "leadflow.cli.main", "sandbox", "--contacts", "30"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        urls = dict(process.stdout.readline().split() for _ in range(5))
        assert set(urls) == {"hubspot", "meta", "google_ads", "linkedin", "mailchimp"}
        reply = requests.post(
            urls["hubspot"] + "/crm/v3/objects/contacts/search",
            json={"limit": 100},
            headers={"Authorization": "Bearer sandbox-hubspot-token"},
            timeout=10,
        )
        assert reply.status_code == 200
        assert reply.json()["total"] == 30
    finally:
        process.terminate()
        process.wait(timeout=10)


def summary_rows(text: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("source "))
    return [
        line.split()
        for line in lines[start + 1 :]
        if line.split()[2:3] in (["succeeded"], ["failed"])
    ]


def test_demo_twice_loads_every_platform_then_changes_nothing(
    prefect_api, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'leadflow.db'}"
    assert main(["demo", "--contacts", "400", "--warehouse-url", url]) == 0
    first_out = capsys.readouterr().out
    first = summary_rows(first_out)
    assert main(["demo", "--contacts", "400", "--warehouse-url", url]) == 0
    second_out = capsys.readouterr().out
    second = summary_rows(second_out)
    people = [line for line in first_out.splitlines() if line.startswith("people: ")]
    assert people and "mql" in people[0]
    assert people == [line for line in second_out.splitlines() if line.startswith("people: ")]
    sources = {"hubspot", "salesforce", "meta", "google_ads", "linkedin", "mailchimp", "crm_csv"}
    assert {row[0] for row in first} == sources
    assert {row[1] for row in first if row[1].startswith("csv:")} == {
        "csv:meta_leads_export.csv",
        "csv:linkedin_leads_export.csv",
        "csv:crm_export_de.csv",
    }
    assert all(row[2] == "succeeded" for row in first + second)
    assert sum(int(row[5]) for row in first) > 2000  # inserted, leads and campaign days
    assert [(row[5], row[6]) for row in second] == [("0", "0")] * len(second)
    assert (tmp_path / ".leadflow" / "demo.yaml").exists()
    report = tmp_path / "report.html"  # the demo ends with the report, and says where
    assert first_out.rstrip().endswith(f"report written to {report.resolve()}")
    assert "vegaEmbed" in report.read_text(encoding="utf-8")


# Personal data in the wrong columns: none of it in what the commands print or publish ----------


def test_import_prints_no_email_or_phone_and_counts_every_row(tmp_path, capsys):
    import json

    from tests.pipeline.test_import_privacy import MAPPING, ROWS, leaks, malformed_file

    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\ntimezone: Europe/Berlin\n")
    path = malformed_file(tmp_path)
    argv = ["--config", str(config), "import", str(path), "--source", "crm"]
    assert main([*argv, "--mapping", json.dumps(MAPPING)]) == 0
    headerless = tmp_path / "no_header.csv"
    headerless.write_text("ada@example.com,+14155550134,2026-11-20T10:00:00Z\n")
    assert main(["--config", str(config), "import", str(headerless), "--source", "x"]) == 2
    out, err = capsys.readouterr()
    assert f"{ROWS} rows: 2 inserted, 0 updated, 0 unchanged, 6 quarantined, 0 suppressed" in out
    assert "1 repeated ids" in out and "(created)" in out and "column mapping" in err
    assert (leaks(out), leaks(err)) == ([], [])
    assert "ada@example.com" not in err and "4155550134" not in err


def test_an_unknown_source_is_one_line_and_exit_2_before_any_run(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(
        f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n"
        "sources:\n  hubspot:\n    access_token: t0ken-abc\n    portal_id: '1'\n"
    )
    assert main(["sync", "--config", str(config), "--source", "hubspt"]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "leadflow: sync: --source: unknown source hubspt (configured: hubspot)"
    ]
    assert out == "" and not (tmp_path / "w.db").exists()
