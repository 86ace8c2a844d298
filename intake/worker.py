"""The inbox loader in a process of its own, beside the app that acknowledges.

Loading a webhook's lead (fetching it from the platform, mapping it, classifying and
evaluating its person) costs far more CPU than storing and acknowledging the notification.
In one Python process both compete for one interpreter lock, and a burst of notifications
waits for the loader between its acknowledgements. So ``leadflow intake`` runs the loader
(``leadflow.intake.process.load_forever``) in a child process started with ``spawn``: the
app process only verifies, commits and answers; the child loads, woken through a pipe the app
writes a byte to after every commit (``PipeWake``), and every ``intake.poll_seconds`` for
retries that came due.

The child receives the settings pickled and registers their secrets for redaction as the
parent did when it loaded them (``config.secrets``); it opens its own warehouse connection.
It stops when the app closes the pipe, and on its own when its parent is gone (a SIGKILL of
``leadflow intake`` leaves no loader behind). A loader that died is started again by the
app's lifespan, with a new pipe, and rows it left pending are picked up by the next one
(nothing is acknowledged that is not committed, and loading a row twice writes the same
lead).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from leadflow.config.settings import Settings

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 30.0
CHECK_EVERY_S = 1.0
MAX_RESTART_DELAY_S = 60.0


class PipeWake:
    """The loader's end of its wake-up pipe: ``wait`` is what ``load_forever`` calls.

    A pipe, not a ``multiprocessing.Event``: an Event's ``set`` waits for every process
    sleeping in ``wait`` to acknowledge, so a loader killed while it waited (where it spends
    its idle time) would hang the app on its next notification. The app writes a byte per
    commit without ever blocking; ``wait`` returns once something was written (or at the
    timeout) and drains the pipe; the app closing its end (stopping, or gone) is seen here
    as ``closed``."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.closed = False

    def wait(self, timeout: float) -> None:
        """Return once something was written (or after ``timeout``), the pipe drained."""
        try:
            if self.conn.poll(timeout):
                while self.conn.poll(0):
                    self.conn.recv_bytes()
        except (EOFError, OSError):
            self.closed = True


def _child(settings: Settings, conn: Any, parent: int) -> None:
    """The loader process: register the secrets, then load until stopped or orphaned."""
    from leadflow.config.secrets import register_settings_secrets
    from leadflow.connectors.http import install_log_redaction
    from leadflow.intake.process import load_forever
    from leadflow.models.warehouse.engine import open_warehouse

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    register_settings_secrets(settings)
    wake = PipeWake(conn)

    def running() -> bool:
        return not wake.closed and os.getppid() == parent

    with open_warehouse(settings.warehouse_url) as engine:
        load_forever(engine, settings, wake, running)


class Loader:
    """The loader child process: ``start``, ``wake`` after a commit, ``stop``."""

    def __init__(self, settings: Settings) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._settings = settings
        self._send: Any = None
        self.process: Any = None
        self.starts = 0

    def start(self) -> None:
        """Start a loader with a new wake-up pipe (a dead one's is dropped)."""
        self._close_pipe()
        receive, send = self._context.Pipe(duplex=False)
        os.set_blocking(send.fileno(), False)  # a full pipe already means "wake up"
        self.process = self._context.Process(
            target=_child,
            args=(self._settings, receive, os.getpid()),
            name="leadflow-intake-loader",
            daemon=True,
        )
        self.process.start()
        receive.close()  # the child has its own copy
        self._send = send
        self.starts += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def wake(self) -> None:
        """Wake the loader; never blocks (called from the app's event loop)."""
        try:
            if self._send is not None:
                self._send.send_bytes(b"w")
        except (BlockingIOError, BrokenPipeError, OSError):
            pass  # full (it will wake anyway) or its loader is gone (restarted soon)

    def stop(self) -> None:
        """Close the pipe (the loader finishes its pass and exits); terminate it if not."""
        self._close_pipe()
        if self.process is None:
            return
        self.process.join(STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)

    def _close_pipe(self) -> None:
        if self._send is not None:
            self._send.close()
            self._send = None


def loader_lifespan(settings: Settings) -> Callable[[Any], Any]:
    """The app's lifespan: the loader process runs while the app serves; one that died is
    started again (checked every second; a loader that keeps dying, after a doubling delay
    up to a minute)."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        loader = Loader(settings)
        loader.start()
        app.state.intake.on_stored = loader.wake
        app.state.intake.loader = loader

        async def keep_alive() -> None:
            delay = CHECK_EVERY_S
            while True:
                await asyncio.sleep(delay)
                if loader.alive():
                    delay = CHECK_EVERY_S
                    continue
                log.error("intake: the loader process stopped (exit code %s); restarting",
                          loader.process.exitcode)  # fmt: skip
                loader.start()
                delay = min(delay * 2, MAX_RESTART_DELAY_S)  # one that keeps dying: less often

        task = asyncio.create_task(keep_alive())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            await asyncio.to_thread(loader.stop)

    return lifespan
