"""The sync lock held by another run: every command that takes it (sync, import, forget,
people rebuild) refuses in one line naming the lock and its holder, exit 75 (EX_TEMPFAIL);
with a wait, it says once, on standard error, what it waits for."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

import leadflow.flows.sync_leads  # noqa: F401 - Prefect binds its log handlers on import: not to capsys
from leadflow.cli.main import main
from leadflow.config.settings import Settings, SyncSettings
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.run_lock import warehouse_lock
from leadflow.pipeline.locks import LockHeld, lock_holder, sync_lock

SALT = "a-test-salt-of-some-length"
MAPPING = json.dumps({"email": "email"})
COMMANDS = {
    "sync": ["sync"],
    "import": ["import", "leads.csv", "--source", "crm", "--mapping", MAPPING],
    "forget": ["forget", "--email", "x@example.com"],
    "people rebuild": ["people", "rebuild"],
}


def _config(tmp_path: Path, url: str, wait: float) -> str:
    (tmp_path / "leads.csv").write_text("email\nann@example.com\n")
    config = tmp_path / "leadflow.yaml"
    config.write_text(
        f"warehouse_url: {url}\nprivacy:\n  hash_salt: {SALT}\n"
        f"sync:\n  lock_wait_minutes: {wait}\n"
        f"csv_imports:\n  - {{path: '{tmp_path / 'leads.csv'}', source: crm}}\n"
    )
    return str(config)


def _holder(url: str) -> str:
    """How the refusal names the test's own lock."""
    if url.startswith("sqlite"):
        return f"(process {os.getpid()} on this host, started "
    return "(PostgreSQL session "


def _nothing_written(url: str) -> None:
    if url.startswith("sqlite"):
        assert not Path(url.removeprefix("sqlite:///")).exists()
        return
    engine = create_engine(url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_held_lock_is_one_line_and_exit_75_without_waiting(
    name: str,
    warehouse_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, warehouse_url, 0)
    with warehouse_lock(warehouse_url, "sync"):  # another sync, import, erasure or rebuild
        assert main(["--config", config, *COMMANDS[name]]) == 75
    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert line.startswith(f"leadflow: {name}: the sync lock of warehouse ")
    assert f"is held by another run {_holder(warehouse_url)}" in line
    assert line.endswith(
        "not waiting (sync.lock_wait_minutes is 0); nothing was written, try again when it "
        "has ended"
    )
    assert out == ""  # no summary, of this run or of another
    _nothing_written(warehouse_url)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_wait_is_announced_once_on_stderr_then_given_up(
    name: str,
    warehouse_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, warehouse_url, 0.02)  # 1.2 s
    with warehouse_lock(warehouse_url, "sync"):
        assert main([*COMMANDS[name], "--config", config]) == 75
    out, err = capsys.readouterr()
    [waiting, refused] = err.splitlines()
    assert waiting.startswith(f"leadflow: {name}: the sync lock of warehouse ")
    assert f"is held by another run {_holder(warehouse_url)}" in waiting
    assert waiting.endswith("waiting up to 0.02 min for it to end (sync.lock_wait_minutes)")
    assert "gave up after 0.02 min (sync.lock_wait_minutes); nothing was written" in refused
    assert out == ""
    _nothing_written(warehouse_url)


def test_the_lock_is_passed_on_within_a_context_and_to_no_other_thread(
    warehouse_url: str,
) -> None:
    """What ``leadflow sync`` relies on to take the lock before the flow it runs: the flow's
    own ``sync_lock`` is then a no-op, while any other run is still refused."""
    settings = Settings(warehouse_url=warehouse_url, sync=SyncSettings(lock_wait_minutes=0))
    happened: list[str] = []

    def another_run() -> None:  # a new thread starts from an empty context
        try:
            with sync_lock(settings):
                happened.append("another run got it")
        except LockHeld as refused:
            happened.append(f"refused: {refused.holder is not None}")

    with sync_lock(settings):
        with sync_lock(settings):
            happened.append("nested")
        other = threading.Thread(target=another_run)
        other.start()
        other.join(30)
    with sync_lock(settings):
        happened.append("free again")
    assert happened == ["nested", "refused: True", "free again"]
    assert lock_holder(warehouse_url, "sync") is None  # nobody holds it now
