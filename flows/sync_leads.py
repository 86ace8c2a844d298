"""The nightly sync: every enabled source into the warehouse, one task per source."""

from __future__ import annotations

import glob
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from sqlalchemy import func, select

from connectors import REGISTRY, AdPlatformConfig, SourceConfig
from connectors.http import install_log_redaction, redact
from flows.config import CsvImportSettings, Settings, load_settings
from flows.import_csv import import_file
from flows.source_sync import (
    RunContext,
    SourceSummary,
    record_run,
    sync_account,
    sync_spend,
    sync_stream,
)
from models.load import LoadCounts
from models.migrate import upgrade
from models.tables import people, sync_runs
from models.warehouse import create_engine, redact_url

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
def _running(settings: Settings, run_id: str) -> Iterator[RunContext]:
    """What a task shares with the run: its own engine (disposed after) and the logger."""
    run = RunContext(
        engine=create_engine(settings.warehouse_url),
        run_id=run_id,
        flow_run_id=flow_run.get_id(),
        default_region=settings.default_region,
        safety_lag=timedelta(minutes=settings.sync.safety_lag_minutes),
        logger=get_run_logger(),
    )
    try:
        yield run
    finally:
        run.engine.dispose()


@task(name="sync-leads", task_run_name="leads-{name}-{account}", cache_policy=NO_CACHE)
def sync_account_task(
    name: str, source: SourceConfig, account: str, settings: Settings, run_id: str
) -> None:
    """Extract, normalize and load one account's leads."""
    with _running(settings, run_id) as run:
        summary = sync_account(REGISTRY[source.type], source, account, run)
    run.logger.info(
        "%s %s: %d records in %d pages, %d inserted, %d updated, %d unchanged, %d quarantined",
        name, account, summary.records, summary.pages, summary.inserted,
        summary.updated, summary.unchanged, summary.quarantined,
    )  # fmt: skip


@task(name="sync-spend", task_run_name="spend-{name}-{account}", cache_policy=NO_CACHE)
def sync_spend_task(
    name: str, source: AdPlatformConfig, account: str, settings: Settings, run_id: str
) -> None:
    """Load one ad account's daily campaign spend."""
    with _running(settings, run_id) as run:
        summary = sync_spend(REGISTRY[source.type], source, account, run)
    run.logger.info("%s %s: %d campaign days", name, account, summary.records)


@task(name="sync-stream", task_run_name="{stream}-{name}-{account}", cache_policy=NO_CACHE)
def sync_stream_task(
    name: str, source: SourceConfig, stream: str, account: str, settings: Settings, run_id: str
) -> None:
    """Extract and load one account of a non-lead stream (engagement, touches, reps)."""
    connector = REGISTRY[source.type]
    spec = next(s for s in connector.streams if s.name == stream)
    with _running(settings, run_id) as run:
        summary = sync_stream(connector, spec, source, account, run)
    run.logger.info("%s %s %s: %d records", name, stream, account, summary.records)


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


def submit_imports(settings: Settings, run_id: str) -> dict:
    """One task per file matched by the ``csv_imports`` globs."""
    futures = {}
    for entry in settings.csv_imports:
        for path in sorted(glob.glob(entry.path)):
            futures[f"{entry.source}/csv:{path}"] = import_file_task.submit(
                path, entry, settings, run_id
            )
    return futures


def submit_source(name: str, source: SourceConfig, settings: Settings, run_id: str) -> dict:
    """Submit one task per lead account and per spend account of a source."""
    connector = REGISTRY[source.type]
    futures = {
        f"{name}/{account}": sync_account_task.submit(name, source, account, settings, run_id)
        for account in connector.accounts(source)
    }
    for stream in connector.streams:
        for account in stream.accounts(source):
            futures[f"{name}/{stream.name}:{account}"] = sync_stream_task.submit(
                name, source, stream.name, account, settings, run_id
            )
    if connector.spend is not None and connector.spend_accounts is not None:
        for account in connector.spend_accounts(source):
            futures[f"{name}/spend:{account}"] = sync_spend_task.submit(
                name, source, account, settings, run_id
            )
    return futures


def _run_name() -> str:
    return f"sync-leads-{datetime.now(UTC):%Y-%m-%d}"


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


@task(name="resolve-and-classify", cache_policy=NO_CACHE)
def classify_task(settings: Settings, run_id: str) -> dict:
    """Resolve people across platforms and classify each: one task for the whole run (it
    works in batches of people inside)."""
    from flows.classify_people import resolve_and_classify
    from models.rules import load_rules

    with _running(settings, run_id) as run:
        summary = resolve_and_classify(
            run.engine,
            rules=load_rules(settings.classification_rules),
            now=run.clock(),
            run_id=run_id,
            logger=run.logger,
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
    chosen = {
        name: source
        for name, source in settings.enabled_sources().items()
        if not sources or name in sources
    }
    upgrade_warehouse(settings.warehouse_url)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    futures, failed = {}, {}
    for name, source in chosen.items():
        try:  # listing a source's accounts may call its API (e.g. Mailchimp's lists)
            futures.update(submit_source(name, source, settings, run_id))
        except Exception as error:
            failed[name] = redact(f"{type(error).__name__}: {error}")
    if not sources:
        futures.update(submit_imports(settings, run_id))
    for name, future in futures.items():
        try:
            future.result()
        except Exception as error:
            failed[name] = redact(f"{type(error).__name__}: {error}")
    people = classify_task(settings, run_id)
    rows = read_summary(settings.warehouse_url, run_id)
    create_table_artifact(
        key="sync-leads-summary",
        table=_artifact_rows(rows),
        description=(
            f"Sync run {run_id}: per source, what was fetched and loaded. People: {people}."
        ),
    )
    if failed:
        names = ", ".join(f"{name} ({why})" for name, why in failed.items())
        total = len(futures) + len(set(failed) - set(futures))
        raise SyncFailed(f"{len(failed)} of {total} syncs failed: {names}")
    return rows
