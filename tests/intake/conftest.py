"""Fixtures of the intake tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from leadflow.intake.app import create_app
from leadflow.intake.worker import loader_lifespan


@pytest.fixture
def serve(migrated_engine) -> Iterator[Any]:
    """``serve(config, loop=False)`` -> the base URL of the intake app under a real uvicorn;
    with ``loop``, with its lifespan (the loader process), as ``leadflow intake`` serves it."""
    servers = []

    def start(config: Any, loop: bool = False) -> str:
        lifespan = loader_lifespan(config) if loop else None
        app = create_app(config.intake, migrated_engine, lifespan=lifespan)
        mode = "on" if loop else "off"
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, lifespan=mode, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=15)
