"""Sync one account of one source into the warehouse: leads, or daily campaign spend.

Plain functions, so the flow's tasks are thin wrappers and the logic is testable alone.
Every page is committed in its own transaction together with the watermark it allows, so
a killed run resumes from its last committed page and loses nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from leadflow.connectors.base import (
    AdPlatformConfig,
    Connector,
    LeadContext,
    Page,
    SourceConfig,
    Stream,
)
from leadflow.connectors.http import redact
from leadflow.models.loading.activity import load_stream
from leadflow.models.loading.leads import LoadCounts, load_batch, read_sync_state, record_sync_run
from leadflow.models.loading.spend import load_spend
from leadflow.models.privacy.suppression import drop_suppressed
from leadflow.models.records.leads import InvalidRecord, Lead, Rejected
from leadflow.models.warehouse.engine import in_write_transaction, write_transaction

log = logging.getLogger(__name__)
Logger = logging.Logger | logging.LoggerAdapter
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SourceSummary:
    """What one account's sync did; one row of ``sync_runs`` and of the run summary."""

    source: str
    account_id: str
    status: str = "running"
    pages: int = 0
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    watermark: datetime | None = None
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    started_at: datetime = field(default_factory=utcnow)

    def add(self, records: int, counts: LoadCounts, watermark: datetime | None) -> None:
        self.pages += 1
        self.records += records
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.quarantined += counts.quarantined
        if watermark is not None:
            self.watermark = max(self.watermark or watermark, watermark)

    def row(self, run_id: str, flow_run_id: str | None, finished_at: datetime) -> dict[str, Any]:
        values = asdict(self)
        values["warnings"] = "\n".join(self.warnings) or None
        return {**values, "run_id": run_id, "flow_run_id": flow_run_id, "finished_at": finished_at}


@dataclass(frozen=True)
class SyncWindow:
    """A backfill's bounds (UTC), passed to partition tasks as a plain value."""

    since: datetime | None = None
    until: datetime | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class RunContext:
    """What every account sync of one flow run shares."""

    engine: Engine
    run_id: str
    flow_run_id: str | None = None
    default_region: str | None = None
    safety_lag: timedelta = timedelta(minutes=5)
    clock: Callable[[], datetime] = utcnow
    logger: Logger = log
    # A backfill: read from ``since`` whatever the watermark says, load only records up to
    # ``until`` and never let the watermark pass it; a dry run reads and maps, writes nothing.
    since: datetime | None = None
    until: datetime | None = None
    dry_run: bool = False
    # Called after each page with the page and its partition's window start (progress).
    on_page: Callable[[SourceSummary, Page, datetime | None], None] | None = None
    # privacy.hash_salt: records of people in the suppression list are skipped.
    hash_salt: str | None = None


def map_records(
    to_rows: Callable[[Mapping[str, Any], LeadContext], list[Any]],
    record_key: Callable[[Mapping[str, Any]], str | None],
    records: Iterable[Mapping[str, Any]],
    context: LeadContext,
) -> tuple[list[Any], list[Rejected]]:
    """Map raw records to rows; a record that cannot be mapped becomes a Rejected naming
    the source, the record and the field, so nothing is dropped silently."""
    rows: list[Any] = []
    rejected: list[Rejected] = []
    for record in records:
        try:
            rows.extend(to_rows(record, context))
        except InvalidRecord as error:
            rejected.append(Rejected.from_error(error, context.account_id, record))
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            key = _safe_key(record_key, record)
            problem = InvalidRecord(context.source, key, "<record>", f"malformed: {error!r}")
            rejected.append(Rejected.from_error(problem, context.account_id, record))
    return rows, rejected


def normalize_records(
    connector: Connector, records: Iterable[Mapping[str, Any]], context: LeadContext
) -> tuple[list[Lead], list[Rejected]]:
    """Map raw records to Leads; a record that cannot be mapped becomes a Rejected."""
    return map_records(
        lambda record, ctx: [connector.to_lead(record, ctx)], connector.record_key, records, context
    )


def _safe_key(record_key: Callable[[Mapping[str, Any]], str | None], record: Any) -> str | None:
    try:
        return record_key(record)
    except Exception:  # hostile input: the key itself may be unreadable
        return None


def extraction_start(watermark: datetime | None, source: SourceConfig) -> datetime | None:
    """Where to start reading: the watermark minus the lookback, else the start date."""
    if watermark is None:
        return source.start_date
    return watermark - timedelta(minutes=source.lookback_minutes)


def window_start(
    watermark: datetime | None, source: SourceConfig, run: RunContext
) -> datetime | None:
    """A backfill's ``since``, else where the incremental sync starts."""
    return run.since if run.since is not None else extraction_start(watermark, source)


