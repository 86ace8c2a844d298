"""What every partition sync of a run shares, and what it records.

``RunContext`` is what a flow run hands each partition task (its engine, ids, clock,
logger, backfill bounds); ``SourceSummary`` is what one partition did, written to
``sync_runs`` by ``record_run`` whatever happens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from leadflow.connectors.base import Connector, MappedPage, SourceConfig
from leadflow.connectors.http import redact
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.loading.runs import record_sync_run
from leadflow.models.warehouse.engine import write_transaction

log = logging.getLogger(__name__)
Logger = logging.Logger | logging.LoggerAdapter


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SourceSummary:
    """What one account's sync did; one row of ``sync_runs`` and of the run summary.

    Of the lead records read, each is counted once: ``records == inserted + updated +
    unchanged + quarantined + suppressed (erased people, not loaded) + duplicates (rows
    superseded by a later row of the same id in their page)`` (``accounted``).
    """

    source: str
    account_id: str
    status: str = "running"
    pages: int = 0
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    suppressed: int = 0
    duplicates: int = 0
    watermark: datetime | None = None
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    started_at: datetime = field(default_factory=utcnow)

    def add(
        self, records: int, counts: LoadCounts, watermark: datetime | None, pages: int = 1
    ) -> None:
        """Count committed pages: their records, what loading them did, the watermark they
        committed."""
        self.pages += pages
        self.records += records
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.quarantined += counts.quarantined
        self.suppressed += counts.suppressed
        self.duplicates += counts.duplicates
        self.reached(watermark)

    @property
    def accounted(self) -> int:
        """The records the counts account for; equals ``records`` for leads and files."""
        return (
            self.inserted + self.updated + self.unchanged + self.quarantined
            + self.suppressed + self.duplicates
        )  # fmt: skip

    def reached(self, watermark: datetime | None) -> None:
        """The summary's watermark: the highest stored or committed (None: no change)."""
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
    on_page: Callable[[SourceSummary, MappedPage, datetime | None], None] | None = None
    # privacy.hash_salt: records of people in the suppression list are skipped.
    hash_salt: str | None = None


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


@contextmanager
def opened(connector: Connector, source: SourceConfig) -> Iterator[Any]:
    """The connector's client for ``source``, closed (when it can be) after the block."""
    client = connector.open(source)
    try:
        yield client
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()
