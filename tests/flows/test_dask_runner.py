"""`task_runner: dask` spreads the partition tasks over a Dask LocalCluster of two worker
processes, and the warehouse ends up exactly as with the default thread pool."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes
from leadflow.config.settings import load_settings
from leadflow.flows.runner import task_runner_for
from leadflow.flows.sync_leads import sync_leads
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import ad_spend_daily, leads, people, sales_touches
from leadflow.pipeline.summaries import latest_summary

# Load bookkeeping, not content: when a row was written differs between two runs. So do
# engagement scores (they decay with the clock of the classification) and their reasons.
LOAD_STAMPS = {"first_loaded_at", "last_changed_at", "created_at", "updated_at", "classified_at"}
LOAD_STAMPS.add("engagement")
CONTENT_STAMPS = {leads.name: {"created_at", "updated_at"}}  # the platform's own times
TABLES = (leads, people, sales_touches, ad_spend_daily)


def plain(value: Any) -> Any:
    """One representation across dialects: aware UTC datetimes, parsed JSON, floats."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list):  # reasons: engagement points decay like the score
        return [v for v in value if not (isinstance(v, str) and v.startswith("engagement:"))]
    if isinstance(value, Decimal):
        return float(value)
    return value


def snapshot(warehouse_url: str, table: sa.Table) -> list[tuple]:
    keep = [
        column
        for column in table.c
        if column.name not in LOAD_STAMPS or column.name in CONTENT_STAMPS.get(table.name, ())
    ]
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*keep)).all()
    engine.dispose()
    return sorted(tuple(repr(plain(v)) for v in row) for row in rows)


def write_config(path: Path, boxes: Any, warehouse_url: str, runner: str) -> str:
    path.write_text(demo_config(boxes, warehouse_url) + f"task_runner: {runner}\ndask_workers: 2\n")
    return str(path)


def test_settings_and_runner_choice_survive_pickling(tmp_path, monkeypatch):
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    with running_sandboxes(contacts=10) as boxes:
        config = write_config(tmp_path / "c.yaml", boxes, "sqlite:///x.db", "dask")
    settings = load_settings(config)
    assert pickle.loads(pickle.dumps(settings)) == settings
    runner = task_runner_for(settings)
    assert type(runner).__name__ == "DaskTaskRunner"
    assert runner.cluster_kwargs["n_workers"] == 2
    assert type(
        task_runner_for(settings.model_copy(update={"task_runner": "thread"}))
    ).__name__ == ("ThreadPoolTaskRunner")


def test_dask_local_cluster_loads_the_same_warehouse_as_the_thread_pool(
    prefect_api, warehouse_url, tmp_path, monkeypatch
):
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    import leadflow.flows.partitions

    used = []

    def spy(settings):
        used.append(task_runner_for(settings))
        return used[-1]

    monkeypatch.setattr(leadflow.flows.partitions, "task_runner_for", spy)
    threads_url = f"sqlite:///{tmp_path / 'threads.db'}"
    with running_sandboxes(contacts=400) as boxes:
        # The demo's reps breach the critical first-touch SLA on purpose: both runs end
        # Failed for that, after loading everything; the loads are what is compared.
        for url, runner in ((threads_url, "thread"), (warehouse_url, "dask")):
            config = write_config(tmp_path / f"{runner}.yaml", boxes, url, runner)
            state = sync_leads(config_path=config, return_state=True)
            assert state.is_completed() or "SLA" in state.message, state.message
    assert [type(runner).__name__ for runner in used] == ["ThreadPoolTaskRunner", "DaskTaskRunner"]
    assert used[1].cluster_kwargs["n_workers"] == 2
    threads, dask = latest_summary(threads_url), latest_summary(warehouse_url)
    assert {r["status"] for r in threads} == {r["status"] for r in dask} == {"succeeded"}
    assert len(threads) == len(dask) > 5
    for table in TABLES:
        expected = snapshot(threads_url, table)
        assert expected, table.name
        assert snapshot(warehouse_url, table) == expected, table.name


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", None])
def test_dask_address_or_local_cluster(address, tmp_path):
    from leadflow.config.settings import parse_settings

    settings = parse_settings(
        {"task_runner": "dask", "dask_address": address, "dask_workers": 3}, origin="t", env={}
    )
    runner = task_runner_for(settings)
    if address:
        assert runner.address == address
    else:
        assert runner.cluster_kwargs["n_workers"] == 3 and runner.cluster_kwargs["processes"]


def test_an_existing_cluster_at_dask_address_runs_the_partition_tasks(
    prefect_api, tmp_path, monkeypatch
):
    from distributed import LocalCluster

    from leadflow.sandbox.data import hubspot_contacts
    from leadflow.sandbox.hubspot.app import HubSpotSandbox

    monkeypatch.setenv("HS_TOKEN", "dask-address-token")
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        HubSpotSandbox.unthrottled(hubspot_contacts(60), token="dask-address-token") as hubspot,
    ):
        config = tmp_path / "leadflow.yaml"
        config.write_text(
            f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\ntask_runner: dask\n"
            f"dask_address: {cluster.scheduler_address}\nsources:\n  hubspot:\n"
            f"    base_url: {hubspot.base_url}\n    access_token: ${{HS_TOKEN}}\n"
            "    portal_id: p1\n    sales_reps: false\n    sales_touches: false\n"
            "    streams: {crm_status_changes: false}\n"
        )
        [row] = sync_leads(config_path=str(config))
        ran = cluster.scheduler.task_prefixes
        assert ran["sync_account_task"].state_counts["memory"] == 1
    assert row["status"] == "succeeded" and row["records"] == 60
