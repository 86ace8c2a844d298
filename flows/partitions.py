"""A sync's partition tasks: one Prefect task per lead account, stream account, spend
account and lead export file, submitted to the configured task runner and awaited.

Each task is a thin wrapper over ``leadflow.pipeline`` (``source_sync``, ``file_import``):
it opens the warehouse for itself (on Dask it runs in another process), runs the partition
and returns its summary row. Around the tasks, ``run_partitions`` defers the secondary
indexes of an empty ``leads`` until every partition has loaded
(``leadflow.models.warehouse.indexes``).
"""

from __future__ import annotations

import glob
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import TaskRunner

from leadflow.config.secrets import register_settings_secrets
from leadflow.config.settings import CsvImportSettings, Settings
from leadflow.connectors.base import AdPlatformConfig, SourceConfig
from leadflow.connectors.http import install_log_redaction, redact
from leadflow.connectors.registry import REGISTRY
from leadflow.flows.progress import PageProgress
from leadflow.flows.runner import task_runner_for, wait_for_partitions
from leadflow.models.warehouse.engine import open_warehouse
from leadflow.models.warehouse.indexes import deferred_lead_indexes
from leadflow.pipeline.file_import import sync_file
from leadflow.pipeline.run import RunContext, SourceSummary, SyncWindow
from leadflow.pipeline.source_sync import sync_account, sync_spend, sync_stream


@contextmanager
def running(
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
    register_settings_secrets(settings)
    window = window or SyncWindow()
    with open_warehouse(settings.warehouse_url) as engine:
        yield RunContext(
            engine=engine,
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
    with running(settings, run_id, window, progress) as run:
        summary = sync_account(REGISTRY[source.type], source, account, run, name)
    run.logger.info(
        "%s %s: %d records in %d pages, %d inserted, %d updated, %d unchanged, %d quarantined, "
        "%d suppressed, %d duplicates",
        name, account, summary.records, summary.pages, summary.inserted, summary.updated,
        summary.unchanged, summary.quarantined, summary.suppressed, summary.duplicates,
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
    with running(settings, run_id, window) as run:
        summary = sync_spend(REGISTRY[source.type], source, account, run, name)
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
    with running(settings, run_id, window, progress) as run:
        summary = sync_stream(connector, spec, source, account, run, name)
    run.logger.info("%s %s %s: %d records", name, stream, account, summary.records)
    return _row(summary, run)


@task(name="import-file", task_run_name="import-{path}", cache_policy=NO_CACHE)
def import_file_task(path: str, entry: CsvImportSettings, settings: Settings, run_id: str) -> None:
    """Import one lead export file named by ``csv_imports``; one sync_runs row."""
    with running(settings, run_id) as run:
        sync_file(path, entry, settings, run)


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

    ``parts`` narrows what is synced: ``leads``, ``spend`` and stream names (None: all);
    the source's ``streams`` switches narrow it too (a stream switched off is not even
    listed: its accounts are not asked for).
    """
    connector = REGISTRY[source.type]
    common = {"name": name, "source": source, "settings": settings, "run_id": run_id}
    common["window"] = window
    futures = {}

    def wanted(stream: str) -> bool:
        return (parts is None or stream in parts) and source.stream_on(stream)

    if wanted("leads"):
        for account in connector.accounts(source):
            params = {**common, "account": account}
            futures[f"{name}/{account}"] = runner.submit(sync_account_task, params)
    for stream in connector.streams:
        if not wanted(stream.name):
            continue
        for account in stream.accounts(source):
            params = {**common, "stream": stream.name, "account": account}
            futures[f"{name}/{stream.name}:{account}"] = runner.submit(sync_stream_task, params)
    if wanted("spend") and connector.spend is not None and connector.spend_accounts is not None:
        for account in connector.spend_accounts(source):
            params = {**common, "account": account}
            futures[f"{name}/spend:{account}"] = runner.submit(sync_spend_task, params)
    return futures


@contextmanager
def _first_load_indexes(settings: Settings, window: SyncWindow | None) -> Iterator[None]:
    """On an empty ``leads``, its secondary indexes are dropped before the loads and built
    after them (before the people layer, which reads by them); a run starting on a non-empty
    table builds any a stopped run left missing. A dry run writes nothing: no change."""
    if window is not None and window.dry_run:
        yield
        return
    logger = get_run_logger()
    with open_warehouse(settings.warehouse_url) as engine, deferred_lead_indexes(engine, logger):
        yield


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
    with _first_load_indexes(settings, window), task_runner_for(settings) as runner:
        for name, source in chosen.items():
            try:  # listing a source's accounts may call its API (e.g. Mailchimp's lists)
                futures.update(submit_source(name, source, settings, run_id, runner, parts, window))
            except Exception as error:
                failed[name] = redact(f"{type(error).__name__}: {error}")
        if imports:
            futures.update(submit_imports(settings, run_id, runner))
        results, task_failures = wait_for_partitions(futures, f"run {run_id}")
    return results, {**failed, **task_failures}
