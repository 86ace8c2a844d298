"""The pieces behind ``test_kill.py``, on their own: starting Prefect's temporary server
again after a failed start, and telling a run's process gone from one still running."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.flows.crashed import process_gone, this_process
from leadflow.flows.server import ServerNotStarted, start_with_retry


class FakeServer:
    def __init__(self, fails: bool) -> None:
        self.fails, self.started, self.stopped = fails, None, False
        self.server_process = None

    def start(self, timeout: int | None = None) -> None:
        self.started = timeout
        if self.fails:
            raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API")

    def stop(self) -> None:
        self.stopped = True


def test_a_failed_start_is_stopped_said_in_one_line_and_tried_again_longer():
    made, said = [], []

    def make():
        made.append(FakeServer(fails=not made))
        return made[-1]

    server = start_with_retry(make, (20, 60), said.append)
    assert server is made[1] and (made[0].started, made[1].started) == (20, 60)
    assert made[0].stopped and not made[1].stopped
    assert said == [
        "Prefect's temporary API server did not answer within 20 s; starting it again (60 s)"
    ]


def test_two_failed_starts_raise_one_line_naming_what_to_do():
    made = []

    def make():
        made.append(FakeServer(fails=True))
        return made[-1]

    with pytest.raises(ServerNotStarted) as error:
        start_with_retry(make, (20, 60), lambda line: None)
    assert all(server.stopped for server in made) and len(made) == 2
    message = str(error.value)
    assert "\n" not in message and "(2 attempts): nothing was run" in message
    assert "PREFECT_API_URL" in message


def test_a_process_is_gone_when_it_ended_or_its_pid_is_reused():
    host = socket.gethostname()
    since = datetime.now(UTC) - timedelta(minutes=1)
    ended = subprocess.Popen(["true"])
    ended.wait()
    assert process_gone(f"{host}:{ended.pid}", since)
    with subprocess.Popen(["sleep", "30"]) as alive:
        try:
            time.sleep(0.1)
            # started before the run: its process; started after it: a reused pid
            assert not process_gone(f"{host}:{alive.pid}", datetime.now(UTC) + timedelta(minutes=1))
            assert process_gone(f"{host}:{alive.pid}", since)
        finally:
            alive.kill()
    assert not process_gone(this_process(), since)
    assert not process_gone(f"another-host:{ended.pid}", since)  # only that host can tell
    assert not process_gone(None, since) and not process_gone("no pid", since)
    assert this_process() == f"{host}:{os.getpid()}"
