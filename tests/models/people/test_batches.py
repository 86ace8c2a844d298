"""``leadflow.models.people.batches``: SQLite's stored timestamps read back as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from leadflow.models.people.batches import utc


def test_stored_text_reads_as_aware_utc() -> None:
    found = utc("2026-03-02 09:30:00.000250")
    assert found == datetime(2026, 3, 2, 9, 30, 0, 250, tzinfo=UTC)
    assert found is not None and found.tzinfo is UTC
    assert utc("2026-03-02 09:30:00") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert utc(None) is None


def test_text_with_an_offset_keeps_its_wall_time_as_utc() -> None:
    """As SQLAlchemy reads such text: the offset is not applied."""
    assert utc("2026-03-02 09:30:00+02:00") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
