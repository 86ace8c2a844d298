"""The nightly sync: every enabled source into the warehouse, one task per source."""

from __future__ import annotations

import glob
import uuid
from collections.abc import Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import deployment, flow_run
from prefect.task_runners import TaskRunner
from sqlalchemy import func, select

from leadflow.config.settings import CsvImportSettings, Settings, load_settings
from leadflow.connectors.base import AdPlatformConfig, SourceConfig
from leadflow.connectors.http import install_log_redaction, redact, register_secret
from leadflow.connectors.registry import REGISTRY
from leadflow.flows.check_sla import SlaBreached, publish_report, sla_task
from leadflow.flows.import_csv import import_file
from leadflow.flows.progress import PageProgress
from leadflow.flows.runner import task_runner_for, wait_for_partitions
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.warehouse.engine import create_engine, redact_url
from leadflow.models.warehouse.migrate import upgrade
from leadflow.models.warehouse.tables import people, sync_runs
from leadflow.pipeline.source_sync import (
    RunContext,
    SourceSummary,
    SyncWindow,
    record_run,
    sync_account,
    sync_spend,
    sync_stream,
)

SUMMARY_COLUMNS = (
    "source",
    "account_id",
    "status",
    "pages",
    "records",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "watermark",
    "seconds",
    "error",
    "warnings",
)


COUNT_KEYS = ("inserted", "updated", "unchanged", "quarantined")


class SyncFailed(RuntimeError):
    """One or more sources failed; the others were synced and loaded."""


@task(name="upgrade-warehouse", cache_policy=NO_CACHE)
def upgrade_warehouse(warehouse_url: str) -> None:
    """Apply pending Alembic migrations before anything is loaded."""
    get_run_logger().info("warehouse %s: applying migrations", redact_url(warehouse_url))
    upgrade(warehouse_url)


@contextmanager
def _running(
    settings: Settings,
    run_id: str,
    window: SyncWindow | None = None,
    progress: PageProgress | None = None,
) -> Iterator[RunContext]:
    """What a task shares with the run: its own engine (disposed after) and the logger.

    Redaction is set up here too: on a Dask worker the task runs in another process,
    which has not seen the configuration load that registered the secrets.
    """
    install_log_redaction()
    for source in settings.sources.values():
        for secret in source.secrets():
            register_secret(secret.get_secret_value())
    window = window or SyncWindow()
    run = RunContext(
        engine=create_engine(settings.warehouse_url),
        run_id=run_id,
        flow_run_id=flow_run.get_id(),
        default_region=settings.default_region,
        safety_lag=timedelta(minutes=settings.sync.safety_lag_minutes),
        logger=get_run_logger(),
        since=window.since,
        until=window.until,
        dry_run=window.dry_run,
        on_page=progress,
        hash_salt=settings.privacy.salt(),
    )
    try:
        yield run
    finally:
        run.engine.dispose()
    if progress is not None:
        progress.finish()


def _row(summary: SourceSummary, run: RunContext) -> dict[str, Any]:
    """A task's result: its summary row as plain values (it crosses processes on Dask)."""
    return summary.row(run.run_id, run.flow_run_id, run.clock())


@task(name="sync-leads", task_run_name="leads-{name}-{account}", cache_policy=NO_CACHE)
def sync_account_task(
    name: str,
    source: SourceConfig,
    account: str,
    settings: Settings,
    run_id: str,
    window: SyncWindow | None = None,
) -> dict[str, Any]:
    """Extract, normalize and load one account's leads."""
    progress = PageProgress(f"{name} {account}")
    with _running(settings, run_id, window, progress) as run:
        summary = sync_account(REGISTRY[source.type], source, account, run)
    run.logger.info(
        "%s %s: %d records in %d pages, %d inserted, %d updated, %d unchanged, %d quarantined",
        name, account, summary.records, summary.pages, summary.inserted,
        summary.updated, summary.unchanged, summary.quarantined,
    )  # fmt: skip
    return _row(summary, run)


@task(name="sync-spend", task_run_name="spend-{name}-{account}", cache_policy=NO_CACHE)
def sync_spend_task(
    name: str,
    source: AdPlatformConfig,
    account: str,
    settings: Settings,
    run_id: str,
    window: SyncWindow | None = None,
) -> dict[str, Any]:
    """Load one ad account's daily campaign spend."""
    with _running(settings, run_id, window) as run:
        summary = sync_spend(REGISTRY[source.type], source, account, run)
    run.logger.info("%s %s: %d campaign days", name, account, summary.records)
    return _row(summary, run)


