"""A ``leadflow`` command's time with Prefect: its API (``flows/server.py``), the runs that
a killed process left behind (``flows/crashed.py``), and how a flow run it starts ends when
the command is stopped.

SIGTERM or Ctrl-C during a flow run: Prefect's engine turns them into an exception in the
main thread (``TerminationSignal``, ``KeyboardInterrupt``), marks the run Crashed and
re-raises; the command then stops its server and exits (143, 130). That unwinding waits for
the run's task threads, and a thread blocked in a platform's slow answer does not stop: so
the first signal also starts a deadline (``STOP_GRACE_SECONDS``). A command still alive
then marks the run Crashed itself, stops its server and exits at once (``os._exit``); the
warehouse's sync lock goes with the process (``models/warehouse/run_lock.py``: a closed
file lock, a closed PostgreSQL session). A ``kill -9`` leaves the run to the next command's
``crash_orphans``, and the server to the kernel (``flows/server.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from leadflow.flows.crashed import crash_now, crash_orphans
from leadflow.flows.server import OwnedServer, prefect_api, stop_server

STOP_GRACE_SECONDS = 5.0  # below the 10 s that `docker stop` allows before its SIGKILL
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Session:
    """Runs flows for ``command``; see the module docstring."""

    def __init__(self, command: str, server: OwnedServer | None, say: Callable[[str], None]):
        self.command, self.server, self.say = command, server, say
        self.context = contextvars.copy_context()  # the API settings, for the deadline thread
        self.flow_run: tuple[Any, str] | None = None  # (id, name) of the running flow run
        self._armed = threading.Event()
        self._unwound = threading.Event()  # the flow call returned or raised
        self._saved: dict[int, Any] = {}  # the handlers replaced, by signal
        self._ours: dict[int, Any] = {}  # the handlers installed, by signal

    def run(self, flow: Any, **parameters: Any) -> Any:
        """Call ``flow`` with ``parameters``; its final State (``return_state=True``)."""
        hooks = [*flow.on_running_hooks, self._on_running]
        try:
            return flow.with_options(on_running=hooks)(**parameters, return_state=True)
        except BaseException as stop:
            if self.flow_run is not None and not isinstance(stop, Exception):
                stop.add_note(f"flow run {self.flow_run[1]} {self._ended(stop)}")
            raise
        finally:
            self._unwound.set()
            self._disarm()

    def _on_running(self, flow: Any, flow_run: Any, state: Any) -> None:
        """``on_running`` hook (main thread): remember the run, watch the stop signals."""
        self.flow_run = (flow_run.id, flow_run.name)
        if threading.current_thread() is not threading.main_thread():
            return
        for number in _STOP_SIGNALS:
            previous = signal.getsignal(number)
            if previous is not self._ours.get(number):  # not already (a retry runs again)
                self._saved[number], self._ours[number] = previous, self._deadline_then(previous)
                signal.signal(number, self._ours[number])

    def _deadline_then(self, previous: Any) -> Callable[[int, Any], None]:
        def handler(number: int, frame: Any) -> None:
            self._arm(number)
            if callable(previous):
                previous(number, frame)  # Prefect's (TerminationSignal), Python's (Ctrl-C)
            elif previous != signal.SIG_IGN:
                raise SystemExit(128 + number)

        return handler

    def _disarm(self) -> None:
        """Put back what ours replaced where ours is still installed (Prefect's engine puts
        back the SIGTERM handler it found when the run ends: the command's)."""
        for number, ours in self._ours.items():
            with contextlib.suppress(ValueError, TypeError):  # not the main thread
                if signal.getsignal(number) is ours:
                    signal.signal(number, self._saved[number])
        self._saved.clear()
        self._ours.clear()

    def _arm(self, number: int) -> None:
        if self._armed.is_set():
            return
        self._armed.set()
        timer = threading.Timer(STOP_GRACE_SECONDS, self._hard_stop, args=(number,))
        timer.daemon = True
        timer.start()

    def _ended(self, stop: BaseException) -> str:
        """How the stopped run ended, for the command's last line (marked Crashed here if
        Prefect could not report it)."""
        assert self.flow_run is not None
        why = f"stopped by {_signal_name(stop)}: `leadflow {self.command}` was stopped"
        try:
            return "ended " + self.context.copy().run(crash_now, self.flow_run[0], why)
        except Exception:
            return "may still show Running: the next start marks it Crashed"

    def _hard_stop(self, number: int) -> None:
        """The deadline: mark the run Crashed, stop the server, exit now. When the flow
        call has returned (the run's end reported), only a slow exit is left: it gets one
        more grace period before the server is stopped and the process exits."""
        if self._unwound.is_set():
            time.sleep(STOP_GRACE_SECONDS)
            if self.server is not None:
                stop_server(self.server, grace=2)
            os._exit(128 + number)
        name = signal.Signals(number).name
        line = f"leadflow: {self.command}: stopped by {name}"
        if self.flow_run is not None:
            why = (
                f"stopped by {name}: `leadflow {self.command}` ended it after its tasks did "
                f"not stop within {STOP_GRACE_SECONDS:g} s"
            )
            marker = threading.Thread(
                target=self.context.copy().run, args=(crash_now, self.flow_run[0], why), daemon=True
            )
            marker.start()
            marker.join(timeout=5)
            done = "marked Crashed" if not marker.is_alive() else "left to the next start"
            line += (
                f"; flow run {self.flow_run[1]} {done} (its tasks did not stop within "
                f"{STOP_GRACE_SECONDS:g} s)"
            )
        if self.server is not None:
            stop_server(self.server, grace=2)
        with contextlib.suppress(Exception):
            self.say(line)
        os._exit(128 + number)


def _signal_name(stop: BaseException) -> str:
    if isinstance(stop, KeyboardInterrupt):
        return "SIGINT"
    number = getattr(stop, "signal", None) or getattr(stop, "signum", None)
    return signal.Signals(number).name if number else type(stop).__name__


@contextlib.contextmanager
def prefect_session(
    command: str, *, ephemeral: bool = True, say: Callable[[str], None] = _stderr
) -> Iterator[Session]:
    """Prefect for ``command``: the API up (started and owned when none is configured;
    ``ServerNotStarted`` in one line otherwise), dead processes' runs marked Crashed (one
    line each, through ``say``), then a Session that runs flows; the server stopped after."""
    prefix = f"leadflow: {command}: "
    with prefect_api(ephemeral=ephemeral, say=lambda line: say(prefix + line)) as server:
        try:
            lines = crash_orphans(command)
        except Exception as error:  # best effort: the runs wait for the next start
            lines = [f"runs of killed processes not checked ({type(error).__name__})"]
        for line in lines:
            say(prefix + line)
        yield Session(command, server, say)
