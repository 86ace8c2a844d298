"""The `leadflow` command: demo, sync, sandbox, db upgrade."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import requests
import sqlalchemy as sa

from flows.cli import format_summary, main


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


def test_format_summary_lists_every_source_and_errors():
    rows = [
        {"source": "hubspot", "status": "succeeded", "pages": 3, "records": 500, "inserted": 490,
         "updated": 0, "unchanged": 0, "quarantined": 10,
         "watermark": datetime(2026, 11, 26, tzinfo=UTC), "seconds": 1.2, "error": None},
        {"source": "meta", "status": "failed", "pages": 0, "records": 0, "inserted": 0,
         "updated": 0, "unchanged": 0, "quarantined": 0, "watermark": None, "seconds": 0.1,
         "error": "AuthError: meta: token expired"},
    ]  # fmt: skip
    text = format_summary(rows)
    header, first, second, error = text.splitlines()
    assert header.split()[:4] == ["source", "status", "pages", "records"]
    assert first.split()[:5] == ["hubspot", "succeeded", "3", "500", "490"]
    assert "2026-11-26T00:00:00+00:00" in first
    assert second.split()[1] == "failed"
    assert error == "meta: AuthError: meta: token expired"


def test_sandbox_command_serves_hubspot_until_stopped():
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "sandbox", "--contacts", "30"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("hubspot")
        base_url = line.split()[1]
        reply = requests.post(
            base_url + "/crm/v3/objects/contacts/search",
            json={"limit": 100},
            headers={"Authorization": "Bearer sandbox-hubspot-token"},
            timeout=10,
        )
        assert reply.status_code == 200
        assert reply.json()["total"] == 30
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_demo_twice_loads_then_changes_nothing(prefect_api, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'leadflow.db'}"
    assert main(["demo", "--contacts", "400", "--warehouse-url", url]) == 0
    first = capsys.readouterr().out
    assert main(["demo", "--contacts", "400", "--warehouse-url", url]) == 0
    second = capsys.readouterr().out
    row = lambda text: next(line for line in text.splitlines() if line.startswith("hubspot "))  # noqa: E731
    _, status, _pages, records, inserted, updated, *_ = row(first).split()
    assert status == "succeeded" and int(inserted) > 350 and records == "400"
    _, status, _pages, _records, inserted, updated, *_ = row(second).split()
    assert (status, inserted, updated) == ("succeeded", "0", "0")
    assert (tmp_path / ".leadflow" / "demo.yaml").exists()
