"""``leadflow import FILE --source NAME [--account ID] [--mapping ...]``: load one lead export
file (Meta's or LinkedIn's download, or any CSV through a column mapping).

The work is ``leadflow.pipeline.file_import.import_file``, under the warehouse's sync lock
(an import loads leads like a sync does: it waits for a running sync, and a sync waits for
it); this module is the command's arguments and output. It does not import Prefect.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from leadflow.cli.common import add_config_option, lock_notice
from leadflow.config.settings import ConfigError, Settings, load_settings
from leadflow.connectors.files.formats import CsvFormatError
from leadflow.models.records.masking import mask_personal
from leadflow.pipeline.file_import import DEFAULT_ACCOUNT, format_summary, import_file
from leadflow.pipeline.locks import sync_lock


def parse_mapping(value: str | None, settings: Settings) -> dict[str, str] | None:
    """``--mapping``: a JSON object {lead field: column}, or the name of a mapping under the
    configuration's ``csv_mappings``."""
    if value is None or not value.strip():
        return None
    if value.lstrip().startswith("{"):
        try:
            found = json.loads(value)
        except json.JSONDecodeError as error:
            raise CsvFormatError(f"--mapping is not valid JSON ({error.msg})") from None
    else:
        found = settings.csv_mappings.get(value)
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
    add_config_option(command)
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
    """Run ``leadflow import``: print the summary; exit 2 when the file cannot be imported.
    A bad configuration raises ConfigError and another run holding the sync lock past
    ``sync.lock_wait_minutes`` raises ``LockHeld`` (``leadflow.cli.main`` prints one line
    and exits 2 or 75)."""
    settings = load_settings(getattr(args, "config", None))  # a bad file: leadflow.cli.main
    try:
        mapping = parse_mapping(args.mapping, settings)
        with sync_lock(settings, on_wait=lock_notice("import", settings)):
            summary = import_file(
                args.file, source=args.source, settings=settings, mapping=mapping,
                account_id=args.account,
            )  # fmt: skip
    except (ConfigError, CsvFormatError, OSError) as error:
        print(f"leadflow import: {mask_personal(str(error))}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0
