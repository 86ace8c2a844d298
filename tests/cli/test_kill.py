"""``leadflow sync`` killed (SIGKILL) or stopped (SIGTERM) in the middle of a run leaves
nothing behind: no process (Prefect's temporary server dies with the command), no flow run
left Running (a stopped command marks its run Crashed; a killed one's run is marked Crashed
by the next start), and the next sync takes the warehouse's lock and succeeds.

Every test runs the real command in a subprocess with its own PREFECT_HOME, so the
temporary server it starts, and the Prefect database that server writes, are the test's
own: the processes left are those whose environment carries that PREFECT_HOME.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

TOKEN = "kill-test-token-5e2a"
LEADFLOW = [sys.executable, "-m", "leadflow.cli.main"]
UNFINISHED = ("PENDING", "RUNNING", "CANCELLING")


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a command with its own Prefect home and no configured API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.update(KILL_TEST_TOKEN=TOKEN, **extra)
    return env


def processes_of(home: Path) -> dict[int, str]:
    """Live processes (not zombies) whose environment names PREFECT_HOME=home: their
    command lines by pid."""
    marker = f"PREFECT_HOME={home}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # ended meanwhile, or not ours to read
        if state != "Z":
            found[int(entry.name)] = command[:160]
    return found


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(entry.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def wait_for(condition, seconds: float, what: str):  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until it is truthy; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            assert value, f"gave up waiting for {what}"
            return value
        time.sleep(0.2)


def no_processes_left(home: Path) -> None:
    """Every process of the test's PREFECT_HOME ends (the server stops within seconds)."""
    deadline = time.monotonic() + 30
    while (left := processes_of(home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == {}, f"processes left behind: {left}"


def flow_runs(home: Path) -> list[tuple[str, str, str | None]]:
    """(name, state type, infrastructure_pid) of every flow run in the home's database."""
    with sqlite3.connect(f"file:{home / 'prefect.db'}?mode=ro", uri=True, timeout=30) as db:
        rows = db.execute(
            "SELECT name, state_type, infrastructure_pid FROM flow_run ORDER BY created"
        ).fetchall()
    return [tuple(row) for row in rows]


def unfinished_task_runs(home: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{home / 'prefect.db'}?mode=ro", uri=True, timeout=30) as db:
        marks = ", ".join("?" * len(UNFINISHED))
        query = f"SELECT name, state_type FROM task_run WHERE state_type IN ({marks})"
        return db.execute(query, UNFINISHED).fetchall()


@pytest.fixture
def slow_hubspot() -> Iterator[HubSpotSandbox]:
    """A HubSpot sandbox whose contact pages do not answer (for ten minutes) until its
    faults are cleared: a sync stays Running, blocked in a request, until then."""
    with HubSpotSandbox.unthrottled(hubspot_contacts(40), token=TOKEN) as box:
        box.faults.push_delay(600, times=1000, path="contacts")
        yield box


def write_config(tmp_path: Path, base_url: str, wait: float = 0) -> Path:
    config = tmp_path / "leadflow.yaml"
    config.write_text(
        f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\nsla:\n  data_docs_dir: null\n"
        f"sync:\n  lock_wait_minutes: {wait}\n"  # 0: a lock left held refuses the next run
        "sources:\n  hubspot:\n"
        f"    base_url: {base_url}\n    access_token: ${{KILL_TEST_TOKEN}}\n"
        "    portal_id: '1'\n    discover_properties: false\n"
        "    sales_reps: false\n    sales_touches: false\n"
        "    streams: {crm_status_changes: false}\n"
    )
    return config


def start_sync(config: Path, home: Path, tmp_path: Path, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LEADFLOW, "sync", "--config", str(config)],
        cwd=tmp_path,
        env=cli_env(home),
        stdout=(tmp_path / f"{name}.out").open("w"),
        stderr=(tmp_path / f"{name}.err").open("w"),
        text=True,
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_sync_leaves_nothing_behind(stop, slow_hubspot, tmp_path):
    home = tmp_path / "prefect-home"
    config = write_config(tmp_path, slow_hubspot.base_url)
    first = start_sync(config, home, tmp_path, "first")
    try:
        wait_for(
            lambda: any("contacts" in r.path for r in slow_hubspot.requests) or first.poll(),
            120,
            "the sync to ask HubSpot for contacts",
        )
        assert first.poll() is None, (tmp_path / "first.err").read_text()[-3000:]
        [(name, _, recorded)] = wait_for(
            lambda: [r for r in flow_runs(home) if r[1] == "RUNNING"], 30, "a Running flow run"
        )
        assert recorded is not None and recorded.endswith(f":{first.pid}")
        servers = [pid for pid in children_of(first.pid) if pid in processes_of(home)]
        assert servers, "the temporary server is a child of the command"
        os.kill(first.pid, stop)
        code = first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    err = (tmp_path / "first.err").read_text()
    no_processes_left(home)
    assert not set(servers) & set(processes_of(home))  # the server died with the command
    if stop == signal.SIGTERM:
        assert code == 128 + signal.SIGTERM, err[-3000:]
        last = err.rstrip().splitlines()[-1]
        assert last.startswith("leadflow: sync: stopped by SIGTERM; ") and "Crashed" in last
        assert name in last
        assert [(r[0], r[1]) for r in flow_runs(home)] == [(name, "CRASHED")]  # by itself
    else:
        assert code == -signal.SIGKILL
        assert [(r[0], r[1]) for r in flow_runs(home)] == [(name, "RUNNING")]  # said nothing

    slow_hubspot.faults.clear()
    second = subprocess.run(
        [*LEADFLOW, "sync", "--config", str(config)],
        cwd=tmp_path, env=cli_env(home), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    assert "account_id" in second.stdout and "succeeded" in second.stdout
    swept = [line for line in second.stderr.splitlines() if "which is gone" in line]
    if stop == signal.SIGKILL:  # the next start found the killed run and said so
        pid = first.pid
        assert swept == [
            f"leadflow: sync: flow run {name} was left Running by process {pid}, which is "
            "gone: marked Crashed"
        ]
    else:
        assert swept == []
    runs = flow_runs(home)
    assert [r[1] for r in runs] == ["CRASHED", "COMPLETED"]
    assert not [r for r in runs if r[1] in UNFINISHED]
    assert unfinished_task_runs(home) == []
    no_processes_left(home)  # the second command stopped its server too


@pytest.mark.timeout(120)
def test_sigterm_while_waiting_for_the_lock_stops_in_one_line(tmp_path):
    from leadflow.models.warehouse.run_lock import warehouse_lock

    home = tmp_path / "prefect-home"
    config = write_config(tmp_path, "http://127.0.0.1:9", wait=5)
    with warehouse_lock(f"sqlite:///{tmp_path / 'w.db'}", "sync"):
        waiting = start_sync(config, home, tmp_path, "waiting")
        try:
            wait_for(
                lambda: (
                    "waiting up to" in (tmp_path / "waiting.err").read_text()
                    or waiting.poll() is not None
                ),
                60,
                "the lock notice",
            )
            waiting.send_signal(signal.SIGTERM)
            code = waiting.wait(timeout=30)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
    err = (tmp_path / "waiting.err").read_text()
    assert code == 128 + signal.SIGTERM, err
    assert err.splitlines()[-1] == "leadflow: sync: stopped by SIGTERM"
    assert "Traceback" not in err
    assert not home.joinpath("prefect.db").exists()  # the lock comes before Prefect
    no_processes_left(home)


@pytest.mark.timeout(120)
def test_a_server_that_does_not_start_is_retried_then_one_line_and_nothing_written(tmp_path):
    home = tmp_path / "prefect-home"
    config = write_config(tmp_path, "http://127.0.0.1:9")
    env = cli_env(home, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0")  # never in time
    done = subprocess.run(
        [*LEADFLOW, "sync", "--config", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert done.returncode == 75, done.stderr[-3000:]
    ours = [line for line in done.stderr.splitlines() if line.startswith("leadflow: ")]
    assert ours == [
        "leadflow: sync: Prefect's temporary API server did not answer within 0 s; starting "
        "it again (0 s)",
        "leadflow: sync: Prefect's temporary API server did not answer within 0 s (2 attempts):"
        " nothing was run; try again, raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, "
        "or set PREFECT_API_URL to a running Prefect server",
    ]
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert not (tmp_path / "w.db").exists()
    no_processes_left(home)


@pytest.mark.timeout(180)
def test_a_killed_serve_leaves_no_server_behind(tmp_path):
    home = tmp_path / "prefect-home"
    config = write_config(tmp_path, "http://127.0.0.1:9")
    log = tmp_path / "serve.log"
    served = subprocess.Popen(
        [*LEADFLOW, "serve", "--config", str(config)],
        cwd=Path(__file__).resolve().parents[2],  # prefect.yaml's folder
        env=cli_env(home), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(
            lambda: "being served" in log.read_text() or served.poll() is not None,
            120,
            "leadflow serve to serve",
        )
        assert served.poll() is None, log.read_text()[-3000:]
        assert [pid for pid in children_of(served.pid) if pid in processes_of(home)]
        served.kill()
        served.wait(timeout=30)
    finally:
        if served.poll() is None:
            served.kill()
            served.wait()
    no_processes_left(home)
