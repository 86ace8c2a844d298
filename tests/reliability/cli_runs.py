"""Run ``leadflow sync`` as a subprocess against a shared Prefect API, kill it, compare
warehouses: the helpers of the kill and concurrency tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import (
    leads,
    people,
    quarantine,
    stage_transitions,
    sync_state,
)

LOAD_TIMESTAMPS = {"first_loaded_at", "last_changed_at"}
HUBSPOT_TOKEN = "kill-test-hubspot-token-7f3a"


def hubspot_config(folder: Path, warehouse_url: str, base_url: str) -> Path:
    """A configuration syncing one HubSpot portal's contacts (no sales side)."""
    path = folder / "leadflow.yaml"
    path.write_text(
        f"warehouse_url: {warehouse_url}\n"
        "timezone: America/New_York\n"
        "sla:\n  data_docs_dir: null\n"
        "sources:\n  hubspot:\n"
        f"    base_url: {base_url}\n"
        "    access_token: ${KILL_TEST_HUBSPOT_TOKEN}\n"
        '    portal_id: "kill-portal"\n'
        "    search_requests_per_second: 500\n"
        "    discover_properties: false\n"
        "    sales_reps: false\n    sales_touches: false\n"
        "    streams: {crm_status_changes: false}\n"
    )
    return path


def start_sync(config: Path, api_url: str, log: Path) -> subprocess.Popen[bytes]:
    """``python -m leadflow.cli.main --config CONFIG sync`` in its own session, against the
    Prefect API at ``api_url`` (no temporary server per run), output appended to ``log``."""
    env = dict(os.environ, PREFECT_API_URL=api_url, KILL_TEST_HUBSPOT_TOKEN=HUBSPOT_TOKEN)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "leadflow.cli.main", "--config", str(config), "sync"],
            cwd=config.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the sync and anything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def linger(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Let the sync run ``seconds`` longer (returns early if it exits)."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=seconds)


def wait_until(
    process: subprocess.Popen[bytes], condition: Callable[[], bool], timeout: float = 600
) -> bool:
    """Poll ``condition`` until it holds (True) or the process exits first (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if condition():
                return True
        except sa.exc.OperationalError:
            pass  # the schema may not exist yet
        time.sleep(0.05)
    raise TimeoutError("the sync neither reached the kill point nor finished")


def count_rows(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        return conn.execute(query.where(*where)).scalar_one()


def warehouse_state(url: str) -> dict[str, Any]:
    """What two warehouses must agree on after the same data was synced: every lead's
    values (load timestamps aside), quarantine, watermarks, people's stages, and each
    person's stage transitions as a multiset (a transition counted twice shows)."""
    engine = create_engine(url)
    columns = [c for c in leads.c if c.name not in LOAD_TIMESTAMPS]
    with engine.connect() as conn:
        lead_rows = conn.execute(sa.select(*columns)).mappings().all()
        state = {
            "leads": {(r["source"], r["source_lead_id"]): dict(r) for r in lead_rows},
            "lead_rows": len(lead_rows),
            "quarantine": set(
                conn.execute(
                    sa.select(quarantine.c.source, quarantine.c.record_key, quarantine.c.field)
                ).all()
            ),
            "watermarks": dict(
                conn.execute(sa.select(sync_state.c.account_id, sync_state.c.watermark)).all()
            ),
            "people": set(
                conn.execute(sa.select(people.c.person_id, people.c.stage, people.c.lifecycle))
            ),
            "transitions": Counter(
                conn.execute(
                    sa.select(
                        stage_transitions.c.person_id,
                        stage_transitions.c.from_stage,
                        stage_transitions.c.to_stage,
                        stage_transitions.c.from_lifecycle,
                        stage_transitions.c.to_lifecycle,
                    )
                ).all()
            ),
        }
    engine.dispose()
    return state


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Readable differences between two ``warehouse_state`` results (empty: equal)."""
    found = []
    if actual["lead_rows"] != len(actual["leads"]):
        found.append(f"duplicate lead keys: {actual['lead_rows']} rows")
    missing = expected["leads"].keys() - actual["leads"].keys()
    extra = actual["leads"].keys() - expected["leads"].keys()
    if missing or extra:
        found.append(f"leads: {len(missing)} missing, {len(extra)} extra")
    changed = [
        key
        for key in expected["leads"].keys() & actual["leads"].keys()
        if expected["leads"][key] != actual["leads"][key]
    ]
    if changed:
        key = changed[0]
        diff = {
            name: (value, actual["leads"][key][name])
            for name, value in expected["leads"][key].items()
            if actual["leads"][key][name] != value
        }
        found.append(f"leads: {len(changed)} differ, e.g. {key}: {sorted(diff)}")
    for name in ("quarantine", "watermarks", "people"):
        if expected[name] != actual[name]:
            found.append(f"{name} differ")
    doubled = [k for k, n in actual["transitions"].items() if n > 1]
    if doubled:
        found.append(f"{len(doubled)} transitions recorded twice, e.g. {doubled[0]}")
    if expected["transitions"] != actual["transitions"]:
        found.append("stage transitions differ")
    return found
