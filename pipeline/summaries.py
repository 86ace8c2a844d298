"""What a sync run left, read back from the warehouse: its ``sync_runs`` rows (the run
summary the flows publish and ``leadflow sync`` prints) and the people per stage."""

from __future__ import annotations

from typing import Any

from leadflow.models.loading.runs import latest_run_id, run_summary
from leadflow.models.people.classification_store import people_per_stage
from leadflow.models.warehouse.engine import open_warehouse


def read_summary(warehouse_url: str, run_id: str) -> list[dict[str, Any]]:
    """The ``sync_runs`` rows of one run: what the warehouse says happened."""
    with open_warehouse(warehouse_url) as engine, engine.connect() as conn:
        return run_summary(conn, run_id)


def latest_summary(warehouse_url: str) -> list[dict[str, Any]]:
    """The summary of the most recently finished run (empty before the first)."""
    with open_warehouse(warehouse_url) as engine, engine.connect() as conn:
        run_id = latest_run_id(conn)
        return run_summary(conn, run_id) if run_id else []


def people_summary(warehouse_url: str) -> dict[str, int]:
    """How many people the warehouse holds per lifecycle stage."""
    with open_warehouse(warehouse_url) as engine, engine.connect() as conn:
        return people_per_stage(conn)
