"""The Prefect API a ``leadflow`` command talks to: a server at ``PREFECT_API_URL`` when one
is configured, else a temporary local server that this process starts, owns and stops.

Why this way. Without ``PREFECT_API_URL``, Prefect starts its "ephemeral" server itself
(``prefect.server.api.server.SubprocessASGIServer``, on the first API call) as a plain child
process and stops it from an ``atexit`` hook: a ``kill -9`` or an unhandled SIGTERM of the
command skips the hook and left the server (uvicorn, ~230 MB) running under PID 1, and a
Ctrl-C reached the server (same process group) while the flow run still had its final state
to report. The alternatives were no server (Prefect 3 runs no flow without an API) or a
long-lived server the CLI reuses (``prefect server start --background``: one more thing left
running, and to find, lock and upgrade). So the command starts the same server Prefect would
(the same uvicorn command, database and settings; ``SubprocessASGIServer`` subclassed, and
registered as Prefect's default one, as ``prefect.testing.utilities.prefect_test_harness``
does, so nothing in Prefect starts a second), with three differences:

- it dies with the command: on Linux the kernel sends it SIGTERM when the command's process
  ends, however it ends (``prctl(PR_SET_PDEATHSIG)``); everywhere, a thread in the server
  watches its parent and stops it within a second of the parent's end (and exits hard 10 s
  later if the graceful stop hangs);
- it runs in its own session (process group): Ctrl-C in a terminal stops the command, which
  reports the run's end, then stops the server;
- a server that does not answer within ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``
  (20 s by default) is stopped and started once more with three times as long, saying so in
  one line; a second failure is ``ServerNotStarted`` (one line, before anything is written).

``leadflow serve`` asks for a full server (``ephemeral=False``): Prefect runs its scheduler
service only there, and serve's deployments have schedules.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_ALLOW_EPHEMERAL_MODE,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    get_current_settings,
    temporary_settings,
)

from leadflow.config.settings import ConfigError

# Run in the server process before uvicorn (``python -c``; argv[1]: the parent's pid).
_CHILD = """\
import os, runpy, signal, sys, threading, time
parent = int(sys.argv.pop(1))
if sys.platform.startswith("linux"):
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (AttributeError, OSError):
        pass  # the watch below still stops it
if os.getppid() != parent:  # the parent ended before the line above
    sys.exit(0)
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)
threading.Thread(target=watch, daemon=True).start()
sys.argv[0] = "uvicorn"
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


class ServerNotStarted(RuntimeError):
    """Prefect's temporary API server did not start; nothing was run. One line."""


class OwnedServer(SubprocessASGIServer):
    """Prefect's temporary server, started as a child that ends with this process."""

    ephemeral: bool = True

    def _run_uvicorn_command(self) -> Any:
        import subprocess

        # Prefect 3.9's own command and environment (SubprocessASGIServer), under _CHILD.
        server_env = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_FINAL": "1"}
        if self.ephemeral:
            server_env["PREFECT__SERVER_EPHEMERAL"] = "1"
        uvicorn = ["--app-dir", str(prefect.__module_path__.parent), "--factory"]
        uvicorn += ["prefect.server.api.server:create_app", "--host", "127.0.0.1"]
        uvicorn += ["--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
        return subprocess.Popen(
            args=[sys.executable, "-c", _CHILD, str(os.getpid()), *uvicorn],
            env={
                **os.environ,
                **server_env,
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            start_new_session=True,
        )

    @property
    def pid(self) -> int | None:
        return self.server_process.pid if self.server_process else None


def new_server(ephemeral: bool = True) -> OwnedServer:
    """A not yet started server on a free port of 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    SubprocessASGIServer._instances.pop(port, None)  # one instance per port (Prefect's rule)
    server = OwnedServer(port)
    server.ephemeral = ephemeral
    return server


class _Server(Protocol):
    def start(self, timeout: int | None = None) -> None: ...
    def stop(self) -> None: ...


def start_with_retry(
    make: Callable[[], _Server], timeouts: Sequence[int], say: Callable[[str], None]
) -> _Server:
    """``make()`` a server and start it, waiting ``timeouts[0]`` s; on failure stop it and
    try a new one with the next timeout (saying so in one line). Raises ServerNotStarted."""
    for attempt, timeout in enumerate(timeouts):
        server = make()
        try:
            server.start(timeout=timeout)
            return server
        except Exception as error:  # Prefect: RuntimeError (timed out, exited), HTTP errors
            why = _why(server, error, timeout)
            with contextlib.suppress(Exception):
                server.stop()
        if attempt + 1 < len(timeouts):
            again = timeouts[attempt + 1]
            say(f"Prefect's temporary API server {why}; starting it again ({again} s)")
    raise ServerNotStarted(
        f"Prefect's temporary API server {why} ({len(timeouts)} attempts): nothing was run; "
        "try again, raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or set "
        "PREFECT_API_URL to a running Prefect server"
    )


def _why(server: Any, error: Exception, timeout: int) -> str:
    process = getattr(server, "server_process", None)
    code = process.poll() if process is not None else None
    if code is not None:
        return f"exited with code {code} while starting"
    if isinstance(error, RuntimeError) and "Timed out" in str(error):
        return f"did not answer within {timeout} s"
    return f"did not start ({type(error).__name__})"


def _drain_workers() -> None:
    """Send the logs and events still queued before the server goes (as Prefect's harness)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=3)


@contextlib.contextmanager
def prefect_api(
    *, ephemeral: bool = True, say: Callable[[str], None] = print
) -> Iterator[OwnedServer | None]:
    """The Prefect API for the block: None when ``PREFECT_API_URL`` names one (the user's
    server, not ours to start or stop), else a started ``OwnedServer``, stopped at the end.
    Raises ServerNotStarted, or ConfigError when ephemeral mode is off and no URL is set."""
    if PREFECT_API_URL.value():
        yield None
        return
    if not PREFECT_SERVER_ALLOW_EPHEMERAL_MODE.value():
        raise ConfigError(
            "PREFECT_API_URL is not set and PREFECT_SERVER_EPHEMERAL_ENABLED is off: "
            "name a Prefect server or allow a temporary one"
        )
    first = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    server: Any = start_with_retry(lambda: new_server(ephemeral), (first, 3 * first), say)
    prior = SubprocessASGIServer._instances.get(None)
    SubprocessASGIServer._instances[None] = server  # Prefect's code paths find this one
    prior_url = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url  # for child processes (dask, serve's runs)
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server
            finally:
                _drain_workers()
    finally:
        stop_server(server)
        if prior_url is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = prior_url
        if prior is None:
            SubprocessASGIServer._instances.pop(None, None)
        else:
            SubprocessASGIServer._instances[None] = prior


_STOPPING = threading.Lock()


def stop_server(server: OwnedServer, grace: float = 5.0) -> None:
    """Stop ``server``: SIGTERM, SIGKILL after ``grace`` s; safe from two threads at once."""
    import subprocess

    with _STOPPING, contextlib.suppress(Exception):
        process = server.server_process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        server.stop()  # Prefect's bookkeeping (its process has ended)
