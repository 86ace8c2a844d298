"""Sync one account of one platform into the warehouse: its leads, one of its activity
streams, or its daily campaign spend.

Plain functions, so the flow's tasks are thin wrappers and the logic is testable alone.
Each builds a ``Feed`` for the one page loop (``leadflow.pipeline.page_loop``): every page
is committed in its own transaction together with the watermark it allows, so a killed run
resumes from its last committed page and loses nothing. Each writes its ``sync_runs`` row
whatever happens (``record_run``).

A connector that finds a permission missing (``MissingScope``) does not know which stream
it served: ``_sync`` adds the stream and the switch that turns it off
(``sources.<name>.streams.<stream>``, ``name`` the configured source, by default the
platform's), so only that partition fails, saying what to grant or switch off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from leadflow.connectors.base import (
    LEADS,
    SPEND,
    AdPlatformConfig,
    Connector,
    LeadContext,
    MappedPage,
    SourceConfig,
    Stream,
)
from leadflow.connectors.errors import MissingScope
from leadflow.models.loading.activity import load_stream
from leadflow.models.loading.leads import LoadCounts, load_batch
from leadflow.models.loading.spend import load_spend
from leadflow.models.records.leads import summarize_notes
from leadflow.models.records.spend import split_spend
from leadflow.pipeline.mapping import map_records, normalize_records
from leadflow.pipeline.page_loop import Feed, PageWrite, StartLookup, load_pages
from leadflow.pipeline.run import RunContext, SourceSummary, opened, record_run
from leadflow.pipeline.windows import (
    run_ceiling,
    spend_days,
    watermark_for,
    window_start,
    within_until,
)

T = TypeVar("T")


def sync_account(
    connector: Connector,
    source: SourceConfig,
    account: str,
    run: RunContext,
    name: str | None = None,
) -> SourceSummary:
    """Extract, normalize and load one account's leads; records a ``sync_runs`` row.
    ``name`` is the configured source's (for messages; default: the platform's)."""
    feed = partial(_lead_feed, connector, source=source, account=account, run=run)
    summary = SourceSummary(connector.name, account)
    return _sync(connector, source, summary, run, feed, (name, LEADS))


def sync_stream(
    connector: Connector,
    stream: Stream,
    source: SourceConfig,
    account: str,
    run: RunContext,
    name: str | None = None,
) -> SourceSummary:
    """Extract and load one account of a non-lead stream (engagement, touches, reps)."""
    feed = partial(_stream_feed, connector, stream, source=source, account=account, run=run)
    summary = SourceSummary(connector.name, f"{stream.name}:{account}")
    return _sync(connector, source, summary, run, feed, (name, stream.name))


def sync_spend(
    connector: Connector,
    source: AdPlatformConfig,
    account: str,
    run: RunContext,
    name: str | None = None,
) -> SourceSummary:
    """Load one ad account's daily campaign spend; records a ``sync_runs`` row."""
    feed = partial(_spend_feed, connector, source=source, account=account, run=run)
    summary = SourceSummary(connector.name, f"spend:{account}")
    return _sync(connector, source, summary, run, feed, (name, SPEND))


def _sync(
    connector: Connector,
    source: SourceConfig,
    summary: SourceSummary,
    run: RunContext,
    make_feed: Callable[..., Feed],
    serves: tuple[str | None, str],
) -> SourceSummary:
    """Open the platform, load ``make_feed(client=, summary=)`` through the page loop, and
    record the ``sync_runs`` row whatever happens. ``serves`` is (configured source name,
    stream): a missing permission names both (module doc)."""
    summary.started_at = run.clock()
    name, stream = serves[0] or connector.name, serves[1]

    def body() -> None:
        try:
            with opened(connector, source) as client:
                load_pages(make_feed(client=client, summary=summary), run, summary)
        except MissingScope as error:
            raise error.in_stream(stream, f"sources.{name}.streams.{stream}") from None

    return record_run(summary, run, body)


