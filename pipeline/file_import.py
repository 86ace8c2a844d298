"""Import lead export files through the one page loop: by hand (``import_file``, for the
``leadflow import`` command and the ``import-csv`` flow) or nightly (``sync_file``, one
``sync_runs`` row per file matched by ``csv_imports``).

A file loads in pages of ``BATCH_SIZE`` lead ids (``leadflow.connectors.files.export``),
each page with its quarantined rows and the file's sync state (``csv:<file name>``, no
watermark) in one transaction, taken like every sync's (the SQLite writer lock, the
PostgreSQL deadlock retry, erased people dropped). Leads upsert by natural key and only
changed rows are written, so importing the same file again inserts and updates nothing, and
an interrupted import is finished by running it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from leadflow.config.settings import CsvImportSettings, Settings
from leadflow.connectors.files.export import LeadExport, read_export
from leadflow.connectors.registry import REGISTRY
from leadflow.models.loading.leads import LoadCounts, load_batch
from leadflow.models.records.masking import mask_personal
from leadflow.models.warehouse.engine import open_warehouse
from leadflow.models.warehouse.migrate import upgrade
from leadflow.pipeline.page_loop import Feed, PageWrite, load_pages
from leadflow.pipeline.run import RunContext, SourceSummary, record_run

BATCH_SIZE = 1000
DEFAULT_ACCOUNT = "csv"
# What became of each row read: rows == the sum of these (``import_summary``).
COUNTS = ("inserted", "updated", "unchanged", "quarantined", "suppressed", "duplicates")


def default_account(settings: Settings, source: str) -> str:
    """The account leads of ``source`` load under when none is given: the one account of
    the configured source of that type (so a Meta export and the Meta sync agree), else
    ``"csv"``."""
    accounts = [
        account
        for config in settings.sources.values()
        if config.type == source
        for account in REGISTRY[config.type].accounts(config)
    ]
    return accounts[0] if len(accounts) == 1 else DEFAULT_ACCOUNT


def read_file(
    path: str | Path,
    *,
    source: str,
    settings: Settings,
    mapping: Mapping[str, str] | None = None,
    account_id: str | None = None,
) -> LeadExport:
    """Read and map the export file; naive timestamps are read in ``settings.timezone``.
    Raises CsvFormatError for a file that cannot be read as a lead export."""
    return read_export(
        path,
        source=source,
        account_id=account_id or default_account(settings, source),
        mapping=mapping,
        default_region=settings.default_region,
        assume_timezone=settings.timezone,
    )


def file_feed(export: LeadExport) -> Feed:
    """The loop's feed of one export file: its pages of rows, loaded as leads, each saving
    the file's state with a cursor naming the file, its hash and the page."""
    pages = export.page_count(BATCH_SIZE)
    cursor = {"file": export.name, "sha256": export.sha256}

    def write(conn: Connection, batch: PageWrite) -> LoadCounts:
        where = cursor | {"batch": batch.page.number, "batches": pages}
        return load_batch(
            conn, source=export.source, account_id=export.account_id, leads=batch.rows,
            rejected=batch.rejected, watermark=batch.watermark, cursor=where, now=batch.now,
            state_key=batch.state_key,
        )  # fmt: skip

    return Feed(export.source, lambda lookup: export.pages(BATCH_SIZE), write)


def import_file(
    path: str | Path,
    *,
    source: str,
    settings: Settings,
    mapping: Mapping[str, str] | None = None,
    account_id: str | None = None,
    now: datetime | None = None,
    migrate: bool = True,
) -> dict[str, Any]:
    """Upgrade the warehouse, read ``path`` and load it; return what happened
    (``import_summary``). Writes no ``sync_runs`` row (``sync_file`` does).

    Raises CsvFormatError for a file that cannot be read as a lead export (nothing is
    loaded then).
    """
    at = now or datetime.now(UTC)
    with open_warehouse(settings.warehouse_url) as engine:
        if migrate:  # the nightly flow migrates once before its tasks start
            upgrade(engine)
        export = read_file(
            path, source=source, settings=settings, mapping=mapping, account_id=account_id
        )
        run = RunContext(
            engine=engine, run_id="import", default_region=settings.default_region,
            clock=lambda: at, hash_salt=settings.privacy.salt(),
        )  # fmt: skip
        summary = SourceSummary(source, export.partition, started_at=at)
        load_pages(file_feed(export), run, summary)
    return import_summary(export, summary)


def sync_file(
    path: str | Path, entry: CsvImportSettings, settings: Settings, run: RunContext
) -> SourceSummary:
    """Import one file matched by a ``csv_imports`` glob in a sync run: one ``sync_runs``
    row (``csv:<file name>``), failed with the reason when the file cannot be read."""
    mapping = entry.mapping
    if isinstance(mapping, str):
        mapping = settings.csv_mappings[mapping]  # names are checked when the config loads
    summary = SourceSummary(entry.source, f"csv:{Path(path).name}", started_at=run.clock())

    def body() -> None:
        export = read_file(
            path, source=entry.source, settings=settings, mapping=mapping,
            account_id=entry.account_id,
        )  # fmt: skip
        load_pages(file_feed(export), run, summary)

    return record_run(summary, run, body)


def import_summary(export: LeadExport, summary: SourceSummary) -> dict[str, Any]:
    """What an import did: how the file was read, and what became of each row read: ``rows
    == inserted + updated + unchanged + quarantined + suppressed (erased people, not loaded)
    + duplicates (rows whose id a later row of the file repeats)``; the values left out of
    loaded leads, counted (``notes``: "3 leads: phone not valid for its region..."); then the
    first rows that were quarantined ("line N: why (column)"), masked."""
    return {
        "file": export.name,
        "source": export.source,
        "account_id": export.account_id,
        "format": export.form.kind,
        "encoding": export.form.encoding,
        "delimiter": export.form.delimiter,
        "rows": export.rows,
        **{name: getattr(summary, name) for name in COUNTS},
        "notes": list(export.notes),
        "problems": [
            mask_personal(problem) for problem in summary.warnings if problem not in export.notes
        ],
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary for people: what was read, what it did, the first problems (masked by
    ``import_summary``)."""
    delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
    lines = [
        f"{summary['file']}: {summary['format']} export, {summary['encoding']}, "
        f"{delimiter.get(summary['delimiter'], summary['delimiter'])}-delimited; "
        f"source {summary['source']}, account {summary['account_id']}",
        f"{summary['rows']} rows: {summary['inserted']} inserted, {summary['updated']} updated, "
        f"{summary['unchanged']} unchanged, {summary['quarantined']} quarantined, "
        f"{summary['suppressed']} suppressed"
        + (f", {summary['duplicates']} repeated ids" if summary["duplicates"] else ""),
    ]
    lines += [f"  {note}" for note in summary.get("notes", ())]
    lines += [f"  {problem}" for problem in summary["problems"]]
    if summary["quarantined"] > len(summary["problems"]):
        lines.append(f"  ... and {summary['quarantined'] - len(summary['problems'])} more")
    return "\n".join(lines)
