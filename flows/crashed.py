"""Flow runs whose process is gone: found at the next start and marked Crashed.

A run killed with ``kill -9`` (or the host's OOM killer) reports nothing: the API keeps it
Running (or Pending) for ever. So every sync records which process runs it, in the field
Prefect has for that, ``infrastructure_pid`` (``host:pid``: a pid alone means nothing on
another host; Prefect's process worker writes the bare pid, which is left alone here),
when it starts running (``record_process``, an ``on_running`` hook of the flow). A
``leadflow`` command that runs flows calls ``crash_orphans`` once its API is up: every run
still Pending, Running or Cancelling whose process was on this host and no longer exists
(or whose pid now belongs to a process started after the run) is set Crashed, with a
message saying why, and so are its task runs that had not ended. A run recorded on another
host is left alone: only that host can tell whether its process is alive.
"""

from __future__ import annotations

import contextlib
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.states import Crashed

from leadflow.pipeline.locks import process_started

_UNFINISHED = [StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]


def this_process() -> str:
    """``host:pid`` of this process, as recorded in a run's ``infrastructure_pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def record_process(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_running`` hook: record this process as the run's ``infrastructure_pid``, unless
    a worker recorded its own there (its handle for cancelling the run: left alone)."""
    with get_client(sync_client=True) as client:
        if client.read_flow_run(flow_run.id).infrastructure_pid:
            return
        client.update_flow_run(flow_run.id, infrastructure_pid=this_process())


def process_gone(infrastructure_pid: str | None, since: datetime | None) -> bool:
    """Whether ``host:pid`` names a process of this host that no longer runs the flow run
    that started at ``since``: no such pid, or a pid reused by a process started later.
    False for another host's process, or an unrecorded one."""
    host, _, pid = (infrastructure_pid or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or os.name == "nt":
        return False  # (Windows: os.kill(pid, 0) would end the process, not probe it)
    number = int(pid)
    if number == os.getpid():
        return False
    try:
        os.kill(number, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    started = _process_start(number)
    return started is not None and since is not None and started > since.timestamp() + 1


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), on Linux; else None. A zombie
    (dead, only not yet reaped) counts as started after anything: it is not the recorded
    process any more."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return float("inf") if state == "Z" else process_started(pid)


def crash_orphans(command: str) -> list[str]:
    """Mark Crashed the unfinished flow runs whose process on this host is gone; one line
    per run saying so (for the console)."""
    lines = []
    with get_client(sync_client=True) as client:
        for run in _unfinished_runs(client):
            since = run.start_time or run.created
            if not process_gone(run.infrastructure_pid, since):
                continue
            pid = (run.infrastructure_pid or "").rpartition(":")[2]
            state = run.state.name if run.state else "?"
            message = (
                f"its process ({pid} on {socket.gethostname()}) ended without reporting: "
                f"killed, or the host stopped; marked Crashed by `leadflow {command}` at start"
            )
            mark_crashed(client, run.id, message)
            lines.append(
                f"flow run {run.name} was left {state} by process {pid}, which is gone: "
                "marked Crashed"
            )
    return lines


def _unfinished_runs(client: SyncPrefectClient) -> list[Any]:
    states = FlowRunFilterState(type=FlowRunFilterStateType(any_=_UNFINISHED))
    found, offset = [], 0
    while True:
        page = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=states), limit=200, offset=offset
        )
        found += page
        if len(page) < 200:
            return found
        offset += len(page)


def mark_crashed(client: SyncPrefectClient, flow_run_id: Any, message: str) -> None:
    """Set the flow run, and its task runs that have not ended, Crashed (forced)."""
    client.set_flow_run_state(flow_run_id, Crashed(message=message), force=True)
    tasks = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        task_run_filter=TaskRunFilter(
            state=TaskRunFilterState(type=TaskRunFilterStateType(any_=_UNFINISHED))
        ),
    )
    for task in tasks:
        with contextlib.suppress(Exception):  # the flow run's state is what matters
            client.set_task_run_state(task.id, Crashed(message=message), force=True)


def crash_now(flow_run_id: Any, message: str) -> str:
    """Mark the flow run Crashed unless it has ended already (from any thread, in a
    context that holds the API settings); the name of the state it ended in."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        if run.state is not None and run.state.is_final():
            return run.state.name
        mark_crashed(client, flow_run_id, message)
    return "Crashed"
