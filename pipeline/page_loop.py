"""The one page loop: leads, activity streams, daily spend and lead export files all load
through ``load_pages``.

A ``Feed`` says what differs between them: where its pages come from, how one page is
written, where a partition starts reading and what state a page commits. The loop does the
rest the same way for all: it reads the source's sync states once, before extraction, and
hands the connector a lookup (``StartLookup``) instead of a callback into the warehouse;
then it writes the pages in transactions (``in_write_transaction``: one writer at a time per
SQLite file, run again when PostgreSQL rolls it back as a deadlock victim), erased people's
records dropped first, the rows, their rejects (quarantine) and the partition's state
committing together, so a killed run resumes from its last committed page.

Consecutive pages of one partition are committed together, up to ``COMMIT_RECORDS`` records
or ``COMMIT_SECONDS`` after the first of them was read (a transaction per page of 200 cost
5.8-6.2 s per 100k leads against 3.5-3.7 s in batches of 5,000). The state a batch commits
is its last page's watermark (forward-only, as page by page), so nothing advances past data
that is not committed. When reading fails, the pages read whole are committed before the
error goes on; a killed run re-reads at most one batch.

A batch is written on a thread of its own while the loop reads and maps the next one
(``_Committer``): at most one batch of a partition is in flight, batches commit in the
order they were read, and the next is handed over only after the previous one committed,
so the state still never passes an uncommitted page. When a write fails, nothing read
after it is written and its error goes on. Reading no longer waits for the warehouse (on
SQLite, for the other partitions' writers): extraction of 50,000 HubSpot contacts spent a
fifth of its threads' time waiting for the file's writer lock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from leadflow.connectors.base import MappedPage
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.loading.state import read_sync_states
from leadflow.models.privacy.suppression import drop_suppressed
from leadflow.models.records.leads import Rejected
from leadflow.models.warehouse.engine import in_write_transaction
from leadflow.pipeline.run import RunContext, SourceSummary

T = TypeVar("T")
Rule = Callable[[datetime | None], datetime | None]
COMMIT_RECORDS = 5_000  # records of one partition committed together, at most
COMMIT_SECONDS = 10.0  # ... or what was read in this long: a slow stream still commits


@dataclass(frozen=True, slots=True)
class PageWrite:
    """What one page's transaction writes: its rows and rejects (erased people's dropped),
    and ``watermark`` saved as the state of ``state_key``, all at ``now``."""

    page: MappedPage
    rows: list[Any]
    rejected: list[Rejected]
    state_key: str
    watermark: datetime | None
    now: datetime


PageWriter = Callable[[Connection, PageWrite], LoadCounts]
"""Writes a page in the caller's transaction (a store's load function); what it did."""


def _same(value: T) -> T:
    return value


def _nowhere(watermark: datetime | None) -> datetime | None:
    return None


@dataclass(frozen=True)
class Feed:
    """What the loop reads and how it writes: one account's leads, one stream, one ad
    account's spend or one export file.

    ``pages(lookup)`` yields the mapped pages (an API connector gets ``lookup`` as its
    ``start_for``); ``start`` turns a partition's stored watermark into where it starts
    reading; ``watermark`` turns a page's cursor into the watermark it commits;
    ``state_key`` names a partition's ``sync_state`` row under ``source``; ``suppress``
    drops the records of erased people before writing (every feed about people);
    ``resumes(watermark)`` says whether a partition's start comes from its stored
    watermark (not from ``start_date`` or a backfill's range).
    """

    source: str
    pages: Callable[[StartLookup], Iterable[MappedPage]]
    write: PageWriter
    start: Rule = _nowhere
    watermark: Rule = _same
    state_key: Callable[[str], str] = _same
    suppress: bool = True
    resumes: Callable[[datetime | None], bool] = lambda watermark: watermark is not None


class StartLookup:
    """``start_for`` as a connector calls it: each partition's start, from the sync states
    read before extraction. No query runs while the connector pages; the partitions asked
    for are remembered, for progress and for the summary's watermark."""

    def __init__(self, watermarks: Mapping[str, datetime | None], feed: Feed) -> None:
        self._watermarks = watermarks
        self._feed = feed
        self.stored: dict[str, datetime | None] = {}  # partition -> its stored watermark
        self.starts: dict[str, datetime | None] = {}  # partition -> where it starts

    def watermark(self, partition: str) -> datetime | None:
        """The stored watermark of ``partition`` (None before its first sync)."""
        self.stored[partition] = self._watermarks.get(self._feed.state_key(partition))
        return self.stored[partition]

    def __call__(self, partition: str) -> datetime | None:
        self.starts[partition] = self._feed.start(self.watermark(partition))
        return self.starts[partition]

    def resumed(self, partition: str) -> bool:
        """Whether ``partition`` starts from a previous sync's watermark: False on its first
        sync (``start_date``) and in a backfill (``since``)."""
        return self._feed.resumes(self.watermark(partition))


def load_pages(feed: Feed, run: RunContext, summary: SourceSummary) -> None:
    """Load every page of ``feed``, consecutive pages of a partition in one transaction
    with the state they allow (module doc), counting into ``summary`` (a dry run reads and
    maps, and writes nothing)."""
    with run.engine.connect() as conn:
        states = read_sync_states(conn, feed.source)
    lookup = StartLookup({key: state.watermark for key, state in states.items()}, feed)
    batch = _Batch()
    committer = _Committer(feed, run, summary, lookup)
    try:
        try:
            for page in feed.pages(lookup):
                summary.warnings[:] = merge_counted(summary.warnings, page.notes)
                if batch.pages and batch.pages[-1][0].partition != page.partition:
                    committer.submit(batch)
                batch.add(page, feed.watermark(page.cursor))
                if batch.full():
                    committer.submit(batch)
        except Exception:
            if not committer.failed:  # reading failed: the pages read whole are kept
                committer.submit(batch)
                committer.settle()
            raise
        committer.submit(batch)
        committer.settle()
    finally:
        committer.close()
        for stored in lookup.stored.values():  # the partitions read, even if none moved
            summary.reached(stored)


@dataclass
class _Batch:
    """Pages of one partition read and not committed yet, with their watermarks."""

    pages: list[tuple[MappedPage, datetime | None]] = field(default_factory=list)
    records: int = 0
    since: float = 0.0

    def add(self, page: MappedPage, watermark: datetime | None) -> None:
        if not self.pages:
            self.since = time.monotonic()
        self.pages.append((page, watermark))
        self.records += page.records

    def full(self) -> bool:
        late = time.monotonic() - self.since >= COMMIT_SECONDS
        return self.records >= COMMIT_RECORDS or late

    def take(self) -> tuple[MappedPage, datetime | None, int]:
        """The pages as one (the last one's place and cursor, every row and reject), the
        latest watermark among them, and how many pages they were; the batch is emptied."""
        pages, self.pages, self.records = self.pages, [], 0
        last = pages[-1][0]
        marks = [mark for _, mark in pages if mark is not None]
        merged = MappedPage(
            last.partition, last.number, last.cursor, sum(p.records for p, _ in pages),
            [row for p, _ in pages for row in p.rows],
            [reject for p, _ in pages for reject in p.rejected],
        )  # fmt: skip
        return merged, max(marks) if marks else None, len(pages)


class _Committer:
    """Writes a feed's batches one at a time on a thread of its own, in the order given.

    ``submit`` waits for the batch in flight (``settle``), then hands the next one over and
    returns at once; ``settle`` counts a committed batch into the summary, reports its
    progress and logs it, on the loop's thread. A write's error is raised by the next
    ``submit`` or ``settle``, after which ``failed`` is set and nothing more is written.
    """

    def __init__(
        self, feed: Feed, run: RunContext, summary: SourceSummary, lookup: StartLookup
    ) -> None:
        self._feed, self._run, self._summary, self._lookup = feed, run, summary, lookup
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"leadflow-commit-{feed.source}")
        self._in_flight: tuple[Future[LoadCounts], MappedPage, datetime | None, int] | None = None
        self.failed = False

    def submit(self, batch: _Batch) -> None:
        self.settle()
        if not batch.pages:
            return
        page, watermark, count = batch.take()
        future = self._pool.submit(_load, self._feed, page, watermark, self._run)
        self._in_flight = (future, page, watermark, count)

    def settle(self) -> None:
        if self._in_flight is None:
            return
        future, page, watermark, count = self._in_flight
        self._in_flight = None
        try:
            counts = future.result()
        except BaseException:
            self.failed = True
            raise
        self._summary.add(page.records, counts, watermark, pages=count)
        if self._run.on_page is not None:
            self._run.on_page(self._summary, page, self._lookup.starts.get(page.partition))
        self._run.logger.info(
            "%s %s pages %d-%d: %d records, %d new, %d changed, %d quarantined, %d suppressed",
            self._feed.source, page.partition, page.number - count + 1, page.number,
            page.records, counts.inserted, counts.updated, counts.quarantined, counts.suppressed,
        )  # fmt: skip

    def close(self) -> None:
        """Wait for a batch still in flight (its outcome unread: an error is on its way out)."""
        self._pool.shutdown(wait=True)


