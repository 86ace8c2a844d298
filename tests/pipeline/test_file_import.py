"""A lead export file loads through the sync's page loop: its transactions take the SQLite
writer lock and are run again when PostgreSQL rolls one back; a nightly import writes its
``sync_runs`` row."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import leadflow.pipeline.file_import as file_import
import leadflow.pipeline.page_loop as page_loop
from leadflow.config.settings import CsvImportSettings, Settings, parse_settings
from leadflow.connectors.files.formats import CsvFormatError
from leadflow.models.warehouse.engine import open_warehouse, write_transaction
from leadflow.models.warehouse.migrate import upgrade
from leadflow.models.warehouse.tables import leads, quarantine, sync_runs, sync_state
from leadflow.pipeline.file_import import import_file, sync_file
from leadflow.pipeline.run import RunContext

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
META_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "csv" / "meta_leads_utf16.csv"
MAPPING = {"id": "id", "created_at": "created", "email": "email"}


def settings_for(warehouse_url: str) -> Settings:
    raw = {"warehouse_url": warehouse_url, "timezone": "Europe/Berlin"}
    return parse_settings(raw, origin="test", env={})


def crm_file(folder: Path, good: int = 5, bad: int = 3) -> Path:
    """``good`` leads, then ``bad`` rows without a way to reach the lead."""
    lines = ["id,created,email"]
    lines += [f"{n},2026-11-2{n % 3}T10:00:00Z,person{n}@example.com" for n in range(good)]
    lines += [f"x{n},2026-11-20T10:00:00Z," for n in range(bad)]
    path = folder / "crm.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_page_rolled_back_as_a_deadlock_victim_is_written_again(
    migrated_engine: Engine, warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_import, "BATCH_SIZE", 2)  # pages: 0-1 + x0-x1, 2-3 + x2, 4
    monkeypatch.setattr(page_loop, "COMMIT_RECORDS", 1)  # a transaction per page, as counted
    real_load_batch = file_import.load_batch
    calls: list[int] = []

    class Deadlock(Exception):
        sqlstate = "40P01"

    def load_batch_failing_once(conn, **kwargs):
        counts = real_load_batch(conn, **kwargs)  # written, then rolled back
        calls.append(kwargs["cursor"]["batch"])
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT INTO leads", {}, Deadlock())
        return counts

    monkeypatch.setattr(file_import, "load_batch", load_batch_failing_once)
    path = crm_file(tmp_path)
    summary = import_file(
        path, source="crm", settings=settings_for(warehouse_url), mapping=MAPPING, now=NOW,
        migrate=False,
    )  # fmt: skip
    assert calls == [1, 2, 2, 3]  # the second page twice
    assert (summary["inserted"], summary["updated"], summary["quarantined"]) == (5, 0, 3)
    assert count(migrated_engine, leads) == 5
    with migrated_engine.connect() as conn:
        seen = conn.execute(sa.select(quarantine.c.record_key, quarantine.c.times_seen)).all()
        [cursor] = conn.execute(sa.select(sync_state.c.cursor)).scalars()
    assert {times for _, times in seen} == {1}  # the rolled-back page's rejects counted once
    assert (cursor["batch"], cursor["batches"], cursor["file"]) == (3, 3, "crm.csv")


def test_an_import_waits_for_the_sqlite_writer_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with open_warehouse(url) as engine:
        upgrade(engine)
    path, finished = crm_file(tmp_path), threading.Event()
    errors: list[BaseException] = []

    def run_import() -> None:
        try:
            import_file(path, source="crm", settings=settings_for(url), mapping=MAPPING,
                        now=NOW, migrate=False)  # fmt: skip
        except BaseException as error:  # reported by the test's thread
            errors.append(error)
        finally:
            finished.set()

    importer = threading.Thread(target=run_import)
    with open_warehouse(url) as engine:
        try:
            with write_transaction(engine):  # another writer of this process holds the file
                importer.start()
                assert not finished.wait(0.5), "the import wrote beside another writer"
                assert count(engine, leads) == 0
            assert finished.wait(30)
        finally:
            importer.join(30)
        assert not errors, errors
        assert count(engine, leads) == 5


def test_a_nightly_import_writes_one_sync_runs_row(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    settings = settings_for(warehouse_url)
    run = RunContext(engine=migrated_engine, run_id="r1", clock=lambda: NOW)
    entry = CsvImportSettings(path=str(META_FILE), source="meta")
    summary = sync_file(str(META_FILE), entry, settings, run)
    assert (summary.status, summary.pages, summary.records) == ("succeeded", 1, 6)
    with migrated_engine.connect() as conn:
        row = conn.execute(sa.select(sync_runs)).mappings().one()
    assert (row["source"], row["account_id"], row["status"]) == (
        "meta",
        "csv:meta_leads_utf16.csv",
        "succeeded",
    )
    assert (row["inserted"], row["quarantined"], row["watermark"]) == (4, 2, None)
    assert row["warnings"].splitlines() == [
        "line 5: not an ISO-8601 timestamp: 'xxxxxxxxx' (created_time)",
        "line 6: no way to reach this lead: not a valid email address "
        "(An email address must have an @-sign.) (email)",
    ]


def test_a_nightly_import_of_an_unreadable_file_fails_its_row(
    migrated_engine: Engine, warehouse_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("just,some,columns\n1,2,3\n")
    settings = settings_for(warehouse_url)
    run = RunContext(engine=migrated_engine, run_id="r1", clock=lambda: NOW)
    with pytest.raises(CsvFormatError):
        sync_file(str(path), CsvImportSettings(path=str(path), source="crm"), settings, run)
    with migrated_engine.connect() as conn:
        row = conn.execute(sa.select(sync_runs)).mappings().one()
    assert (row["account_id"], row["status"]) == ("csv:notes.csv", "failed")
    assert row["error"].startswith("CsvFormatError: neither a Meta nor a LinkedIn lead export")
    assert count(migrated_engine, leads) == 0
