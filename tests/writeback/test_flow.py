"""The writeback as the last step of speed-to-lead, really run by Prefect: tasks for the
first-touch breaches in the sandbox CRM, once across runs, an artifact with their ids, and
a writeback that cannot run never fails the sync."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import leadflow.flows.writeback
from leadflow.flows.speed_to_lead import speed_to_lead
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.person_links import LEAD_PERSON, leads_with_people
from leadflow.models.warehouse.tables import leads, sla_evaluations, writebacks
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from tests.flows.test_sync_leads_flow import read_artifact

TOKEN = "writeback-flow-token-321"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def write_config(tmp_path: Path, warehouse_url: str, box: HubSpotSandbox) -> str:
    config = {
        "warehouse_url": warehouse_url,
        "timezone": "America/New_York",
        "sources": {
            "hubspot": {
                "base_url": box.base_url, "access_token": "${HS_TOKEN}", "portal_id": "p1",
                "backoff_seconds": 0.05, "search_requests_per_second": 100,
            }
        },
        "sla": {"data_docs_dir": str(tmp_path / "docs")},
        # The sandbox's breaches go back months: all of them (lookback_days), in one run.
        "writeback": {"enabled": True, "rules": ["first_touch"], "max_writes_per_run": 1000,
                      "lookback_days": 3650},
    }  # fmt: skip
    path = tmp_path / "leadflow.yaml"
    path.write_text(json.dumps(config))
    return str(path)


def breaches_with_contact(warehouse_url: str) -> int:
    engine = create_engine(warehouse_url)
    e = sla_evaluations
    with engine.connect() as conn:
        tasked = sa.select(LEAD_PERSON).select_from(leads_with_people())
        tasked = tasked.where(leads.c.source == "hubspot")
        found = conn.execute(
            sa.select(sa.func.count()).where(
                e.c.rule == "first_touch", e.c.status == "breached", e.c.person_id.in_(tasked)
            )
        ).scalar_one()
    engine.dispose()
    return found


def test_speed_to_lead_writes_one_task_per_breach(
    prefect_api: None, warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    with HubSpotSandbox.unthrottled(hubspot_contacts(300), token=TOKEN) as box:
        config = write_config(tmp_path, warehouse_url, box)
        first = speed_to_lead(config_path=config, return_state=True)
        created = len(box.writes.tasks)
        second = speed_to_lead(config_path=config, return_state=True)
        tasks = box.writes.tasks
    assert first.is_completed() and second.is_completed(), (first.message, second.message)
    expected = breaches_with_contact(warehouse_url)
    assert expected > 0  # the sandbox's reps are slow on purpose
    assert created == expected and len(tasks) == expected  # none added by the second run
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        ids = set(conn.execute(sa.select(writebacks.c.object_id)).scalars())
    engine.dispose()
    assert ids == {t["id"] for t in tasks}
    artifacts = [a.data for a in read_artifact("writeback-tasks")]
    assert any(
        f"tasks created: {expected}\n" in data and tasks[-1]["id"] in data for data in artifacts
    )  # the first run's, with the task ids
    assert any("tasks created: 0\n" in data for data in artifacts)  # the second run's
    assert not any(EMAIL.search(data) for data in artifacts)


def test_a_writeback_that_cannot_run_never_fails_the_sync(
    prefect_api: None, warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HS_TOKEN", TOKEN)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the CRM is down")

    monkeypatch.setattr(leadflow.flows.writeback, "run_writeback", broken)
    with HubSpotSandbox.unthrottled(hubspot_contacts(50), token=TOKEN) as box:
        state = speed_to_lead(config_path=write_config(tmp_path, warehouse_url, box),
                              return_state=True)  # fmt: skip
        assert box.writes.tasks == []
    assert state.is_completed(), state.message
    rows = state.result()
    assert rows and all(row["status"] == "succeeded" for row in rows)
