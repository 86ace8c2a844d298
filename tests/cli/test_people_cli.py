"""``leadflow people rebuild``: counts printed, exit codes (0 done, 2 a bad --now or
configuration, 75 the sync lock held elsewhere), nothing personal in the output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.cli.main import main
from leadflow.models.warehouse.run_lock import warehouse_lock
from leadflow.models.warehouse.tables import people
from tests.pipeline.test_people_incremental import load
from tests.pipeline.test_rebuild import NOW, SALT, derived_state, first_leads, sync_run

EMAILS = ("ada", "acme", "initech", "navy", "@")


def _config(tmp_path: Path, url: str) -> str:
    config = tmp_path / "leadflow.yaml"
    config.write_text(
        f"warehouse_url: {url}\nprivacy:\n  hash_salt: {SALT}\nsync:\n  lock_wait_minutes: 0\n"
    )
    return str(config)


def _people(engine: Engine) -> dict[str, tuple[str | None, datetime | None]]:
    with engine.connect() as conn:
        query = sa.select(people.c.email_match_key, people.c.lifecycle, people.c.classified_at)
        return {key: (lifecycle, at) for key, lifecycle, at in conn.execute(query)}


def test_rebuild_prints_its_counts_and_exits_0(
    migrated_engine: Engine,
    warehouse_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    load(migrated_engine, first_leads())
    config = _config(tmp_path, warehouse_url)
    argv = ["--config", config, "people", "rebuild", "--now", "2026-03-03T10:30:00+01:00"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("people rebuilt (run ")
    assert lines[0].endswith("as of 2026-03-03T10:30:00+01:00)")
    assert lines[1:3] == [
        "people: 4 (lead 2, mql 2)",
        "merged 0, classified 4, new stage transitions 4, qualified 2",
    ]
    assert lines[3].startswith("SLA (2026-03, 2026-02): ") and "breached" in lines[3]
    assert len(lines) == 4 and err == ""
    assert not [word for word in EMAILS if word in out.lower()]
    stored = _people(migrated_engine)
    assert stored["ceo@acme.io"] == ("mql", NOW)  # --now is 09:30 UTC, NOW
    assert {lifecycle for lifecycle, _ in stored.values()} == {"lead", "mql"}


def test_config_after_the_command_and_now_by_default(
    migrated_engine: Engine,
    warehouse_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``leadflow people rebuild --config FILE`` reads that file too, classifies as of the
    current time, and after a sync finds every person and transition in place."""
    load(migrated_engine, first_leads())
    sync_run(migrated_engine, "r1")
    before = derived_state(migrated_engine, "r1")
    config = _config(tmp_path, warehouse_url)
    assert main(["people", "rebuild", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "people: 4 (lead 2, mql 2)" in out and "new stage transitions 0" in out
    after = derived_state(migrated_engine, "r1")
    assert after["leads"] == before["leads"]
    assert after["stage_transitions"] == before["stage_transitions"]
    stamps = [at for _, at in _people(migrated_engine).values()]
    assert all(abs(at - datetime.now(UTC)) < timedelta(minutes=5) for at in stamps)


def test_a_held_sync_lock_refuses_with_exit_75_and_writes_nothing(
    migrated_engine: Engine,
    warehouse_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    load(migrated_engine, first_leads())
    config = _config(tmp_path, warehouse_url)
    with warehouse_lock(warehouse_url, "sync"):  # a sync (or an import) is running
        assert main(["--config", config, "people", "rebuild"]) == 75
    out, err = capsys.readouterr()
    (line,) = err.splitlines()  # lock_wait_minutes 0: no "waiting" line, the refusal only
    assert line.startswith("leadflow: people rebuild: the sync lock of warehouse ")
    assert "not waiting (sync.lock_wait_minutes is 0); nothing was written" in line
    assert out == ""
    assert _people(migrated_engine) == {}
    assert main(["--config", config, "people", "rebuild"]) == 0  # once the lock is free


@pytest.mark.parametrize(
    "now",
    ["yesterday", "2026-13-01T00:00:00Z", "2026-03-03T09:30:00", "2026-03-03", ""],
    ids=["words", "no-month-13", "naive", "a-date", "empty"],
)
def test_a_malformed_now_exits_2_with_one_line(
    now: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "w.db"
    config = _config(tmp_path, f"sqlite:///{database}")
    assert main(["--config", config, "people", "rebuild", "--now", now]) == 2
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith("leadflow: people rebuild: --now: ") and "2026-11-20T09:00:00Z" in line
    assert out == "" and not database.exists()  # refused before the warehouse is opened


def test_a_bad_configuration_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'missing' / 'w.db'}")
    assert main(["--config", config, "people", "rebuild"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"leadflow: {config}: warehouse_url: ")
