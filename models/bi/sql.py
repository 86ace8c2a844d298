"""How a BI view is written and rendered: the dialect fragments, ``View``, and its statements.

This module knows no view; the snapshots (``views_0006``) define them with it and
``leadflow.models.bi.views`` names the current one. It imports nothing of the project.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class SqlDialect:
    """The few SQL fragments that differ between SQLite and PostgreSQL."""

    name: str

    def month(self, ts: str) -> str:
        """YYYY-MM of a timestamp, in UTC."""
        if self.name == "sqlite":
            return f"strftime('%Y-%m', {ts})"
        return f"to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM')"

    def month_of_date(self, day: str) -> str:
        """YYYY-MM of a date column."""
        if self.name == "sqlite":
            return f"strftime('%Y-%m', {day})"
        return f"to_char({day}, 'YYYY-MM')"

    def day(self, ts: str) -> str:
        """The UTC calendar day of a timestamp (a date; ISO text on SQLite)."""
        if self.name == "sqlite":
            return f"date({ts})"
        return f"CAST({ts} AT TIME ZONE 'UTC' AS DATE)"

    def add_months(self, month: str, months: int) -> str:
        """The YYYY-MM ``months`` after the YYYY-MM ``month``."""
        if self.name == "sqlite":
            return f"strftime('%Y-%m', {month} || '-01', '{months:+d} month')"
        return (
            f"to_char(to_date({month} || '-01', 'YYYY-MM-DD') + interval '{months} month', "
            "'YYYY-MM')"
        )

    def minutes_between(self, start: str, end: str) -> str:
        """Minutes from ``start`` to ``end`` as a float."""
        if self.name == "sqlite":
            return f"((julianday({end}) - julianday({start})) * 1440.0)"
        return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) / 60 AS DOUBLE PRECISION)"


@dataclass(frozen=True)
class View:
    """One view: its name, what a row is, its columns (in order, documented) and its SQL."""

    name: str
    grain: str
    columns: dict[str, str]
    select: Callable[[SqlDialect], str]

    def sql(self, dialect: str) -> str:
        """The SELECT behind the view on ``dialect`` (sqlite or postgresql)."""
        return self.select(SqlDialect(dialect)).strip()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_statements(views: Sequence[View], dialect: str) -> list[str]:
    """CREATE VIEW statements, plus their comments on PostgreSQL (SQLite has none)."""
    statements = []
    for view in views:
        statements.append(f"CREATE VIEW {view.name} AS\n{view.sql(dialect)}")
        if dialect == "postgresql":
            doc = view.grain[0].upper() + view.grain[1:]
            statements.append(f"COMMENT ON VIEW {view.name} IS {_quote(doc)}")
            statements += [
                f"COMMENT ON COLUMN {view.name}.{column} IS {_quote(comment)}"
                for column, comment in view.columns.items()
            ]
    return statements


def drop_statements(views: Sequence[View]) -> list[str]:
    """DROP VIEW statements, in reverse creation order."""
    return [f"DROP VIEW IF EXISTS {view.name}" for view in reversed(views)]


def fingerprint(views: Sequence[View]) -> str:
    """SHA-256 of every statement the views render to on both dialects."""
    text = "\n;\n".join(s for d in DIALECTS for s in create_statements(views, d))
    return hashlib.sha256(text.encode()).hexdigest()
