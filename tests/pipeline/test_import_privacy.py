"""A file with personal data in the wrong columns leaves none in what people read (quarantine
reasons, ``sync_runs``, summaries, logs), and every row read is counted: suppressed rows of
erased people and repeated ids included."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.config.settings import CsvImportSettings, Settings, parse_settings
from leadflow.connectors.http import install_log_redaction
from leadflow.models.privacy.suppression import suppress
from leadflow.models.warehouse.tables import quarantine, sync_runs
from leadflow.pipeline.file_import import COUNTS, format_summary, import_file, sync_file
from leadflow.pipeline.run import RunContext

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
SALT = "test-salt-of-sixteen-chars"
MAPPING = {
    "id": "id", "created_at": "created", "updated_at": "updated", "email": "email",
    "phone": "phone",
}  # fmt: skip
# Line 2 on: two good leads (the first repeated), then personal data in the wrong columns.
MALFORMED = """id,created,updated,email,phone
1,2026-11-20T10:00:00Z,,ok.one@example.com,+14155550101
2,2026-11-20T10:00:00Z,,ok.two@example.com,
3,someone.three@example.com,,three@example.com,
4,+1 415 555 0134,,four@example.com,
5,(415) 555-0199,,five@example.com,
6,2026-11-20T10:00:00Z,,,six@example.com
7,2026-11-20T10:00:00Z,seven.later@example.com,seven@example.com,
8,2026-11-20T10:00:00Z,,not-an-email +44 7911 123456,
1,2026-11-21T10:00:00Z,,ok.one@example.com,+14155550101
"""
ROWS = 9
# Every email and phone of the file, and the digits of each phone in other spellings.
PERSONAL = [
    *re.findall(r"[\w.+-]+@[\w-]+\.\w+", MALFORMED),
    "+14155550101", "4155550101", "+1 415 555 0134", "4155550134", "415 555 0134",
    "(415) 555-0199", "555-0199", "4155550199", "+44 7911 123456", "7911 123456",
    "447911123456",
]  # fmt: skip
# Independent of the masking under test: anything that still looks like an email or a phone.
LOOKS_PERSONAL = re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}|\d{3}\D{0,2}\d{3}\D?\d{4}")
SHAPE = re.compile(r"[x9\W_]+")  # a value's shape: letters x, digits 9


def leaks(text: str) -> list[str]:
    """The personal values (or look-alikes) found in ``text``."""
    found = [value for value in PERSONAL if value in text]
    return found + [m for m in LOOKS_PERSONAL.findall(text) if not SHAPE.fullmatch(m)]


def settings_for(warehouse_url: str, **extra: object) -> Settings:
    raw = {"warehouse_url": warehouse_url, "timezone": "Europe/Berlin", **extra}
    return parse_settings(raw, origin="test", env={})


def malformed_file(folder: Path) -> Path:
    path = folder / "crm_malformed.csv"
    path.write_text(MALFORMED)
    return path


def stored_texts(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        reasons = conn.execute(sa.select(quarantine.c.reason)).scalars().all()
        runs = conn.execute(sa.select(sync_runs.c.warnings, sync_runs.c.error)).all()
    return {
        "quarantine.reason": "\n".join(reasons),
        "sync_runs.warnings": "\n".join(w or "" for w, _ in runs),
        "sync_runs.error": "\n".join(e or "" for _, e in runs),
    }


def test_no_email_or_phone_in_quarantine_sync_runs_summary_or_logs(
    migrated_engine: Engine, warehouse_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_redaction()
    settings = settings_for(warehouse_url)
    run = RunContext(engine=migrated_engine, run_id="r1", clock=lambda: NOW)
    path = malformed_file(tmp_path)
    entry = CsvImportSettings(path=str(path), source="crm", mapping=MAPPING)
    headerless = tmp_path / "no_header.csv"  # its first row taken for column names
    headerless.write_text("ada@example.com,+14155550134,2026-11-20T10:00:00Z\n")
    with caplog.at_level(logging.DEBUG):
        summary = sync_file(str(path), entry, settings, run)
        with pytest.raises(Exception, match="column mapping"):
            sync_file(str(headerless), CsvImportSettings(path=str(headerless), source="x"),
                      settings, RunContext(engine=migrated_engine, run_id="r2", clock=lambda: NOW))  # fmt: skip
    texts = stored_texts(migrated_engine)
    texts["logs"] = caplog.text
    texts["summary"] = "\n".join(summary.warnings)
    assert summary.quarantined == 6 and len(summary.warnings) == 6
    assert all(texts[name] for name in ("quarantine.reason", "sync_runs.warnings"))
    assert "'***@***', '+99999999999'" in texts["sync_runs.error"]
    assert {name: leaks(text) for name, text in texts.items()} == {name: [] for name in texts}
    # The problem and the column are named; a malformed value is shown by its shape.
    assert summary.warnings == [
        "line 4: not an ISO-8601 timestamp: 'xxxxxxx.xxxxx@xxxxxxx.xxx' (created)",
        "line 5: not an ISO-8601 timestamp: '+9 999 999 9999' (created)",
        "line 6: not an ISO-8601 timestamp: '(999) 999-9999' (created)",
        "line 7: no way to reach this lead: not a phone number "
        "((1) The string supplied did not seem to be a phone number.) (email)",
        "line 8: not an ISO-8601 timestamp: 'xxxxx.xxxxx@xxxxxxx.xxx' (updated)",
        "line 9: no way to reach this lead: not a valid email address "
        "(An email address must have an @-sign.) (email)",
    ]


def counts_of(summary: dict) -> int:
    return sum(summary[name] for name in COUNTS)


def test_every_row_is_counted_suppressed_and_repeated_ones_too(
    migrated_engine: Engine, warehouse_url: str, tmp_path: Path
) -> None:
    settings = settings_for(warehouse_url, privacy={"hash_salt": SALT})
    path = malformed_file(tmp_path)
    first = import_file(path, source="crm", settings=settings, mapping=MAPPING, now=NOW)
    assert (first["rows"], first["inserted"], first["quarantined"]) == (ROWS, 2, 6)
    assert (first["suppressed"], first["duplicates"]) == (0, 1)
    assert counts_of(first) == first["rows"] == ROWS
    # A forget: one loaded lead's email, and an address only a quarantined row holds.
    with migrated_engine.begin() as conn:
        identifiers = [("email", "ok.two@example.com"), ("email", "three@example.com")]
        assert suppress(conn, SALT, identifiers, request_id="f1", now=NOW) == 2
        assert suppress(conn, SALT, identifiers, request_id="f2", now=NOW) == 0
    again = import_file(path, source="crm", settings=settings, mapping=MAPPING, now=NOW)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 1)
    assert (again["quarantined"], again["suppressed"], again["duplicates"]) == (5, 2, 1)
    assert counts_of(again) == again["rows"] == ROWS
    text = format_summary(again)
    assert f"{ROWS} rows: 0 inserted, 0 updated, 1 unchanged, 5 quarantined, 2 suppressed" in text
    assert "1 repeated ids" in text and not leaks(text)


def test_a_nightly_import_records_suppressed_and_duplicates_in_sync_runs(
    migrated_engine: Engine, warehouse_url: str, tmp_path: Path
) -> None:
    settings = settings_for(warehouse_url, privacy={"hash_salt": SALT})
    with migrated_engine.begin() as conn:
        suppress(conn, SALT, [("email", "ok.two@example.com")], request_id="f1", now=NOW)
    run = RunContext(engine=migrated_engine, run_id="r1", clock=lambda: NOW, hash_salt=SALT)
    path = malformed_file(tmp_path)
    summary = sync_file(str(path), CsvImportSettings(path=str(path), source="crm",
                        mapping=MAPPING), settings, run)  # fmt: skip
    assert summary.records == summary.accounted == ROWS
    with migrated_engine.connect() as conn:
        row = conn.execute(sa.select(sync_runs)).mappings().one()
    counted = ("inserted", "updated", "unchanged", "quarantined", "suppressed", "duplicates")
    assert [row[name] for name in counted] == [1, 0, 0, 6, 1, 1]
    assert sum(row[name] for name in counted) == row["records"] == ROWS
