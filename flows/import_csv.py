"""Import one lead export file into the warehouse: ``import_file``, the ``import-csv`` flow and
the ``leadflow import`` command.

A file loads in batches of ``BATCH_SIZE`` leads, each batch with its quarantined rows and
the file's sync state (``csv:<file name>``, no watermark) in one transaction. Leads upsert
by natural key and only changed rows are written, so importing the same file again inserts
and updates nothing, and an interrupted import is finished by running it again.

Prefect is imported only when the ``import_csv`` flow is first used (PEP 562 module
``__getattr__``), so registering the CLI command does not make every ``leadflow`` command
pay the ~2 s Prefect import.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import Counter
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadflow.config.settings import ConfigError, Settings, load_settings
from leadflow.connectors.files.connector import read_csv_leads
from leadflow.connectors.files.formats import CsvFormatError
from leadflow.connectors.registry import REGISTRY
from leadflow.models.loading.leads import latest_by_key, load_batch
from leadflow.models.privacy.suppression import drop_suppressed
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.migrate import upgrade

if TYPE_CHECKING:
    from prefect import Flow

    import_csv: Flow[..., dict[str, Any]]

BATCH_SIZE = 1000
DEFAULT_ACCOUNT = "csv"
SHOWN_PROBLEMS = 20
ARTIFACT_KEY = "import-csv-summary"


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
    """Upgrade the warehouse, read ``path`` and load it; return what happened.

    Naive timestamps in the file are read in ``settings.timezone``. Raises CsvFormatError
    for a file that cannot be read as a lead export (nothing is loaded then).
    """
    file = Path(path)
    now = now or datetime.now(UTC)
    account = account_id or default_account(settings, source)
    if migrate:  # the nightly flow migrates once before its tasks start
        upgrade(settings.warehouse_url)
    leads, rejected, form = read_csv_leads(
        file,
        source=source,
        account_id=account,
        mapping=mapping,
        default_region=settings.default_region,
        assume_timezone=settings.timezone,
    )
    unique = latest_by_key(leads, source)
    cursor = {"file": file.name, "sha256": hashlib.sha256(file.read_bytes()).hexdigest()}
    batches = max(math.ceil(len(unique) / BATCH_SIZE), math.ceil(len(rejected) / BATCH_SIZE), 1)
    totals: Counter[str] = Counter()
    engine = create_engine(settings.warehouse_url)
    try:
        for number in range(batches):
            part = slice(number * BATCH_SIZE, (number + 1) * BATCH_SIZE)
            with engine.begin() as conn:
                kept, kept_rejected, _ = drop_suppressed(
                    conn, settings.privacy.salt(), unique[part], rejected[part],
                    settings.default_region,
                )  # fmt: skip
                counts = load_batch(
                    conn, source=source, account_id=account, leads=kept,
                    rejected=kept_rejected, watermark=None, now=now, state_key=f"csv:{file.name}",
                    cursor=cursor | {"batch": number + 1, "batches": batches},
                )  # fmt: skip
            totals.update(asdict(counts))
    finally:
        engine.dispose()
    return {
        "file": file.name,
        "source": source,
        "account_id": account,
        "format": form.kind,
        "encoding": form.encoding,
        "delimiter": form.delimiter,
        "rows": len(leads) + len(rejected),
        "duplicates": len(leads) - len(unique),
        **{name: totals[name] for name in ("inserted", "updated", "unchanged", "quarantined")},
        "problems": [f"{r.reason} ({r.field_name})" for r in rejected[:SHOWN_PROBLEMS]],
    }


def _sync_lock(settings: Settings) -> AbstractContextManager[None]:
    """An import loads leads like a sync does: it waits for a running sync, and a sync
    waits for it (incremental classification relies on loads never overlapping it)."""
    from leadflow.models.warehouse.run_lock import warehouse_lock

    wait = settings.sync.lock_wait_minutes * 60
    return warehouse_lock(settings.warehouse_url, "sync", wait_seconds=wait)


def _build_flow() -> Any:
    from prefect import flow
    from prefect.artifacts import create_table_artifact

    @flow(name="import-csv", log_prints=True)
    def import_csv(
        path: str,
        source: str,
        config_path: str | None = None,
        mapping: dict[str, str] | None = None,
        account_id: str | None = None,
    ) -> dict[str, Any]:
        """Import one lead export file (one file is one unit of work: no tasks)."""
        settings = load_settings(config_path)
        with _sync_lock(settings):
            summary = import_file(
                path, source=source, settings=settings, mapping=mapping, account_id=account_id
            )
        print(format_summary(summary))
        create_table_artifact(
            key=ARTIFACT_KEY,
            table=[{k: v for k, v in summary.items() if k != "problems"}],
            description=f"Import of {summary['file']} as {source}: rows loaded and quarantined.",
        )
        return summary

    return import_csv


def __getattr__(name: str) -> Any:
    if name == "import_csv":
        built = globals()["import_csv"] = _build_flow()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary for people: what was read, what it did, the first problems."""
    delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
    lines = [
        f"{summary['file']}: {summary['format']} export, {summary['encoding']}, "
        f"{delimiter.get(summary['delimiter'], summary['delimiter'])}-delimited; "
        f"source {summary['source']}, account {summary['account_id']}",
        f"{summary['rows']} rows: {summary['inserted']} inserted, {summary['updated']} updated, "
        f"{summary['unchanged']} unchanged, {summary['quarantined']} quarantined"
        + (f", {summary['duplicates']} repeated ids" if summary["duplicates"] else ""),
    ]
    lines += [f"  {problem}" for problem in summary["problems"]]
    if summary["quarantined"] > len(summary["problems"]):
        lines.append(f"  ... and {summary['quarantined'] - len(summary['problems'])} more")
    return "\n".join(lines)


