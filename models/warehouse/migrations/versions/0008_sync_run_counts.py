"""sync_runs.suppressed and sync_runs.duplicates: every record a run read is counted.

Records of erased people dropped before loading, and rows superseded by a later row of the
same id in their page, were read but not counted, so a run's counts did not add up to its
records. Existing rows get 0 (what they counted).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "suppressed",
                sa.Integer(),
                server_default="0",
                nullable=False,
                comment="Records of erased people (suppression_list) dropped, not loaded.",
            )
        )
        batch_op.add_column(
            sa.Column(
                "duplicates",
                sa.Integer(),
                server_default="0",
                nullable=False,
                comment="Records superseded by a later one with the same id in their page.",
            )
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("duplicates")
        batch_op.drop_column("suppressed")
