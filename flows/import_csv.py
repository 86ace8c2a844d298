"""The ``import-csv`` flow: one lead export file into the warehouse, by hand from Prefect.

One file is one unit of work (no tasks): ``leadflow.pipeline.file_import.import_file``
loads it through the sync's page loop, under the warehouse's sync lock, and the flow
prints its summary and publishes it as a table artifact. The ``leadflow import`` command
does the same without Prefect (``leadflow.cli.import_file``).
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from leadflow.config.settings import load_settings
from leadflow.models.records.masking import mask_personal
from leadflow.pipeline.file_import import format_summary, import_file
from leadflow.pipeline.locks import sync_lock

ARTIFACT_KEY = "import-csv-summary"


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
    with sync_lock(settings):
        summary = import_file(
            path, source=source, settings=settings, mapping=mapping, account_id=account_id
        )
    print(format_summary(summary))  # masked, as the artifact below
    row = {k: v for k, v in summary.items() if k != "problems"}
    create_table_artifact(
        key=ARTIFACT_KEY,
        table=[{k: mask_personal(v) if isinstance(v, str) else v for k, v in row.items()}],
        description=f"Import of {summary['file']} as {source}: rows loaded and quarantined.",
    )
    return summary