def _load(feed: Feed, page: MappedPage, watermark: datetime | None, run: RunContext) -> LoadCounts:
    if run.dry_run:
        return LoadCounts(0, 0, 0, len(page.rejected))
    write = partial(_write_page, feed=feed, page=page, watermark=watermark, run=run)
    return in_write_transaction(run.engine, write, logger=run.logger)


def _write_page(
    conn: Connection, *, feed: Feed, page: MappedPage, watermark: datetime | None, run: RunContext
) -> LoadCounts:
    """One page's transaction: drop erased people's records (counted as ``suppressed``, so a
    page's counts add up to its records), load the rest, save state.

    Run again whole if PostgreSQL rolls it back (see ``in_write_transaction``).
    """
    rows, rejected, dropped = page.rows, page.rejected, 0
    if feed.suppress:
        rows, rejected, dropped = drop_suppressed(
            conn, run.hash_salt, rows, rejected, run.default_region
        )
    state_key = feed.state_key(page.partition)
    counts = feed.write(conn, PageWrite(page, rows, rejected, state_key, watermark, run.clock()))
    return replace(counts, suppressed=counts.suppressed + dropped)


_COUNTED = re.compile(r"(\d+) leads?: (.+)")


def merge_counted(warnings: Sequence[str], notes: Sequence[str]) -> list[str]:
    """``warnings`` with a page's ``notes`` added; counted notes (``"3 leads: phone not
    valid ..."``) are summed with the same note of earlier pages, not repeated per page."""
    lines: list[str | None] = []  # None: the counted note at that place
    counted: dict[str, int] = {}
    order: list[str] = []
    for line in (*warnings, *notes):
        found = _COUNTED.fullmatch(line)
        if found is None:
            lines.append(line)
            continue
        what = found.group(2)
        if what not in counted:
            counted[what] = 0
            order.append(what)
            lines.append(None)
        counted[what] += int(found.group(1))
    named = iter(order)
    return [line if line is not None else _count_line(next(named), counted) for line in lines]


def _count_line(what: str, counted: Mapping[str, int]) -> str:
    count = counted[what]
    return f"{count} lead{'s' if count != 1 else ''}: {what}"
