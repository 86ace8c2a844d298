"""``leadflow intake`` for real: uvicorn on 127.0.0.1, a SQLite warehouse, SIGTERM to stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadflow.models.loading.inbox import Notification, receive
from leadflow.models.warehouse.engine import create_engine, write_transaction
from leadflow.models.warehouse.migrate import upgrade
from tests.intake.support import GOOGLE_KEY, google_lead, inbox, settings, stored_leads

MAIN = "from leadflow.cli.main import main; raise SystemExit(main())"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(tmp_path: Path, port: int, intake: str) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\nintake:\n  port: {port}\n"
                    f"  poll_seconds: 0.2\n{intake}")  # fmt: skip
    return path


def _run(config: Path, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "GOOGLE_KEY_ENV": GOOGLE_KEY}
    return subprocess.Popen([sys.executable, "-c", MAIN, "intake", "--config", str(config), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)  # fmt: skip


def _post(port: int, body: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/google_ads", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def _wait(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
            return True
    except OSError:
        return False


def test_intake_serves_loads_and_picks_up_what_a_crashed_run_committed(tmp_path):
    port = _free_port()
    section = "  google_ads:\n    google_key: ${GOOGLE_KEY_ENV}\n    customer_id: '1234567890'\n"
    config = _config(tmp_path, port, section)
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    # A run that died right after committing (before loading): the row is all there is.
    with write_transaction(engine) as conn:
        body = {k: v for k, v in google_lead("crashed").items() if k != "google_key"}
        receive(
            conn, [Notification("google_ads", "crashed", "1234567890", body)], datetime.now(UTC)
        )
    process = _run(config)
    try:
        assert _wait(lambda: _up(port)), "intake did not start"
        assert _post(port, google_lead("live")) == 200
        assert _post(port, google_lead("forged", key="wrong-key")) == 403
        loaded = lambda: {r["status"] for r in inbox(engine)} == {"loaded"}  # noqa: E731
        assert _wait(loaded), inbox(engine)
        keys = [
            lead["source_lead_id"].rsplit("/", 1)[-1] for lead in stored_leads(engine, "google_ads")
        ]
        assert keys == ["crashed", "live"]
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
        engine.dispose()
    assert process.returncode in (0, 143)
    assert GOOGLE_KEY not in output and "wrong-key" not in output
    assert "google_key wrong" in output


def test_intake_without_a_platform_is_refused(tmp_path):
    config = _config(tmp_path, _free_port(), "")
    process = _run(config)
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 2
    assert "intake: no platform configured" in output


def test_meta_intake_needs_the_source_that_fetches_its_leads(tmp_path):
    section = "  meta:\n    app_secret: ${GOOGLE_KEY_ENV}\n    verify_token: tok-tok-tok\n"
    process = _run(_config(tmp_path, _free_port(), section))
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 2
    assert "intake.meta.source: no meta source named 'meta'" in output
    assert GOOGLE_KEY not in output


def test_a_google_form_source_must_name_a_google_ads_source():
    from leadflow.cli.intake import check_intake
    from leadflow.config.settings import ConfigError

    section = {"google_key": GOOGLE_KEY, "customer_id": "1234567890"}
    alone = {"meta": None, "linkedin": None}
    check_intake(settings("sqlite://", google_ads=section, **alone), "config.yaml")  # no source
    named = {**section, "source": "ads"}
    with pytest.raises(ConfigError, match=r"intake\.google_ads\.source: no google_ads source"):
        check_intake(settings("sqlite://", google_ads=named, **alone), "config.yaml")


def _health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        return json.loads(answer.read())


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (exited, not yet reaped) is gone too.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] == "Z"


def test_the_loader_is_restarted_when_it_dies_and_leaves_with_a_killed_intake(tmp_path):
    """The loader runs in its own process: one that died is started again and loads what
    was committed meanwhile; a SIGKILLed intake leaves no loader behind."""
    port = _free_port()
    section = "  google_ads:\n    google_key: ${GOOGLE_KEY_ENV}\n    customer_id: '1234567890'\n"
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    process = _run(_config(tmp_path, port, section))
    try:
        assert _wait(lambda: _up(port)), "intake did not start"
        first = _health(port)["loader"]
        assert first["alive"] and first["starts"] == 1 and first["pid"] != process.pid
        os.kill(first["pid"], signal.SIGKILL)
        assert _wait(lambda: _health(port)["loader"]["starts"] == 2), "loader not restarted"
        assert _post(port, google_lead("after-restart")) == 200
        loaded = lambda: [r["status"] for r in inbox(engine)] == ["loaded"]  # noqa: E731
        assert _wait(loaded), inbox(engine)
        loader = _health(port)["loader"]["pid"]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert _wait(lambda: _gone(loader), 15), "the loader outlived its intake"
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)
        engine.dispose()


def test_a_loader_killed_while_it_waits_does_not_hang_the_intake(tmp_path):
    """The loader spends its idle time waiting to be woken; killed there, the next
    notification must still be answered at once and loaded by its successor."""
    port = _free_port()
    section = "  google_ads:\n    google_key: ${GOOGLE_KEY_ENV}\n    customer_id: '1234567890'\n"
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    process = _run(_config(tmp_path, port, section))
    try:
        assert _wait(lambda: _up(port)), "intake did not start"
        loader = _health(port)["loader"]["pid"]
        time.sleep(3)  # its first (empty) pass is done: it is waiting
        os.kill(loader, signal.SIGKILL)
        assert _post(port, google_lead("while-it-was-gone")) == 200
        assert _post(port, google_lead("and-another")) == 200
        loaded = lambda: [r["status"] for r in inbox(engine)] == ["loaded", "loaded"]  # noqa: E731
        assert _wait(loaded), inbox(engine)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) in (0, 143, -15)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)
        engine.dispose()
