"""step_state: what leadflow's incremental steps (classification, SLA) saw on their last run.

New and empty: the first classification and SLA evaluation after the upgrade look at
everyone and fill it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "step_state",
        sa.Column(
            "step", sa.String(), nullable=False, comment="leadflow step: classification or sla."
        ),
        sa.Column(
            "watermark",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Facts changed at or before this instant (UTC) were seen by the step's "
            "last run.",
        ),
        sa.Column("state", sa.JSON(), nullable=True, comment="What else the last run saw (JSON)."),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the step last finished (UTC).",
        ),
        sa.PrimaryKeyConstraint("step"),
        comment="One row per incremental leadflow step: what its last finished run saw.",
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("step_state")