def run_ceiling(started_at: datetime, run: RunContext) -> datetime:
    """The highest watermark this run may save: run start minus the lag, and ``until``."""
    ceiling = started_at - run.safety_lag
    return ceiling if run.until is None else min(ceiling, run.until)


def within_until(leads: list[Lead], until: datetime | None) -> list[Lead]:
    """The leads a backfill loads: those last changed by ``until`` (all when None)."""
    return leads if until is None else [lead for lead in leads if lead.updated_at <= until]


def watermark_for(page_cursor: datetime | None, ceiling: datetime) -> datetime | None:
    """The bookmark a committed page allows: the highest cursor seen, capped at the ceiling.

    The ceiling (run start minus a safety lag) keeps records that were being written while
    the run read its pages inside the next run's window.
    """
    if page_cursor is None:
        return None
    return min(page_cursor, ceiling)


def spend_window(
    watermark: datetime | None, source: AdPlatformConfig, today: date
) -> tuple[date, date]:
    """Days of spend to read: from the saved day minus the restatement window, to today."""
    if watermark is None:
        return today - timedelta(days=source.spend_initial_days), today
    return watermark.date() - timedelta(days=source.spend_lookback_days), today


def record_run(summary: SourceSummary, run: RunContext, body: Callable[[], None]) -> SourceSummary:
    """Run ``body``, timing it, and write the ``sync_runs`` row whatever happens."""
    began = time.perf_counter()
    try:
        body()
        summary.status = "succeeded"
    except Exception as error:
        summary.status, summary.error = "failed", redact(f"{type(error).__name__}: {error}")
        raise
    finally:
        summary.seconds = round(time.perf_counter() - began, 3)
        if not run.dry_run:
            with write_transaction(run.engine) as conn:
                record_sync_run(conn, summary.row(run.run_id, run.flow_run_id, run.clock()))
    return summary


def sync_account(
    connector: Connector, source: SourceConfig, account: str, run: RunContext
) -> SourceSummary:
    """Extract, normalize and load one account's leads; records a ``sync_runs`` row."""
    summary = SourceSummary(connector.name, account, started_at=run.clock())
    return record_run(summary, run, lambda: _load_pages(connector, source, account, run, summary))


def _load_pages(
    connector: Connector,
    source: SourceConfig,
    account: str,
    run: RunContext,
    summary: SourceSummary,
) -> None:
    context = LeadContext(connector.name, account, run.default_region)
    ceiling = run_ceiling(summary.started_at, run)

    starts: dict[str, datetime | None] = {}

    def start_for(partition: str) -> datetime | None:
        with write_transaction(run.engine) as conn:
            state = read_sync_state(conn, connector.name, partition)
        if state is not None and state.watermark is not None:
            summary.watermark = max(summary.watermark or state.watermark, state.watermark)
        starts[partition] = window_start(state.watermark if state else None, source, run)
        return starts[partition]

    client = connector.open(source)
    try:
        for page in connector.pages(client, account, start_for):
            leads, rejected = normalize_records(connector, page.records, context)
            leads = within_until(leads, run.until)
            watermark = watermark_for(page.cursor, ceiling)
            if run.dry_run:
                counts = LoadCounts(0, 0, 0, len(rejected))
            else:
                write = partial(
                    _write_lead_page, run=run, source=connector.name, account=account,
                    partition=page.partition, leads=leads, rejected=rejected, watermark=watermark,
                )  # fmt: skip
                counts = in_write_transaction(run.engine, write, logger=run.logger)
            summary.add(len(page.records), counts, watermark)
            summary.warnings.extend(page.notes)
            if run.on_page is not None:
                run.on_page(summary, page, starts.get(page.partition))
            run.logger.info(
                "%s %s page %d: %d records, %d new, %d changed, %d quarantined",
                connector.name, page.partition, page.number, len(page.records),
                counts.inserted, counts.updated, counts.quarantined,
            )  # fmt: skip
    finally:
        _close(client)


def _write_lead_page(
    conn: Connection,
    *,
    run: RunContext,
    source: str,
    account: str,
    partition: str,
    leads: list[Lead],
    rejected: list[Rejected],
    watermark: datetime | None,
) -> LoadCounts:
    """One page's transaction: drop erased people's records, load the rest, save state.

    Run again whole if PostgreSQL rolls it back (see ``in_write_transaction``).
    """
    kept, rejects, _ = drop_suppressed(conn, run.hash_salt, leads, rejected, run.default_region)
    return load_batch(
        conn, source=source, account_id=account, leads=kept, rejected=rejects,
        watermark=watermark, cursor=None, now=run.clock(), state_key=partition,
    )  # fmt: skip


