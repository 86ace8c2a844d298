"""State of leadflow's own incremental steps (classification, SLA): ``step_state``.

Defined on ``models.tables.metadata`` (imported at the end of that module), so Alembic and
the drift test see it with the rest of the schema.
"""

from __future__ import annotations

import sqlalchemy as sa

from models.schema import _json, _str, _ts, metadata

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
