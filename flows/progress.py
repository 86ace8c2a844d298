"""A partition task's progress in the Prefect UI: one progress artifact, updated as pages
arrive (at most every ``UPDATE_SECONDS``: each update is a call to the Prefect API, and a
million-contact sync reads 5,000 HubSpot pages).

Platforms do not say up front how many pages a sync will read, so progress is measured
in time: how far the newest record seen has come through the partition's extraction
window (from its start to the run's start). Streams a platform pages newest-first (Meta,
LinkedIn) reach the end early; the description always says pages and records read.
"""

from __future__ import annotations

import time
from datetime import datetime
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact

from leadflow.connectors.base import MappedPage
from leadflow.pipeline.run import SourceSummary

UPDATE_SECONDS = 2.0


def window_share(start: datetime | None, cursor: datetime | None, end: datetime) -> float | None:
    """Percent of [start, end] covered up to ``cursor``; None when it cannot be told."""
    if start is None or cursor is None or end <= start:
        return None
    share = (min(cursor, end) - start) / (end - start)
    return round(100.0 * max(share, 0.0), 1)


class PageProgress:
    """The ``on_page`` callback of one partition task (created inside the task run)."""

    def __init__(self, label: str, every: float = UPDATE_SECONDS) -> None:
        self.label = label
        self.artifact: UUID | None = None
        self.percent = 0.0
        self.every = every
        self.updated = 0.0

    def __call__(self, summary: SourceSummary, page: MappedPage, start: datetime | None) -> None:
        share = window_share(start, page.cursor, summary.started_at)
        if share is not None:
            self.percent = min(share, 99.0)  # 100 only when the task has finished
        note = (
            f"{self.label}: {summary.pages} pages, {summary.records} records "
            f"({summary.inserted} new, {summary.updated} changed, "
            f"{summary.quarantined} quarantined); at {page.partition}"
        )
        clock = time.monotonic()
        if self.artifact is None:
            self.artifact = create_progress_artifact(self.percent, description=note)
        elif clock - self.updated >= self.every:
            update_progress_artifact(self.artifact, self.percent, description=note)
        else:
            return
        self.updated = clock

    def finish(self) -> None:
        """Mark the task's artifact complete (when it created one)."""
        if self.artifact is not None:
            update_progress_artifact(self.artifact, 100.0)
