"""Sync one source into the warehouse: extract pages, normalize, load with the watermark.

Plain functions, so the flow's task is a thin wrapper and the logic is testable alone.
Every page is committed in its own transaction together with the watermark it covers, so
a killed run resumes from its last committed page and loses nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from connectors import OPENERS, REGISTRY, Connector, LeadContext, SourceConfig
from connectors.http import redact
from models.leads import InvalidRecord, Lead, Rejected
from models.load import LoadCounts, load_batch, read_sync_state, record_sync_run

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SourceSummary:
    """What one source's sync did; one row of ``sync_runs`` and of the run summary."""

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
        return {**values, "run_id": run_id, "flow_run_id": flow_run_id, "finished_at": finished_at}


def normalize_records(
    connector: Connector, records: Iterable[Mapping[str, Any]], context: LeadContext
) -> tuple[list[Lead], list[Rejected]]:
    """Map raw records to Leads; a record that cannot be mapped becomes a Rejected."""
    leads: list[Lead] = []
    rejected: list[Rejected] = []
    for record in records:
        try:
            leads.append(connector.to_lead(record, context))
        except InvalidRecord as error:
            rejected.append(Rejected.from_error(error, context.account_id, record))
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            key = _safe_key(connector, record)
            problem = InvalidRecord(context.source, key, "<record>", f"malformed: {error!r}")
            rejected.append(Rejected.from_error(problem, context.account_id, record))
    return leads, rejected


def _safe_key(connector: Connector, record: Any) -> str | None:
    try:
        return connector.record_key(record)
    except Exception:  # hostile input: the key itself may be unreadable
        return None


def extraction_start(watermark: datetime | None, source: SourceConfig) -> datetime | None:
    """Where to start reading: the watermark minus the lookback, else the start date."""
    if watermark is None:
        return source.start_date
    return watermark - timedelta(minutes=source.lookback_minutes)


def watermark_for(page_cursor: datetime | None, ceiling: datetime) -> datetime | None:
    """The bookmark a committed page allows: the highest cursor seen, capped at the ceiling.

    The ceiling (run start minus a safety lag) keeps records that were being written while
    the run read its pages inside the next run's window.
    """
    if page_cursor is None:
        return None
    return min(page_cursor, ceiling)


def sync_source(
    source: SourceConfig,
    engine: Engine,
    *,
    run_id: str,
    flow_run_id: str | None = None,
    default_region: str | None = None,
    safety_lag: timedelta = timedelta(minutes=5),
    clock: Callable[[], datetime] = utcnow,
    logger: logging.Logger | logging.LoggerAdapter = log,
) -> SourceSummary:
    """Extract, normalize and load one source; records a ``sync_runs`` row either way."""
    connector = REGISTRY[source.type]
    summary = SourceSummary(connector.name, source.account_key, started_at=clock())
    began = time.perf_counter()
    try:
        _run_pages(connector, source, engine, summary, default_region, safety_lag, clock, logger)
        summary.status = "succeeded"
    except Exception as error:
        summary.status, summary.error = "failed", redact(f"{type(error).__name__}: {error}")
        raise
    finally:
        summary.seconds = round(time.perf_counter() - began, 3)
        with engine.begin() as conn:
            record_sync_run(conn, summary.row(run_id, flow_run_id, clock()))
    return summary


def _run_pages(
    connector: Connector,
    source: SourceConfig,
    engine: Engine,
    summary: SourceSummary,
    default_region: str | None,
    safety_lag: timedelta,
    clock: Callable[[], datetime],
    logger: logging.Logger | logging.LoggerAdapter,
) -> None:
    context = LeadContext(connector.name, source.account_key, default_region)
    with engine.begin() as conn:
        state = read_sync_state(conn, connector.name, source.account_key)
    summary.watermark = state.watermark if state else None
    since = extraction_start(state.watermark if state else None, source)
    ceiling = summary.started_at - safety_lag
    client = OPENERS[connector.name](source)
    try:
        for page in connector.pages(client, since):
            leads, rejected = normalize_records(connector, page.records, context)
            watermark = watermark_for(page.cursor, ceiling)
            with engine.begin() as conn:
                counts = load_batch(
                    conn,
                    source=connector.name,
                    account_id=source.account_key,
                    leads=leads,
                    rejected=rejected,
                    watermark=watermark,
                    cursor=None,
                    now=clock(),
                )
            summary.add(len(page.records), counts, watermark)
            logger.info(
                "%s page %d: %d records, %d new, %d changed, %d quarantined; watermark %s",
                connector.name, page.number, len(page.records), counts.inserted,
                counts.updated, counts.quarantined, watermark.isoformat() if watermark else "-",
            )  # fmt: skip
    finally:
        client.close()
