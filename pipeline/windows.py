"""Where a sync starts reading and how far its watermark may move: the rules, as values.

A partition's extraction starts ``lookback`` before its watermark (a backfill's ``since``
instead); a page commits the highest cursor it saw, but never past the run's start minus a
safety lag (nor a backfill's ``until``), so records written while the run read stay inside
the next run's window. Spend is read in days, re-reading the days platforms restate.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadflow.connectors.base import AdPlatformConfig, SourceConfig
from leadflow.models.records.leads import Lead
from leadflow.pipeline.run import RunContext, SyncWindow


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


def spend_days(
    watermark: datetime | None, source: AdPlatformConfig, run: RunContext, started_at: datetime
) -> tuple[date, date, datetime]:
    """The first and last day of spend this run reads, and the watermark its last batch
    commits: midnight (UTC) of the last day read, at most today's, since today is
    incomplete and is read again next time."""
    first, last = spend_window(watermark, source, started_at.date())
    if run.since is not None:  # a backfill's days (bounds in UTC: at worst a day more)
        first = run.since.date()
    if run.until is not None:
        last = min(last, run.until.date())
    done = datetime.combine(min(last, started_at.date()), time(), tzinfo=UTC)
    return first, last, done


def backfill_window(since: date, until: date, timezone: str, dry_run: bool) -> SyncWindow:
    """The UTC bounds of local days ``since`` to ``until`` (inclusive)."""
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    zone = ZoneInfo(timezone)
    start = datetime.combine(since, time(), tzinfo=zone)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=zone)
    return SyncWindow(
        since=start.astimezone(ZoneInfo("UTC")),
        until=(end - timedelta(microseconds=1)).astimezone(ZoneInfo("UTC")),
        dry_run=dry_run,
    )
