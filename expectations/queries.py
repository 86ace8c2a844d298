"""The SQL the suites run, rendered for the warehouse's dialect (SQLite or PostgreSQL).

Queries are built with SQLAlchemy Core and compiled with literal values, because Great
Expectations takes query assets and ``unexpected_rows_query`` as SQL text. Every query
selects ids and the few columns a check needs, never ``*``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, make_url

from models.tables import sla_evaluations, sla_results

from .checks import QUALIFIED_VOLUME

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
    as ``models.warehouse.create_engine`` does."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def warehouse_dialect(url: str) -> Dialect:
    """The SQLAlchemy dialect of the warehouse URL (no connection needed)."""
    return make_url(warehouse_connection_string(url)).get_dialect()()


def render(statement: sa.ClauseElement, dialect: Dialect) -> str:
    """``statement`` as SQL text for ``dialect``, its values inlined as escaped literals."""
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def decided_sla_rows(
    person_rules: Sequence[str],
    periods: Periods,
    run_id: str,
    *,
    with_volume: bool,
    dialect: Dialect,
) -> str:
    """SELECT rule, id, status of every decided SLA row in the periods.

    Per-person rules come from ``sla_evaluations`` (id = person_id; pending rows left out).
    ``qualified_volume`` comes from the run's ``sla_results`` (id = group_key; passed reads
    as met, failed as breached, pending left out), so one query asset serves every rule.
    """
    ev = sla_evaluations
    in_periods = sa.or_(ev.c.period_month.in_(periods.months), ev.c.period_week.in_(periods.weeks))
    parts: list[sa.Select] = []
    if person_rules:
        parts.append(
            sa.select(ev.c.rule, ev.c.person_id.label("id"), ev.c.status).where(
                ev.c.rule.in_(person_rules), ev.c.status.in_(DECIDED), in_periods
            )
        )
    if with_volume:
        res = sla_results
        status = sa.case((res.c.status == "failed", "breached"), else_="met")
        parts.append(
            sa.select(res.c.rule, res.c.group_key.label("id"), status.label("status")).where(
                res.c.run_id == run_id,
                res.c.rule == QUALIFIED_VOLUME,
                res.c.status.in_(("passed", "failed")),
                res.c.period.in_(periods.all),
            )
        )
    if not parts:
        raise ValueError("no SLA rule to check")
    return render(parts[0] if len(parts) == 1 else sa.union_all(*parts), dialect)


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


def lead_id_sql() -> str:
    """The lead id as ``source:source_lead_id`` (``||`` works on SQLite and PostgreSQL)."""
    return "source || ':' || source_lead_id"