def sync_stream(
    connector: Connector, stream: Stream, source: SourceConfig, account: str, run: RunContext
) -> SourceSummary:
    """Extract and load one account of a non-lead stream (engagement, touches, reps)."""
    summary = SourceSummary(connector.name, f"{stream.name}:{account}", started_at=run.clock())
    return record_run(
        summary, run, lambda: _load_stream(connector, stream, source, account, run, summary)
    )


def _load_stream(
    connector: Connector,
    stream: Stream,
    source: SourceConfig,
    account: str,
    run: RunContext,
    summary: SourceSummary,
) -> None:
    context = LeadContext(connector.name, account, run.default_region)
    ceiling = run_ceiling(summary.started_at, run)

    starts: dict[str, datetime | None] = {}

    def start_for(partition: str) -> datetime | None:
        with write_transaction(run.engine) as conn:
            state = read_sync_state(conn, connector.name, f"{stream.name}:{partition}")
        if state is not None and state.watermark is not None:
            summary.watermark = max(summary.watermark or state.watermark, state.watermark)
        starts[partition] = window_start(state.watermark if state else None, source, run)
        return starts[partition]

    client = connector.open(source)
    try:
        for page in stream.pages(client, account, start_for):
            rows, rejected = map_records(stream.to_rows, stream.record_key, page.records, context)
            watermark = watermark_for(page.cursor, ceiling)
            if run.dry_run:
                counts = LoadCounts(0, 0, 0, len(rejected))
            else:
                write = partial(
                    _write_stream_page, run=run, stream=stream.name, source=connector.name,
                    account=account, partition=page.partition, rows=rows, rejected=rejected,
                    watermark=watermark,
                )  # fmt: skip
                counts = in_write_transaction(run.engine, write, logger=run.logger)
            summary.add(len(page.records), counts, watermark)
            summary.warnings.extend(page.notes)
            if run.on_page is not None:
                run.on_page(summary, page, starts.get(page.partition))
    finally:
        _close(client)


def _write_stream_page(
    conn: Connection,
    *,
    run: RunContext,
    stream: str,
    source: str,
    account: str,
    partition: str,
    rows: list[Any],
    rejected: list[Rejected],
    watermark: datetime | None,
) -> LoadCounts:
    """One stream page's transaction (as ``_write_lead_page``)."""
    kept, rejects, _ = drop_suppressed(conn, run.hash_salt, rows, rejected, run.default_region)
    return load_stream(
        conn, stream=stream, source=source, account_id=account, rows=kept, rejected=rejects,
        watermark=watermark, state_key=f"{stream}:{partition}", now=run.clock(),
    )  # fmt: skip


def sync_spend(
    connector: Connector, source: AdPlatformConfig, account: str, run: RunContext
) -> SourceSummary:
    """Load one ad account's daily campaign spend; records a ``sync_runs`` row."""
    summary = SourceSummary(connector.name, f"spend:{account}", started_at=run.clock())
    return record_run(summary, run, lambda: _load_spend(connector, source, account, run, summary))


def _load_spend(
    connector: Connector,
    source: AdPlatformConfig,
    account: str,
    run: RunContext,
    summary: SourceSummary,
) -> None:
    assert connector.spend is not None
    key = f"spend:{account}"
    with write_transaction(run.engine) as conn:
        state = read_sync_state(conn, connector.name, key)
    summary.watermark = state.watermark if state else None
    first, last = spend_window(summary.watermark, source, summary.started_at.date())
    if run.since is not None:  # a backfill's days (bounds in UTC: at worst a day more)
        first = run.since.date()
    if run.until is not None:
        last = min(last, run.until.date())
    # Today is incomplete: the watermark covers up to yesterday, so today is read again.
    done = datetime.combine(min(last, summary.started_at.date()), clock_time(), tzinfo=UTC)
    client = connector.open(source)
    try:
        # An account with no campaigns yields nothing: still commit the watermark.
        batches = connector.spend(client, account, first, last)
        for rows, is_last in _with_last(_at_least_one(batches)):
            if run.dry_run:
                summary.add(len(rows), LoadCounts(0, 0, 0, 0), None)
                continue
            write = partial(
                load_spend, platform=connector.name, account_id=account, rows=rows,
                watermark=done if is_last else None, state_key=key, now=run.clock(),
            )  # fmt: skip
            counts = in_write_transaction(run.engine, write, logger=run.logger)
            summary.add(len(rows), counts, done if is_last else None)
    finally:
        _close(client)


def _with_last(items: Iterable[T]) -> Iterator[tuple[T, bool]]:
    """Each item with a flag that is True for the last one (an empty input yields nothing)."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True


def _at_least_one(batches: Iterable[list[T]]) -> Iterator[list[T]]:
    empty = True
    for batch in batches:
        empty = False
        yield batch
    if empty:
        yield []


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()
