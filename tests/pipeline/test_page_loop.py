"""The one page loop: the sync states are read once, before extraction, and the connector
gets a lookup that runs no query while it pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.connectors.base import Connector, LeadContext, Page, SourceConfig, StartFor
from leadflow.models.loading.state import read_sync_state, read_sync_states, save_sync_state
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.tables import leads, sync_runs
from leadflow.pipeline.page_loop import Feed, StartLookup
from leadflow.pipeline.run import RunContext
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
