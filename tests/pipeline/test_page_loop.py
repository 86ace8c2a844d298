"""The one page loop: the sync states are read once, before extraction, and the connector
gets a lookup that runs no query while it pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.connectors.base import (
    Connector,
    LeadContext,
    MappedPage,
    Page,
    SourceConfig,
    StartFor,
)
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.loading.state import read_sync_state, read_sync_states, save_sync_state
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.tables import leads, sync_runs
from leadflow.pipeline import page_loop
from leadflow.pipeline.page_loop import Feed, PageWrite, StartLookup, load_pages
from leadflow.pipeline.run import RunContext, SourceSummary
from leadflow.pipeline.source_sync import sync_account

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
W1, W2 = NOW - timedelta(days=2), NOW - timedelta(days=1)
SOURCE = SourceConfig(type="fake", base_url="http://fake.invalid", lookback_minutes=60)


def _lead(record: dict[str, Any], context: LeadContext) -> Lead:
    at = datetime.fromisoformat(record["at"])
    return Lead(context.source, record["id"], context.account_id, at, at, email=record["email"])


def fake_connector(asked: list[tuple[str, datetime | None, int]], reads: list[str]) -> Connector:
    """Three partitions, each asked for its start after the previous one's page committed;
    ``asked`` notes what the lookup said and how many sync_state reads had run by then."""

    def pages(client: Any, account: str, start_for: StartFor) -> Iterator[Page]:
        for number, partition in enumerate(("p1", "p2", "p3"), start=1):
            asked.append((partition, start_for(partition), len(reads)))
            record = {"id": f"{partition}-1", "at": "2026-11-20T10:00:00+00:00",
                      "email": f"{partition}@example.com"}  # fmt: skip
            yield Page([record], None, number, partition)  # unsorted: no cursor

    return Connector(
        name="fake",
        config_class=SourceConfig,
        open=lambda source: None,
        accounts=lambda source: ["acct"],
        pages=pages,
        to_lead=_lead,
        record_key=lambda record: record.get("id"),
        doc_url="https://example.invalid/docs",
    )


def sync_state_reads(engine: Engine) -> list[str]:
    reads: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "sync_state" in statement:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    return reads


def test_the_states_are_read_once_before_extraction_and_never_while_paging(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.begin() as conn:
        save_sync_state(conn, "fake", "p1", W1, None, NOW)
        save_sync_state(conn, "fake", "p2", W2, None, NOW)
        save_sync_state(conn, "other", "p3", NOW, None, NOW)  # another source's: not read
    asked: list[tuple[str, datetime | None, int]] = []
    reads = sync_state_reads(migrated_engine)
    run = RunContext(engine=migrated_engine, run_id="r1", clock=lambda: NOW)
    summary = sync_account(fake_connector(asked, reads), SOURCE, "acct", run)
    assert len(reads) == 1  # one query for the source's rows, whatever the partitions
    hour = timedelta(hours=1)
    assert asked == [("p1", W1 - hour, 1), ("p2", W2 - hour, 1), ("p3", None, 1)]
    assert (summary.pages, summary.inserted, summary.status) == (3, 3, "succeeded")
    # No page moved a watermark (no cursors): the summary keeps the highest stored one.
    assert summary.watermark == W2
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one() == 3
        assert read_sync_state(conn, "fake", "p3") is not None  # state saved with the page


def test_a_failed_run_still_reports_the_watermarks_it_read(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as conn:
        save_sync_state(conn, "fake", "p2", W2, None, NOW)

    def pages(client: Any, account: str, start_for: StartFor) -> Iterator[Page]:
        start_for("p1")
        start_for("p2")
        raise ConnectionError("platform went away")
        yield  # pragma: no cover - a generator that fails before its first page

    broken = replace(fake_connector([], []), pages=pages)
    run = RunContext(engine=migrated_engine, run_id="r1", clock=lambda: NOW)
    with pytest.raises(ConnectionError):
        sync_account(broken, SOURCE, "acct", run)
    with migrated_engine.connect() as conn:
        row = conn.execute(sa.select(sync_runs)).mappings().one()
    assert (row["status"], row["watermark"]) == ("failed", W2)


def test_the_lookup_answers_from_the_states_it_was_given() -> None:
    feed = Feed(
        "fake",
        pages=lambda lookup: [],
        write=lambda conn, batch: None,  # type: ignore[arg-type,return-value]
        start=lambda watermark: watermark and watermark - timedelta(minutes=5),
        state_key=lambda partition: f"touches:{partition}",
    )
    lookup = StartLookup({"touches:p1": W1, "p2": W2}, feed)
    assert (lookup("p1"), lookup("p2")) == (W1 - timedelta(minutes=5), None)
    assert lookup.stored == {"p1": W1, "p2": None}
    assert lookup.starts == {"p1": W1 - timedelta(minutes=5), "p2": None}


def test_read_sync_states_is_every_row_of_one_source(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as conn:
        save_sync_state(conn, "fake", "a", W1, {"page": 2}, NOW)
        save_sync_state(conn, "fake", "b", None, None, NOW)
        save_sync_state(conn, "other", "a", W2, None, NOW)
    with migrated_engine.connect() as conn:
        states = read_sync_states(conn, "fake")
        assert read_sync_states(conn, "nobody") == {}
    assert {key: (s.watermark, s.cursor) for key, s in states.items()} == {
        "a": (W1, {"page": 2}),
        "b": (None, None),
    }


# -- commits: consecutive pages of a partition together ---------------------------------------
def _page(partition: str, number: int, records: int, cursor: datetime | None) -> MappedPage:
    rows = [f"{partition}-{number}-{i}" for i in range(records)]
    return MappedPage(partition, number, cursor, records, rows, [])


def _recording_feed(pages: list[MappedPage], fail_after: int | None = None) -> tuple[Feed, list]:
    written: list[tuple[str, int, list[str], datetime | None]] = []

    def read(lookup: StartLookup) -> Iterator[MappedPage]:
        for index, page in enumerate(pages):
            if fail_after is not None and index == fail_after:
                raise ConnectionError("platform went away")
            yield page

    def write(conn: Any, batch: PageWrite) -> LoadCounts:
        written.append((batch.state_key, batch.page.number, list(batch.rows), batch.watermark))
        return LoadCounts(len(batch.rows), 0, 0, 0)

    return Feed("fake", read, write, suppress=False), written


def test_pages_of_a_partition_commit_together_up_to_the_record_limit(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_loop, "COMMIT_RECORDS", 250)
    pages = [_page("p1", n, 100, W1 + timedelta(hours=n)) for n in (1, 2, 3, 4)]
    pages += [_page("p2", 1, 100, None), _page("p2", 2, 100, W2)]
    feed, written = _recording_feed(pages)
    summary = SourceSummary("fake", "acct", started_at=NOW)
    load_pages(feed, RunContext(engine=migrated_engine, run_id="r", clock=lambda: NOW), summary)
    # p1: pages 1-3 reach 300 >= 250 records, then page 4 alone when the partition changes;
    # p2: both pages at the end. Each commits its last (highest) watermark.
    assert [(key, number, len(rows), mark) for key, number, rows, mark in written] == [
        ("p1", 3, 300, W1 + timedelta(hours=3)),
        ("p1", 4, 100, W1 + timedelta(hours=4)),
        ("p2", 2, 200, W2),
    ]
    assert written[0][2][:2] == ["p1-1-0", "p1-1-1"] and written[0][2][-1] == "p1-3-99"
    assert (summary.pages, summary.records, summary.inserted) == (6, 600, 600)


def test_pages_read_before_a_failure_are_committed_then_the_error_goes_on(
    migrated_engine: Engine,
) -> None:
    pages = [_page("p1", n, 10, W1 + timedelta(hours=n)) for n in (1, 2, 3)]
    feed, written = _recording_feed(pages, fail_after=2)
    summary = SourceSummary("fake", "acct", started_at=NOW)
    run = RunContext(engine=migrated_engine, run_id="r", clock=lambda: NOW)
    with pytest.raises(ConnectionError):
        load_pages(feed, run, summary)
    assert [(number, len(rows), mark) for _, number, rows, mark in written] == [
        (2, 20, W1 + timedelta(hours=2))
    ]
    assert summary.pages == 2


def test_a_slow_stream_still_commits_every_few_seconds(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter([0.0, 4.0, 11.0, 12.0, 30.0, 31.0, 32.0])
    monkeypatch.setattr(page_loop.time, "monotonic", lambda: next(clock))
    pages = [_page("p1", n, 1, W1 + timedelta(hours=n)) for n in (1, 2, 3)]
    feed, written = _recording_feed(pages)
    run = RunContext(engine=migrated_engine, run_id="r", clock=lambda: NOW)
    load_pages(feed, run, SourceSummary("fake", "acct", started_at=NOW))
    assert [number for _, number, _, _ in written] == [2, 3]  # 11 s after page 1: committed


# -- commits: a batch is written while the loop reads the next one ----------------------------
def test_the_next_batch_is_read_while_the_previous_one_is_written(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_loop, "COMMIT_RECORDS", 10)
    read_on = threading.Event()
    in_flight: list[int] = []
    written: list[int] = []

    def read(lookup: StartLookup) -> Iterator[MappedPage]:
        for number in (1, 2, 3):
            if number == 2:
                read_on.set()  # page 2 is read while page 1's batch is being written
            yield _page("p1", number, 10, W1 + timedelta(hours=number))

    def write(conn: Any, batch: PageWrite) -> LoadCounts:
        in_flight.append(batch.page.number)
        if batch.page.number == 1:
            assert read_on.wait(10), "the loop waited for the write before reading on"
        assert len(in_flight) - len(written) == 1  # one batch of the partition at a time
        written.append(batch.page.number)
        return LoadCounts(len(batch.rows), 0, 0, 0)

    summary = SourceSummary("fake", "acct", started_at=NOW)
    run = RunContext(engine=migrated_engine, run_id="r", clock=lambda: NOW)
    load_pages(Feed("fake", read, write, suppress=False), run, summary)
    assert written == [1, 2, 3]
    assert (summary.pages, summary.inserted, summary.watermark) == (3, 30, W1 + timedelta(hours=3))


def _failing_write(at: int, written: list[int]) -> Any:
    """A page writer that fails on page ``at`` and notes every page it wrote."""

    def write(conn: Any, batch: PageWrite) -> LoadCounts:
        if batch.page.number == at:
            raise RuntimeError("disk full")
        written.append(batch.page.number)
        return LoadCounts(len(batch.rows), 0, 0, 0)

    return write


def _load_fake(engine: Engine, read: Any, write: Any, summary: SourceSummary) -> None:
    run = RunContext(engine=engine, run_id="r", clock=lambda: NOW)
    load_pages(Feed("fake", read, write, suppress=False), run, summary)


def test_after_a_failed_write_nothing_read_later_is_written(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_loop, "COMMIT_RECORDS", 10)
    written: list[int] = []

    def read(lookup: StartLookup) -> Iterator[MappedPage]:
        for number in range(1, 6):
            yield _page("p1", number, 10, W1 + timedelta(hours=number))

    summary = SourceSummary("fake", "acct", started_at=NOW)
    with pytest.raises(RuntimeError, match="disk full"):
        _load_fake(migrated_engine, read, _failing_write(2, written), summary)
    # Page 3 may have been read while page 2 was written; it is never written after it.
    assert written == [1]
    assert (summary.pages, summary.watermark) == (1, W1 + timedelta(hours=1))


def test_a_failed_write_is_raised_even_when_reading_fails_too(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_loop, "COMMIT_RECORDS", 10)
    written: list[int] = []

    def read(lookup: StartLookup) -> Iterator[MappedPage]:
        yield _page("p1", 1, 10, W1)  # a full batch: handed to the writer, which fails
        yield _page("p1", 2, 5, W2)  # read whole, but after the failed page 1
        raise ConnectionError("platform went away")

    summary = SourceSummary("fake", "acct", started_at=NOW)
    with pytest.raises(RuntimeError, match="disk full") as raised:
        _load_fake(migrated_engine, read, _failing_write(1, written), summary)
    assert isinstance(raised.value.__context__, ConnectionError)  # the read failed too
    assert written == [] and summary.pages == 0  # page 2 is not kept after the failed page 1
