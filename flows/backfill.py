"""The manual backfill: re-read chosen sources over a date range, from the Prefect UI.

Dates are days in the business time zone (the configuration's ``timezone``), both
inclusive. The range is read whatever the saved watermarks say; leads changed after
``until`` are left for the regular sync, and a watermark never moves past ``until``
(nor backwards: loads stay idempotent upserts). ``dry_run`` reads and maps everything
and writes nothing, so the summary says what a real run would fetch.
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from datetime import date
from typing import Annotated, Any

from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field

from leadflow.config.settings import load_settings
from leadflow.connectors.http import install_log_redaction
from leadflow.flows.partitions import run_partitions
from leadflow.flows.run_steps import classify_task, finish_run, sync_lock, upgrade_warehouse
from leadflow.pipeline.sources import choose_sources
from leadflow.pipeline.windows import backfill_window

# A calendar day; the pattern makes the API refuse a malformed date when the run is
# created (the server does not check the ``date`` format itself), the UI shows a picker.
Day = Annotated[date, Field(json_schema_extra={"pattern": r"^\d{4}-\d{2}-\d{2}$"})]


def _run_name() -> str:
    """``backfill-meta-hubspot-2026-11-01-to-2026-11-07`` (``-dry-run`` when it is)."""
    params = flow_run.parameters
    sources = "-".join(params.get("sources") or ["all"])
    name = f"backfill-{sources}-{params.get('since')}-to-{params.get('until')}"
    return f"{name}-dry-run" if params.get("dry_run") else name


@flow(name="backfill", flow_run_name=_run_name, log_prints=True)
def backfill(
    since: Day,
    until: Day,
    sources: list[str] | None = None,
    dry_run: bool = False,
    config_path: str | None = None,
) -> list[dict[str, Any]]:
    """Re-read ``sources`` (all enabled when empty) for the days ``since``..``until``.

    Lead accounts, streams and spend are read over the range (those a source's ``streams``
    switches leave on, as in every sync); CSV imports are not. Then
    people are resolved and classified again (not in a dry run).
    """
    install_log_redaction()
    settings = load_settings(config_path)
    window = backfill_window(since, until, settings.timezone, dry_run)
    chosen = choose_sources(settings, sources)
    # A dry run writes nothing, so it need not wait for a sync of the same warehouse.
    with nullcontext() if dry_run else sync_lock(settings):
        upgrade_warehouse(settings.warehouse_url)
        run_id = str(flow_run.get_id() or uuid.uuid4())
        results, failed = run_partitions(settings, run_id, chosen, imports=False, window=window)
        note = f"Backfill {since} to {until} ({settings.timezone})."
        if not dry_run:
            note += f" People: {classify_task(settings, run_id)}."
        return finish_run(
            settings, run_id, results, failed, key="backfill-summary", note=note, dry_run=dry_run
        )
