"""What the spend quarantine tests of Meta, Google Ads and LinkedIn share (issue 19).

A ``Tamper`` sits between a platform sandbox and the rows of its spend report: while on, the
first campaign day it sees from the last days (which a rerun reads again: the restatement
window) is served with a negative spend, and a copy of it dated 31
December 9999 is added. ``check_spend_quarantine`` then syncs one ad account three times
through the real pipeline (``sync_spend``, over HTTP, into the warehouse): the account
succeeds with the other rows loaded and the two bad rows quarantined; a rerun counts them
again (``times_seen``) without a second row; the corrected report clears the negative one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa

from leadflow.connectors.base import AdPlatformConfig, Connector
from leadflow.models.warehouse.tables import ad_spend_daily, quarantine, sync_runs, sync_state
from leadflow.pipeline.run import RunContext, SourceSummary
from leadflow.pipeline.source_sync import sync_spend

FAR_FUTURE = "9999-12-31"
Row = dict[str, Any]


@dataclass
class Tamper:
    """Spoils one campaign day of the reports a sandbox serves (module doc).

    ``key(row)`` is the row's (campaign id, YYYY-MM-DD) as the connector reads them;
    ``negate(row)`` makes its spend negative and ``far_future(row)`` dates it 9999-12-31, in
    place. ``target`` is the spoiled day: the first one served dated ``since`` or later.
    """

    key: Callable[[Row], tuple[str, str]]
    negate: Callable[[Row], None]
    far_future: Callable[[Row], None]
    on: bool = True
    since: str = "2026-11-22"  # inside the 7 days a rerun reads again (NOW below)
    target: tuple[str, str] | None = None

    def __call__(self, rows: list[Row]) -> list[Row]:
        if not self.on or not rows:
            return rows
        if self.target is None:
            recent = [self.key(row) for row in rows if self.key(row)[1] >= self.since]
            self.target = recent[0] if recent else None
        served = [copy.deepcopy(row) for row in rows]
        hits = [row for row in served if self.key(row) == self.target]
        if hits:
            future = copy.deepcopy(hits[0])
            self.far_future(future)
            served.append(future)
        for row in hits:
            self.negate(row)
        return served


def quarantined(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(quarantine)).mappings().all()
    return {row["record_key"]: dict(row) for row in rows}


def stored_spend(engine: sa.Engine, platform: str, account: str) -> dict[tuple[str, date], int]:
    table = ad_spend_daily
    query = sa.select(table.c.campaign_id, table.c.day, table.c.spend_micros).where(
        table.c.platform == platform, table.c.account_id == account
    )
    with engine.connect() as conn:
        return {(c, d): micros for c, d, micros in conn.execute(query)}


def _sync(
    connector: Connector, config: AdPlatformConfig, account: str, engine: sa.Engine, run_id: str
) -> SourceSummary:
    run = RunContext(engine=engine, run_id=run_id, clock=lambda: NOW)
    return sync_spend(connector, config, account, run)


NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # the sandboxes' anchor day


def check_spend_quarantine(
    connector: Connector,
    config: AdPlatformConfig,
    account: str,
    engine: sa.Engine,
    tamper: Tamper,
) -> None:
    """The whole story of issue 19 for one ad account (module doc)."""
    platform = connector.name
    first = _sync(connector, config, account, engine, "r1")
    assert tamper.target is not None, "the sandbox served no spend"
    campaign, day = tamper.target
    negative, future = f"spend:{campaign}:{day}", f"spend:{campaign}:{FAR_FUTURE}"

    # The account succeeds: the good rows load, the two bad ones are quarantined.
    assert first.status == "succeeded" and first.error is None
    assert first.quarantined == 2 and first.inserted > 0
    assert first.records == first.accounted == first.inserted + 2
    loaded = stored_spend(engine, platform, account)
    assert len(loaded) == first.inserted
    assert (campaign, date.fromisoformat(day)) not in loaded
    assert (campaign, date(9999, 12, 31)) not in loaded
    held = quarantined(engine)
    assert set(held) == {negative, future}
    assert (held[negative]["field"], held[negative]["reason"]) == ("spend", "negative")
    assert held[future]["field"] == "day"
    assert held[future]["reason"] == "more than 1 day after the load time, out of range"
    assert {(r["source"], r["account_id"], r["times_seen"]) for r in held.values()} == {
        (platform, account, 1)
    }
    assert all(r["raw"] for r in held.values())  # the row as the platform sent it
    with engine.connect() as conn:
        run = conn.execute(sa.select(sync_runs)).mappings().one()
        mark = conn.execute(
            sa.select(sync_state.c.watermark).where(
                sync_state.c.source == platform, sync_state.c.account_id == f"spend:{account}"
            )
        ).scalar_one()
    assert (run["status"], run["quarantined"], run["records"]) == (
        "succeeded",
        2,
        first.records,
    )
    assert mark.replace(tzinfo=mark.tzinfo or UTC) == datetime.combine(NOW.date(), time(), UTC)

    # A rerun over the same report: counted again, not a second quarantine row.
    second = _sync(connector, config, account, engine, "r2")
    assert (second.status, second.quarantined, second.inserted) == ("succeeded", 2, 0)
    again = quarantined(engine)
    assert set(again) == {negative, future}
    assert {r["times_seen"] for r in again.values()} == {2}
    assert {r["first_seen_at"] for r in again.values()} == {
        r["first_seen_at"] for r in held.values()
    }
    assert stored_spend(engine, platform, account) == loaded

    # The platform corrects the day: it loads and its quarantine row is cleared.
    tamper.on = False
    third = _sync(connector, config, account, engine, "r3")
    assert (third.status, third.quarantined, third.inserted) == ("succeeded", 0, 1)
    assert set(quarantined(engine)) == {future}  # no report carries that day again
    corrected = stored_spend(engine, platform, account)
    assert corrected[campaign, date.fromisoformat(day)] >= 0
    assert len(corrected) == len(loaded) + 1
