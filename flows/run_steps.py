"""The steps every sync flow shares around its partition tasks: migrate the warehouse
first, hold the sync lock, resolve and classify people, check the SLA, and publish the
run's summary table at the end."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from leadflow.config.settings import Settings
from leadflow.flows.check_sla import SlaBreached, sla_task
from leadflow.flows.partitions import running
from leadflow.models.loading.runs import SUMMARY_COLUMNS
from leadflow.models.records.masking import mask_personal
from leadflow.models.warehouse.engine import redact_url
from leadflow.models.warehouse.migrate import upgrade
from leadflow.pipeline import locks
from leadflow.pipeline.memory import release_free_memory
from leadflow.pipeline.summaries import read_summary


class SyncFailed(RuntimeError):
    """One or more sources failed; the others were synced and loaded.

    ``failed`` maps each failed partition (or source) to why, ``total`` counts them all."""

    failed: dict[str, str]
    total: int


@task(name="upgrade-warehouse", cache_policy=NO_CACHE)
def upgrade_warehouse(warehouse_url: str) -> None:
    """Apply pending Alembic migrations before anything is loaded."""
    get_run_logger().info("warehouse %s: applying migrations", redact_url(warehouse_url))
    upgrade(warehouse_url)


def sync_lock(settings: Settings) -> AbstractContextManager[None]:
    """The warehouse's sync lock: a second sync waits ``sync.lock_wait_minutes``, then fails
    (``leadflow sync`` takes it before the flow starts and passes it on)."""

    def waiting() -> None:
        get_run_logger().warning(locks.waiting_message(settings))

    return locks.sync_lock(settings, on_wait=waiting)


@task(name="resolve-and-classify", cache_policy=NO_CACHE)
def classify_task(settings: Settings, run_id: str) -> dict:
    """Resolve people across platforms and classify each: one task for the whole run (it
    works in batches of people inside)."""
    from leadflow.models.people.rules import load_rules
    from leadflow.pipeline.people import resolve_and_classify

    # The loads' freed pages first, identity's after: each stage's peak starts lower.
    release_free_memory()
    with (
        running(settings, run_id) as run,
        # Every flow classifies through here: one at a time, or a change counts twice.
        locks.people_lock(settings),
    ):
        summary = resolve_and_classify(
            run.engine,
            rules=load_rules(settings.classification_rules),
            now=run.clock(),
            run_id=run_id,
            logger=run.logger,
            hash_salt=settings.privacy.salt(),
        )
    release_free_memory()
    run.logger.info("people: %s", summary)
    return summary


def run_sla(
    settings: Settings, run_id: str, rules: list[str] | None = None
) -> tuple[dict | str, Exception | None]:
    """The SLA task after the loads: its summary, and the breach to raise at the end."""
    try:
        return sla_task(settings, run_id, rules), None
    except SlaBreached as breach:
        return f"failed: {breach}", breach


def finish_run(
    settings: Settings,
    run_id: str,
    results: Mapping[str, dict[str, Any]],
    failed: Mapping[str, str],
    *,
    key: str = "sync-leads-summary",
    note: str = "",
    dry_run: bool = False,
) -> list[dict[str, Any]]:
    """Publish the run's summary table artifact; raise SyncFailed naming what failed.

    The rows are what the warehouse recorded (``sync_runs``), or, in a dry run, which
    writes nothing, what the tasks returned.
    """
    if dry_run:
        rows = [{c: row.get(c) for c in SUMMARY_COLUMNS} for row in results.values()]
        rows.sort(key=lambda row: (row["source"], row["account_id"]))
    else:
        rows = read_summary(settings.warehouse_url, run_id)
    what = "would be fetched (dry run, nothing written)" if dry_run else "was fetched and loaded"
    create_table_artifact(
        key=key,
        table=_artifact_rows(rows),
        description=f"Sync run {run_id}: per source, what {what}. {note}".strip(),
    )
    if failed:
        names = ", ".join(f"{name} ({why})" for name, why in failed.items())
        total = len(results) + len(failed)
        error = SyncFailed(mask_personal(f"{len(failed)} of {total} syncs failed: {names}"))
        error.failed, error.total = dict(failed), total  # kept when pickled (__dict__)
        raise error
    return rows


def _artifact_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the artifact shows them: times as ISO text, text masked (no email or
    phone, whatever a message carried)."""
    return [{k: artifact_value(v) for k, v in row.items()} for row in rows]


def artifact_value(value: Any) -> Any:
    """One cell of a summary artifact: a time as ISO text, text masked, the rest as is."""
    if isinstance(value, datetime):
        return value.isoformat()
    return mask_personal(value) if isinstance(value, str) else value
