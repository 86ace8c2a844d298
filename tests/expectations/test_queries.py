"""The SQL pieces: periods, timestamp literals per dialect (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from leadflow.expectations.queries import (
    Periods,
    parse_periods,
    timestamp_literal,
    warehouse_connection_string,
    warehouse_dialect,
)

SQLITE = warehouse_dialect("sqlite:///w.db")
POSTGRES = warehouse_dialect("postgresql+psycopg://u@h/db")


@pytest.mark.parametrize(
    "url", ["postgres://u@h/db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"]
)
def test_postgresql_urls_use_the_installed_psycopg_3(url):
    assert warehouse_connection_string(url) == "postgresql+psycopg://u@h/db"
    assert warehouse_dialect(url).name == "postgresql"


def test_periods_split_into_months_and_weeks_without_repeats():
    assert parse_periods(["2026-11", "2026-W48", "2026-11", "2026-W01"]) == Periods(
        months=("2026-11",), weeks=("2026-W48", "2026-W01")
    )


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        pytest.param(SQLITE, "'2026-11-29 07:05:00.000000'", id="sqlite-naive-utc-text"),
        pytest.param(POSTGRES, "TIMESTAMPTZ '2026-11-29 07:05:00.000000+00:00'", id="postgresql"),
    ],
)
def test_timestamp_literal_in_the_form_each_dialect_stores(dialect, expected):
    berlin = timezone(timedelta(hours=1))
    assert timestamp_literal(datetime(2026, 11, 29, 8, 5, tzinfo=berlin), dialect) == expected


def test_timestamp_literal_refuses_a_naive_moment():
    with pytest.raises(ValueError, match="timezone-aware"):
        timestamp_literal(datetime(2026, 11, 29, 7, 5), SQLITE)  # noqa: DTZ001 - on purpose


def test_timestamp_literal_keeps_microseconds():
    moment = datetime(2026, 11, 29, 7, 5, 0, 1, tzinfo=UTC)
    assert timestamp_literal(moment, SQLITE) == "'2026-11-29 07:05:00.000001'"
