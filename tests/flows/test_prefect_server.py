"""prefect.yaml for real: a Prefect server on a free loopback port, `prefect deploy --all`,
a process worker, and a backfill started through the API the way the UI's custom run does.

Everything runs in subprocesses with their own PREFECT_HOME; all are killed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, sync_runs, sync_state

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPLOYMENTS = {"nightly-sync", "speed-to-lead", "backfill", "sla-report"}
SINCE, UNTIL = date(2026, 10, 1), date(2026, 10, 31)
ZONE = ZoneInfo("America/New_York")
HUBSPOT_TOKEN = TOKENS["LEADFLOW_DEMO_HUBSPOT_TOKEN"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    """A subprocess in its own session, so that it and its children can be killed."""
    out = log.open("wb")
    return subprocess.Popen(
        args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def wait_healthy(api_url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prefect server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {timeout} s:\n{log.read_text()[-3000:]}")


def prefect(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "prefect"), *args], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real `prefect server start` subprocess; yields the environment that talks to it."""
    home = tmp_path_factory.mktemp("prefect-home")
    api_url = f"http://127.0.0.1:{free_port()}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'server.db'}",
    }
    for name in ("LEADFLOW_CONFIG", *TOKENS):  # the test decides what the worker is given
        env.pop(name, None)
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    log = home / "server.log"
    server = start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port],
        env, log, home,
    )  # fmt: skip
    try:
        wait_healthy(api_url, server, log, timeout=90)
        yield env
    finally:
        stop(server)


