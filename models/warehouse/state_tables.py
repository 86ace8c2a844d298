"""State of leadflow's own incremental steps (classification, SLA): ``step_state``.

Defined on the one ``metadata`` (``schema``); ``tables`` imports every table module, so
Alembic and the drift test see it with the rest of the schema.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Set
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from leadflow.models.warehouse.schema import _json, _str, _ts, metadata
from leadflow.models.warehouse.upsert import upsert

step_state = sa.Table(
    "step_state",
    metadata,
    _str("step", "leadflow step: classification or sla.", nullable=False, primary_key=True),
    _ts(
        "watermark",
        "Facts changed at or before this instant (UTC) were seen by the step's last run.",
        nullable=True,
    ),
    sa.Column("state", _json(), nullable=True, comment="What else the last run saw (JSON)."),
    _ts("updated_at", "When the step last finished (UTC)."),
    comment="One row per incremental leadflow step: what its last finished run saw.",
)


def read_step(conn: Connection, step: str) -> tuple[datetime | None, dict[str, Any]] | None:
    """The step's watermark and state as its last run saved them; None before any run."""
    query = sa.select(step_state.c.watermark, step_state.c.state).where(step_state.c.step == step)
    found = conn.execute(query).first()
    return None if found is None else (found[0], found[1] or {})


def save_step(
    conn: Connection,
    step: str,
    watermark: datetime | None,
    state: dict[str, Any],
    now: datetime,
) -> None:
    """Record what the step's run saw (in the caller's transaction)."""
    row = {"step": step, "watermark": watermark, "state": state, "updated_at": now}
    upsert(conn, step_state, [row], ["step"], ["watermark", "state", "updated_at"])


def settings_fingerprint(
    model: BaseModel, *, exclude: set[str] | None = None, extra: str = ""
) -> str:
    """A short hash of ``model``'s settings that is the same in every process.

    ``model_dump_json`` writes a set in iteration order, which for strings changes with
    each interpreter's hash seed: a fingerprint of it differed from one ``leadflow sync``
    to the next, so every nightly run took its rules for new ones. Sets are sorted here
    and keys too.
    """
    text = json.dumps(_canonical(model.model_dump(exclude=exclude)), sort_keys=True, default=str)
    return hashlib.sha256((text + extra).encode()).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, Set):
        return sorted((_canonical(item) for item in value), key=repr)
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value
