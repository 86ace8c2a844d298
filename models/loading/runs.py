"""What each sync run recorded: ``sync_runs`` rows, written per account and read back for
the run summary (Prefect artifact, ``leadflow sync`` output).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.records.masking import mask_personal
from leadflow.models.warehouse.tables import sync_runs
from leadflow.models.warehouse.upsert import upsert

# The columns of a run summary row, in the order they are shown.
SUMMARY_COLUMNS = (
    "source",
    "account_id",
    "status",
    "pages",
    "records",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "suppressed",
    "duplicates",
    "watermark",
    "seconds",
    "error",
    "warnings",
)
SYNC_RUN_KEY = ("run_id", "source", "account_id")


# Free text of a run, masked before it is stored (``mask_personal``).
MESSAGE_COLUMNS = ("error", "warnings")


def record_sync_run(conn: Connection, row: Mapping[str, Any]) -> None:
    """Insert or update one ``sync_runs`` row (by run_id, source, account_id); its error and
    warnings are masked first, so no email or phone is stored in them."""
    values = dict(row)
    for name in MESSAGE_COLUMNS:
        if isinstance(values.get(name), str):
            values[name] = mask_personal(values[name])
    updates = [name for name in values if name not in SYNC_RUN_KEY]
    upsert(conn, sync_runs, [values], SYNC_RUN_KEY, updates)


def run_summary(conn: Connection, run_id: str) -> list[dict[str, Any]]:
    """The ``sync_runs`` rows of one run (``SUMMARY_COLUMNS``), by source."""
    query = sa.select(*(sync_runs.c[name] for name in SUMMARY_COLUMNS))
    query = query.where(sync_runs.c.run_id == run_id).order_by(sync_runs.c.source)
    return [dict(row) for row in conn.execute(query).mappings()]


def latest_run_id(conn: Connection) -> str | None:
    """The run that finished last, or None before the first."""
    query = sa.select(sync_runs.c.run_id).order_by(sync_runs.c.finished_at.desc()).limit(1)
    return conn.execute(query).scalar()