def _incremental(
    source: SourceConfig, run: RunContext, summary: SourceSummary
) -> dict[str, Callable[..., Any]]:
    """An API partition's rules: start ``lookback`` before the watermark (a backfill's
    ``since``), commit the page's cursor capped at the run's ceiling."""
    return {
        "start": partial(window_start, source=source, run=run),
        "watermark": partial(watermark_for, ceiling=run_ceiling(summary.started_at, run)),
        "resumes": lambda watermark: watermark is not None and run.since is None,
    }


def _lead_feed(
    connector: Connector,
    client: Any,
    source: SourceConfig,
    account: str,
    run: RunContext,
    summary: SourceSummary,
) -> Feed:
    context = LeadContext(connector.name, account, run.default_region)

    def pages(lookup: StartLookup) -> Iterator[MappedPage]:
        for page in connector.pages(client, account, lookup):
            leads, rejected = normalize_records(connector, page.records, context, now=run.clock())
            mapped = MappedPage.of(page, within_until(leads, run.until), rejected)
            yield replace(mapped, notes=(*mapped.notes, *summarize_notes(mapped.rows)))

    def write(conn: Connection, batch: PageWrite) -> LoadCounts:
        return load_batch(
            conn, source=connector.name, account_id=account, leads=batch.rows,
            rejected=batch.rejected, watermark=batch.watermark, cursor=None, now=batch.now,
            state_key=batch.state_key,
        )  # fmt: skip

    return Feed(connector.name, pages, write, **_incremental(source, run, summary))


def _stream_feed(
    connector: Connector,
    stream: Stream,
    client: Any,
    source: SourceConfig,
    account: str,
    run: RunContext,
    summary: SourceSummary,
) -> Feed:
    context = LeadContext(connector.name, account, run.default_region)

    def pages(lookup: StartLookup) -> Iterator[MappedPage]:
        for page in stream.pages(client, account, lookup):
            rows, rejected = map_records(stream.to_rows, stream.record_key, page.records, context)
            yield MappedPage.of(page, rows, rejected)

    def write(conn: Connection, batch: PageWrite) -> LoadCounts:
        return load_stream(
            conn, stream=stream.name, source=connector.name, account_id=account,
            rows=batch.rows, rejected=batch.rejected, watermark=batch.watermark,
            state_key=batch.state_key, now=batch.now,
        )  # fmt: skip

    def state_key(partition: str) -> str:  # a stream's partitions sit beside the leads'
        return f"{stream.name}:{partition}"

    rules = _incremental(source, run, summary)
    return Feed(connector.name, pages, write, state_key=state_key, **rules)


def _spend_feed(
    connector: Connector,
    client: Any,
    source: AdPlatformConfig,
    account: str,
    run: RunContext,
    summary: SourceSummary,
) -> Feed:
    """Spend comes in day batches, one partition (``spend:<account>``); only the last
    batch commits the watermark, the last complete day read. Campaign days hold no people:
    nothing to suppress. A row that fails validation (the connector's, or a day in the
    future: ``split_spend``) is quarantined with its batch while the rest loads."""
    assert connector.spend is not None
    read_days, key = connector.spend, f"spend:{account}"

    def pages(lookup: StartLookup) -> Iterator[MappedPage]:
        first, last, done = spend_days(lookup.watermark(key), source, run, summary.started_at)
        # An account with no campaigns yields nothing: still commit the watermark.
        batches = _with_last(_at_least_one(read_days(client, account, first, last)))
        for number, (items, is_last) in enumerate(batches, start=1):
            rows, rejected = split_spend(items, run.clock())
            cursor = done if is_last else None
            yield MappedPage(key, number, cursor, len(items), rows, rejected)

    def write(conn: Connection, batch: PageWrite) -> LoadCounts:
        return load_spend(
            conn, platform=connector.name, account_id=account, rows=batch.rows,
            watermark=batch.watermark, state_key=batch.state_key, now=batch.now,
            rejected=batch.rejected,
        )  # fmt: skip

    def committed(day: datetime | None) -> datetime | None:
        return None if run.dry_run else day  # a dry run's summary keeps the stored day

    return Feed(connector.name, pages, write, watermark=committed, suppress=False)


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