@task(name="sync-stream", task_run_name="{stream}-{name}-{account}", cache_policy=NO_CACHE)
def sync_stream_task(
    name: str,
    source: SourceConfig,
    stream: str,
    account: str,
    settings: Settings,
    run_id: str,
    window: SyncWindow | None = None,
) -> dict[str, Any]:
    """Extract and load one account of a non-lead stream (engagement, touches, reps)."""
    connector = REGISTRY[source.type]
    spec = next(s for s in connector.streams if s.name == stream)
    progress = PageProgress(f"{name} {stream} {account}")
    with _running(settings, run_id, window, progress) as run:
        summary = sync_stream(connector, spec, source, account, run)
    run.logger.info("%s %s %s: %d records", name, stream, account, summary.records)
    return _row(summary, run)


@task(name="import-file", task_run_name="import-{path}", cache_policy=NO_CACHE)
def import_file_task(path: str, entry: CsvImportSettings, settings: Settings, run_id: str) -> None:
    """Import one lead export file named by ``csv_imports``; one sync_runs row."""
    mapping = entry.mapping
    if isinstance(mapping, str):
        mapping = settings.csv_mappings[mapping]  # names are checked when the config loads
    with _running(settings, run_id) as run:
        summary = SourceSummary(entry.source, f"csv:{Path(path).name}", started_at=run.clock())

        def body() -> None:
            result = import_file(
                path, source=entry.source, settings=settings, mapping=mapping,
                account_id=entry.account_id, now=run.clock(), migrate=False,
            )  # fmt: skip
            summary.add(result["rows"], LoadCounts(*(result[k] for k in COUNT_KEYS)), None)
            summary.warnings.extend(result["problems"])

        record_run(summary, run, body)


def submit_imports(settings: Settings, run_id: str, runner: TaskRunner) -> dict:
    """One task per file matched by the ``csv_imports`` globs."""
    futures = {}
    for entry in settings.csv_imports:
        for path in sorted(glob.glob(entry.path)):
            params = {"path": path, "entry": entry, "settings": settings, "run_id": run_id}
            futures[f"{entry.source}/csv:{path}"] = runner.submit(import_file_task, params)
    return futures


def submit_source(
    name: str,
    source: SourceConfig,
    settings: Settings,
    run_id: str,
    runner: TaskRunner,
    parts: Collection[str] | None = None,
    window: SyncWindow | None = None,
) -> dict:
    """Submit one task per lead account, stream account and spend account of a source.

    ``parts`` narrows what is synced: ``leads``, ``spend`` and stream names (None: all).
    """
    connector = REGISTRY[source.type]
    common = {"name": name, "source": source, "settings": settings, "run_id": run_id}
    common["window"] = window
    futures = {}
    if parts is None or "leads" in parts:
        for account in connector.accounts(source):
            params = {**common, "account": account}
            futures[f"{name}/{account}"] = runner.submit(sync_account_task, params)
    for stream in connector.streams:
        if parts is not None and stream.name not in parts:
            continue
        for account in stream.accounts(source):
            params = {**common, "stream": stream.name, "account": account}
            futures[f"{name}/{stream.name}:{account}"] = runner.submit(sync_stream_task, params)
    wants_spend = parts is None or "spend" in parts
    if wants_spend and connector.spend is not None and connector.spend_accounts is not None:
        for account in connector.spend_accounts(source):
            params = {**common, "account": account}
            futures[f"{name}/spend:{account}"] = runner.submit(sync_spend_task, params)
    return futures


