"""The nightly sync: every enabled source into the warehouse, one task per partition."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from prefect import flow
from prefect.runtime import deployment, flow_run

from leadflow.config.settings import load_settings
from leadflow.connectors.http import install_log_redaction
from leadflow.flows.check_sla import publish_report
from leadflow.flows.crashed import record_process
from leadflow.flows.partitions import run_partitions
from leadflow.flows.run_steps import (
    SyncFailed as SyncFailed,  # re-exported: what a failed sync raises
)
from leadflow.flows.run_steps import (
    classify_task,
    finish_run,
    run_sla,
    sync_lock,
    upgrade_warehouse,
)
from leadflow.pipeline.sources import choose_sources


def _run_name() -> str:
    """``<deployment>-YYYY-MM-DD`` (``nightly-sync-2026-11-29``), else ``sync-leads-...``."""
    return f"{deployment.name or 'sync-leads'}-{datetime.now(UTC):%Y-%m-%d}"


# record_process: the run's process, for the next start to find it gone (flows/crashed.py).
@flow(name="sync-leads", flow_run_name=_run_name, log_prints=True, on_running=[record_process])
def sync_leads(config_path: str | None = None, sources: list[str] | None = None) -> list[dict]:
    """Sync every enabled source (or the named ones) into the warehouse.

    Sources run side by side; one failing does not stop the others. The run ends Failed,
    naming the failed sources, after the rest were loaded.
    """
    install_log_redaction()
    settings = load_settings(config_path)
    chosen = choose_sources(settings, sources)
    with sync_lock(settings):  # one sync at a time per warehouse (models/warehouse/run_lock.py)
        upgrade_warehouse(settings.warehouse_url)
        run_id = str(flow_run.get_id() or uuid.uuid4())
        results, failed = run_partitions(settings, run_id, chosen, imports=not sources)
        people = classify_task(settings, run_id)
        sla, breach = run_sla(settings, run_id)
        publish_report(settings)
        note = f"People: {people}. SLA: {sla}."
        rows = finish_run(settings, run_id, results, failed, note=note)
    if breach is not None:
        raise breach  # after the summary: the data is loaded, the run still ends Failed
    return rows
