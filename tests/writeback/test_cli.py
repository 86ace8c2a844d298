"""``leadflow writeback [--dry-run]``: prints what it would write and writes nothing, or
writes and prints the tasks created; off unless enabled; a bad source refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from leadflow.cli.main import main
from tests.writeback.support import NOW, TOKEN, evaluation, ledger, portal, seed_people

AT = NOW.isoformat().replace("+00:00", "Z")


def write_config(tmp_path: Path, warehouse_url: str, base_url: str, **writeback: Any) -> str:
    config = {
        "warehouse_url": warehouse_url,
        "sources": {"hubspot": {"base_url": base_url, "access_token": "${HS_TOKEN}",
                                "portal_id": "24681357", "backoff_seconds": 0}},
        "writeback": {"enabled": True, "properties": True} | writeback,
    }  # fmt: skip
    path = tmp_path / "leadflow.yaml"
    path.write_text(json.dumps(config))
    return str(path)


def test_dry_run_prints_and_writes_nothing_then_a_run_writes(
    migrated_engine: Engine,
    warehouse_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    with portal() as hs:
        seeded = seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached")
        config = write_config(tmp_path, warehouse_url, hs.base_url)

        assert main(["writeback", "--dry-run", "--now", AT, "--config", config]) == 0
        out = capsys.readouterr().out
        assert (
            f"would create task: first_touch person p1 contact {seeded[0]['contact_id']} "
            f"owner {seeded[0]['owner_id']} due 2026-12-07T14:30:00+00:00 (breached)"
        ) in out
        assert f"would update contact {seeded[1]['contact_id']} (person p2)" in out
        assert "writeback (dry run, nothing written): " in out and "tasks_planned 1" in out
        assert hs.requests == [] and ledger(migrated_engine) == []

        assert main(["writeback", "--now", AT, "--config", config]) == 0
        out = capsys.readouterr().out
        (task,) = hs.writes.tasks
        assert f"created hubspot task {task['id']}: first_touch person p1" in out
        assert "tasks_created 1" in out and "contacts_updated 2" in out
        assert "example.com" not in out
        assert main(["writeback", "--now", AT, "--config", config]) == 0
        assert "nothing to write" in capsys.readouterr().out
        assert len(hs.writes.tasks) == 1


def test_off_unless_enabled_and_a_bad_source_refused(
    migrated_engine: Engine,
    warehouse_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    with portal() as hs:
        seed_people(migrated_engine, hs, 1)
        evaluation(migrated_engine, "p1", "breached")
        off = write_config(tmp_path, warehouse_url, hs.base_url, enabled=False)
        assert main(["writeback", "--config", off]) == 0
        assert "writeback is off" in capsys.readouterr().out
        wrong = write_config(tmp_path, warehouse_url, hs.base_url, source="crm")
        assert main(["writeback", "--config", wrong]) == 2
        err = capsys.readouterr().err.strip()
        assert err.endswith("writeback.sources: no hubspot or salesforce source named 'crm' "
                            "under sources: (its credentials write the tasks and properties)")  # fmt: skip
        assert "\n" not in err
        assert hs.requests == [] and ledger(migrated_engine) == []
