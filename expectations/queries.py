"""The SQL the suites run, rendered for the warehouse's dialect (SQLite or PostgreSQL).

Great Expectations takes ``unexpected_rows_query`` as SQL text, so values in it are rendered
as literals here, per dialect. Every query selects ids, never ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Dialect, make_url

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
WEEK = re.compile(r"\d{4}-W(0[1-9]|[1-4]\d|5[0-3])")
DECIDED = ("met", "breached")


@dataclass(frozen=True)
class Periods:
    """The periods under check, split by kind: months 'YYYY-MM' and ISO weeks 'YYYY-Www'."""

    months: tuple[str, ...]
    weeks: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.months + self.weeks


def parse_periods(periods: Sequence[str]) -> Periods:
    """Split ``periods`` into months and weeks; a malformed or missing period is an error."""
    if isinstance(periods, str) or not periods:
        raise ValueError("periods must be a non-empty list of 'YYYY-MM' or 'YYYY-Www'")
    bad = [p for p in periods if not (MONTH.fullmatch(p) or WEEK.fullmatch(p))]
    if bad:
        raise ValueError(f"periods must look like 2026-11 or 2026-W48, got {bad}")
    months = tuple(dict.fromkeys(p for p in periods if MONTH.fullmatch(p)))
    weeks = tuple(dict.fromkeys(p for p in periods if WEEK.fullmatch(p)))
    return Periods(months, weeks)


def warehouse_connection_string(url: str) -> str:
    """The URL GX should connect with: driverless PostgreSQL URLs get psycopg 3 (installed),
    as ``leadflow.models.warehouse.engine.create_engine`` does."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def warehouse_dialect(url: str) -> Dialect:
    """The SQLAlchemy dialect of the warehouse URL (no connection needed)."""
    return make_url(warehouse_connection_string(url)).get_dialect()()


def timestamp_literal(moment: datetime, dialect: Dialect) -> str:
    """A SQL literal of ``moment`` comparable with ``UTCDateTime`` columns in ``dialect``.

    SQLite stores those as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's format),
    so the literal is text in exactly that form and compares correctly as a string;
    PostgreSQL gets a ``TIMESTAMPTZ`` literal in UTC.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the moment must be timezone-aware")
    utc = moment.astimezone(UTC)
    if dialect.name == "sqlite":
        return f"'{utc.replace(tzinfo=None).isoformat(sep=' ', timespec='microseconds')}'"
    if dialect.name == "postgresql":
        return f"TIMESTAMPTZ '{utc.isoformat(sep=' ', timespec='microseconds')}'"
    raise ValueError(f"unsupported warehouse dialect {dialect.name!r}")


def lead_id_sql(prefix: str = "") -> str:
    """The lead id as ``source:source_lead_id`` (``||`` works on SQLite and PostgreSQL);
    ``prefix``: the columns' table alias and dot (``"b."``)."""
    return f"{prefix}source || ':' || {prefix}source_lead_id"