def pool_template_with_secret(env: dict[str, str], path: Path) -> Path:
    """The process pool's default job template, with the HubSpot token in its ``env`` as a
    reference to a Secret block (created here), which the worker resolves at each run."""
    prefect(
        env, "work-pool", "get-default-base-job-template", "--type", "process", "--file", str(path)
    )
    save = "import sys; from prefect.blocks.system import Secret; Secret(value=sys.argv[1]).save(sys.argv[2])"
    done = subprocess.run(
        [sys.executable, "-c", save, HUBSPOT_TOKEN, "leadflow-hubspot-token"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    template = json.loads(path.read_text())
    template["variables"]["properties"]["env"]["default"] = {
        "LEADFLOW_DEMO_HUBSPOT_TOKEN": "{{ prefect.blocks.secret.leadflow-hubspot-token }}"
    }
    path.write_text(json.dumps(template))
    return path


def api(env: dict[str, str], call: Any) -> Any:
    """Run ``call(client)`` against the test's server (not the session's test harness)."""
    from prefect.client.orchestration import PrefectClient

    async def run() -> Any:
        async with PrefectClient(env["PREFECT_API_URL"]) as client:
            return await call(client)

    return asyncio.run(run())


def wait_final(env: dict[str, str], flow_run_id: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api(env, lambda client: client.read_flow_run(flow_run_id))
        if run.state is not None and run.state.is_final():
            return run
        time.sleep(1)
    pytest.fail(f"flow run {flow_run_id} not finished after {timeout} s: {run.state}")


def test_deploy_all_then_a_backfill_from_the_api_runs_on_a_worker(prefect_server, tmp_path):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.exceptions import PrefectHTTPStatusError

    env = prefect_server
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with running_sandboxes(contacts=300) as boxes:
        config = tmp_path / "leadflow.yaml"
        config.write_text(demo_config(boxes, warehouse_url))
        prefect(env, "variable", "set", "leadflow_config", str(config))
        template = pool_template_with_secret(env, tmp_path / "pool.json")
        prefect(env, "work-pool", "create", "leadflow", "--type", "process",
                "--base-job-template", str(template))  # fmt: skip
        prefect(env, "--no-prompt", "deploy", "--all")

        deployments = {d.name: d for d in api(env, lambda client: client.read_deployments())}
        assert set(deployments) == DEPLOYMENTS
        nightly, backfill = deployments["nightly-sync"], deployments["backfill"]
        [schedule] = nightly.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", str(ZONE))
        assert nightly.concurrency_options.collision_strategy == "CANCEL_NEW"
        [fast] = deployments["speed-to-lead"].schedules
        assert (fast.schedule.cron, fast.schedule.timezone) == (
            "*/10 9-16 * * 1,2,3,4,5",
            str(ZONE),
        )
        assert backfill.schedules == []
        assert all(d.enforce_parameter_schema for d in deployments.values())
        assert backfill.parameters == {"config_path": str(config)}
        assert HUBSPOT_TOKEN not in repr([d.job_variables for d in deployments.values()])

        # The worker has every sandbox token in its environment but HubSpot's, which the
        # flow run gets from the Secret block through the pool's job template.
        tokens = {name: value for name, value in TOKENS.items() if value != HUBSPOT_TOKEN}
        worker = start(
            [str(BIN / "prefect"), "worker", "start", "--pool", "leadflow"],
            {**env, **tokens}, tmp_path / "worker.log", tmp_path,
        )  # fmt: skip
        try:
            parameters = {
                "sources": ["hubspot", "meta"], "since": str(SINCE), "until": str(UNTIL),
                "dry_run": False,
            }  # fmt: skip
            created = api(
                env,
                lambda client: client.create_flow_run_from_deployment(
                    backfill.id, parameters=parameters
                ),
            )
            finished = wait_final(env, created.id, timeout=120)
        finally:
            stop(worker)
    assert finished.state.is_completed(), (tmp_path / "worker.log").read_text()[-4000:]
    assert finished.name == "backfill-hubspot-meta-2026-10-01-to-2026-10-31"

    start_utc = datetime(2026, 10, 1, tzinfo=ZONE)
    end_utc = datetime(2026, 11, 1, tzinfo=ZONE)
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        loaded = conn.execute(sa.select(leads.c.source, leads.c.updated_at)).all()
        runs = conn.execute(sa.select(sync_runs)).mappings().all()
        marks = conn.execute(sa.select(sync_state.c.watermark)).scalars().all()
    engine.dispose()
    assert {source for source, _ in loaded} == {"hubspot", "meta"}
    stamps = [stamp.replace(tzinfo=stamp.tzinfo or UTC) for _, stamp in loaded]
    assert all(start_utc <= stamp < end_utc for stamp in stamps)
    assert {run["run_id"] for run in runs} == {str(created.id)}
    assert {run["status"] for run in runs} == {"succeeded"}
    assert all(mark is None or mark.replace(tzinfo=mark.tzinfo or UTC) < end_utc for mark in marks)

    artifacts = api(
        env,
        lambda client: client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[created.id]))
        ),
    )
    kinds = {(artifact.type, artifact.key) for artifact in artifacts}
    assert ("table", "backfill-summary") in kinds
    progress = [artifact.data for artifact in artifacts if artifact.type == "progress"]
    assert len(progress) > 2 and 100 in progress  # a partition task's, finished
    summary = next(a for a in artifacts if a.key == "backfill-summary")
    table = json.loads(summary.data) if isinstance(summary.data, str) else summary.data
    assert {row["source"] for row in table} == {"hubspot", "meta"}

    for bad in ({"since": "last tuesday"}, {"sources": "hubspot"}, {"dry_run": "maybe"}):
        with pytest.raises(PrefectHTTPStatusError, match=r"409 Conflict"):
            api(
                env,
                lambda client, bad=bad: client.create_flow_run_from_deployment(
                    backfill.id, parameters={**parameters, **bad}
                ),
            )


def test_stopping_leadflow_serve_leaves_the_schedules_active(prefect_server, tmp_path):
    """Ctrl-C on `leadflow serve` must not pause the nightly schedule (Prefect's default)."""
    env = prefect_server
    config = tmp_path / "leadflow.yaml"
    config.write_text(
        f"timezone: Europe/Berlin\nwarehouse_url: sqlite:///{tmp_path / 'w.db'}\n"
        "sources:\n  hubspot:\n    access_token: t0ken-abc\n    portal_id: '1'\n"
    )  # serve checks its configuration first: something to sync
    # A background process ignores SIGINT unless told otherwise; a terminal's Ctrl-C does not.
    launcher = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    served = start(
        [sys.executable, "-c", launcher, str(BIN / "leadflow"), "--config", str(config), "serve"],
        env, tmp_path / "serve.log", REPO,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while "being served" not in (tmp_path / "serve.log").read_text():
            assert served.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "leadflow serve did not start"
            time.sleep(0.5)
        served.send_signal(signal.SIGINT)
        served.wait(timeout=30)
    finally:
        stop(served)
    deployments = {d.name: d for d in api(env, lambda client: client.read_deployments())}
    nightly = deployments["nightly-sync"]
    assert not nightly.paused
    [schedule] = nightly.schedules
    assert schedule.active and schedule.schedule.timezone == "Europe/Berlin"
