"""Speed to lead: every few minutes in business hours, pull what is new and check first
touches, because a nightly batch alone is exactly the delay that kills leads.

Only the fast-moving parts run: lead forms (HubSpot contacts, Meta, Google Ads and
LinkedIn lead forms) and HubSpot's sales touches, incrementally from their watermarks;
then people are reclassified and only the first-touch SLA rule is checked; last, with
``writeback.enabled``, breaches become HubSpot tasks (``leadflow.flows.writeback``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.runtime import deployment, flow_run

from leadflow.config.settings import load_settings
from leadflow.connectors.http import install_log_redaction
from leadflow.flows.partitions import run_partitions
from leadflow.flows.run_steps import (
    classify_task,
    finish_run,
    run_sla,
    sync_lock,
    upgrade_warehouse,
)
from leadflow.flows.writeback import writeback_task
from leadflow.pipeline.sources import FAST_PARTS, fast_sources

FIRST_TOUCH_RULE = "first_touch"


def _run_name() -> str:
    """``speed-to-lead-2026-11-29-1430`` (UTC)."""
    return f"{deployment.name or 'speed-to-lead'}-{datetime.now(UTC):%Y-%m-%d-%H%M}"


@flow(name="speed-to-lead", flow_run_name=_run_name, log_prints=True)
def speed_to_lead(
    config_path: str | None = None, sources: list[str] | None = None
) -> list[dict[str, Any]]:
    """Pull new leads and sales touches, reclassify, check the first-touch SLA."""
    install_log_redaction()
    settings = load_settings(config_path)
    chosen = fast_sources(settings, sources)
    with sync_lock(settings):  # one sync of the warehouse at a time, the nightly one too
        upgrade_warehouse(settings.warehouse_url)
        run_id = str(flow_run.get_id() or uuid.uuid4())
        results, failed = run_partitions(settings, run_id, chosen, imports=False, parts=FAST_PARTS)
        people = classify_task(settings, run_id)
        sla, breach = run_sla(settings, run_id, [FIRST_TOUCH_RULE])
        wrote = writeback_task(settings) if settings.writeback.enabled else None  # never fails
        note = f"People: {people}. First-touch SLA: {sla}."
        note += f" Writeback: {wrote}." if wrote is not None else ""
        key = "speed-to-lead-summary"
        rows = finish_run(settings, run_id, results, failed, key=key, note=note)
    if breach is not None:
        raise breach  # after the summary: the data is loaded, the run still ends Failed
    return rows
