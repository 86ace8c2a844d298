"""What every table module shares: one MetaData with a naming convention, the UTC
timestamp type and small column helpers.

The table modules (``lead_tables``, ``activity_tables``, ``people_tables``, ``sla_tables``,
``state_tables``, ``privacy_tables``) import from here, so any of them can be imported
first; ``tables`` imports them all, for Alembic and for code that wants the whole schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp that binds as UTC and always reads back as aware UTC.

    SQLite has no timestamp type: SQLAlchemy stores naive ISO text there, so values are
    converted to UTC and stripped before binding, and UTC is attached again on read.
    Naive datetimes are refused rather than guessed.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> sa.JSON:
    """JSON where Python None is SQL NULL (SQLAlchemy's default stores the JSON 'null')."""
    return sa.JSON(none_as_null=True)


def _ts(name: str, comment: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UTCDateTime(), nullable=nullable, comment=comment)


def _str(name: str, comment: str, *, nullable: bool = True, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.String(), nullable=nullable, comment=comment, **kw)


def _count(name: str, comment: str, *, big: bool = False) -> sa.Column[Any]:
    type_ = sa.BigInteger() if big else sa.Integer()
    return sa.Column(name, type_, nullable=False, default=0, server_default="0", comment=comment)