def parse_mapping(value: str | None, settings: Settings) -> dict[str, str] | None:
    """``--mapping``: a JSON object {lead field: column}, or the name of a mapping under the
    configuration's ``csv_mappings`` (once Settings has that key)."""
    if value is None or not value.strip():
        return None
    if value.lstrip().startswith("{"):
        try:
            found = json.loads(value)
        except json.JSONDecodeError as error:
            raise CsvFormatError(f"--mapping is not valid JSON ({error.msg})") from None
    else:
        found = (getattr(settings, "csv_mappings", None) or {}).get(value)
        if found is None:
            raise ConfigError(f"no csv_mappings.{value} in the configuration")
    if not isinstance(found, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        raise CsvFormatError('a mapping is an object of strings: {"lead field": "column"}')
    return dict(found)


def add_import_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``import FILE --source NAME [--account ID] [--mapping ...]`` to the CLI."""
    command = subparsers.add_parser(
        "import", help="load one lead export file (Meta, LinkedIn, or any CSV with a mapping)"
    )
    command.add_argument("file", help="the export file (.csv / .tsv, any common encoding)")
    command.add_argument(
        "--source", required=True, help="source the leads load under (meta, linkedin, any name)"
    )
    command.add_argument(
        "--account", help=f"account id (default: the source's only account, else {DEFAULT_ACCOUNT})"
    )
    command.add_argument(
        "--mapping", help='JSON {"lead field": "column"} or a csv_mappings key of the config'
    )
    return command


def run_import(args: argparse.Namespace) -> int:
    """Run ``leadflow import``: print the summary; exit 2 when the file cannot be imported."""
    try:
        settings = load_settings(getattr(args, "config", None))
        mapping = parse_mapping(args.mapping, settings)
        with _sync_lock(settings):
            summary = import_file(
                args.file, source=args.source, settings=settings, mapping=mapping,
                account_id=args.account,
            )  # fmt: skip
    except (ConfigError, CsvFormatError, OSError) as error:
        print(f"leadflow import: {error}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0