def run_partitions(
    settings: Settings,
    run_id: str,
    chosen: Mapping[str, SourceConfig],
    *,
    imports: bool = True,
    parts: Collection[str] | None = None,
    window: SyncWindow | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Run every partition task of the chosen sources on the configured task runner.

    Returns each partition's summary row and, per failed partition (or source whose
    accounts could not be listed), why it failed.
    """
    futures, failed = {}, {}
    with task_runner_for(settings) as runner:
        for name, source in chosen.items():
            try:  # listing a source's accounts may call its API (e.g. Mailchimp's lists)
                futures.update(submit_source(name, source, settings, run_id, runner, parts, window))
            except Exception as error:
                failed[name] = redact(f"{type(error).__name__}: {error}")
        if imports:
            futures.update(submit_imports(settings, run_id, runner))
        results, task_failures = wait_for_partitions(futures, f"run {run_id}")
    return results, {**failed, **task_failures}


def _run_name() -> str:
    """``<deployment>-YYYY-MM-DD`` (``nightly-sync-2026-11-29``), else ``sync-leads-...``."""
    return f"{deployment.name or 'sync-leads'}-{datetime.now(UTC):%Y-%m-%d}"


def read_summary(warehouse_url: str, run_id: str) -> list[dict[str, Any]]:
    """The ``sync_runs`` rows of one run: what the warehouse says happened."""
    engine = create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            query = select(sync_runs).where(sync_runs.c.run_id == run_id)
            rows = conn.execute(query.order_by(sync_runs.c.source)).mappings().all()
    finally:
        engine.dispose()
    return [{column: row[column] for column in SUMMARY_COLUMNS} for row in rows]


def latest_summary(warehouse_url: str) -> list[dict[str, Any]]:
    """The summary of the most recently finished run."""
    engine = create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            query = select(sync_runs.c.run_id).order_by(sync_runs.c.finished_at.desc()).limit(1)
            run_id = conn.execute(query).scalar()
    finally:
        engine.dispose()
    return read_summary(warehouse_url, run_id) if run_id else []


def people_summary(warehouse_url: str) -> dict[str, int]:
    """How many people the warehouse holds per lifecycle stage."""
    engine = create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            query = select(people.c.lifecycle, func.count()).group_by(people.c.lifecycle)
            counts = {str(stage): count for stage, count in conn.execute(query).all()}
    finally:
        engine.dispose()
    return dict(sorted(counts.items()))


def _artifact_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        for row in rows
    ]


def choose_sources(
    settings: Settings, names: Collection[str] | None = None
) -> dict[str, SourceConfig]:
    """The enabled sources, or the named ones; a name that is not configured is an error."""
    if names:
        unknown = sorted(set(names) - set(settings.sources))
        if unknown:
            known = ", ".join(sorted(settings.sources)) or "none"
            raise ValueError(f"unknown source {', '.join(unknown)} (configured: {known})")
    enabled = settings.enabled_sources()
    return {name: source for name, source in enabled.items() if not names or name in names}


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
        raise SyncFailed(f"{len(failed)} of {total} syncs failed: {names}")
    return rows


@task(name="resolve-and-classify", cache_policy=NO_CACHE)
def classify_task(settings: Settings, run_id: str) -> dict:
    """Resolve people across platforms and classify each: one task for the whole run (it
    works in batches of people inside)."""
    from leadflow.models.people.rules import load_rules
    from leadflow.models.warehouse.run_lock import warehouse_lock
    from leadflow.pipeline.people import resolve_and_classify

    wait = settings.sync.lock_wait_minutes * 60

    with (
        _running(settings, run_id) as run,
        # Every flow classifies through here: one at a time, or a change counts twice.
        warehouse_lock(settings.warehouse_url, "people", wait_seconds=wait),
    ):
        summary = resolve_and_classify(
            run.engine,
            rules=load_rules(settings.classification_rules),
            now=run.clock(),
            run_id=run_id,
            logger=run.logger,
            hash_salt=settings.privacy.salt(),
        )
    run.logger.info("people: %s", summary)
    return summary


@flow(name="sync-leads", flow_run_name=_run_name, log_prints=True)
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


def sync_lock(settings: Settings) -> AbstractContextManager[None]:
    """The warehouse's sync lock: a second sync waits ``sync.lock_wait_minutes``, then fails."""
    from leadflow.models.warehouse.run_lock import warehouse_lock

    def waiting() -> None:
        get_run_logger().warning("another sync of this warehouse is running: waiting for it")

    wait = settings.sync.lock_wait_minutes * 60
    return warehouse_lock(settings.warehouse_url, "sync", wait_seconds=wait, on_wait=waiting)


def run_sla(
    settings: Settings, run_id: str, rules: list[str] | None = None
) -> tuple[dict | str, Exception | None]:
    """The SLA task after the loads: its summary, and the breach to raise at the end."""
    try:
        return sla_task(settings, run_id, rules), None
    except SlaBreached as breach:
        return f"failed: {breach}", breach
