"""writebacks: every write leadflow makes to a CRM (SLA breach tasks, contact properties).

One row per (crm, kind, key), committed as pending before the CRM is asked, so a rerun or a
crash never makes a write twice. Nothing existing changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "writebacks",
        sa.Column("crm", sa.String(), nullable=False, comment="The CRM written to (hubspot)."),
        sa.Column(
            "kind",
            sa.String(),
            nullable=False,
            comment="task (an SLA breach) or properties (stage and scores).",
        ),
        sa.Column(
            "key",
            sa.String(),
            nullable=False,
            comment="External key: <rule>:<person_id>:<clock_start ISO> for a task, the person "
            "id for properties.",
        ),
        sa.Column(
            "person_id",
            sa.String(),
            nullable=True,
            comment="The person (people.person_id) the write is about.",
        ),
        sa.Column(
            "object_id",
            sa.String(),
            nullable=True,
            comment="The CRM's id of the object written: the task, or the contact.",
        ),
        sa.Column(
            "status",
            sa.String(),
            nullable=False,
            comment="pending (asked, outcome not recorded yet), created, closed (task "
            "completed) or failed.",
        ),
        sa.Column(
            "attempts",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Writes tried that failed or whose outcome was unknown.",
        ),
        sa.Column(
            "last_error",
            sa.String(),
            nullable=True,
            comment="Why the last attempt failed (status and field names, never a value).",
        ),
        sa.Column(
            "payload_hash",
            sa.String(length=64),
            nullable=True,
            comment="sha256 of the property values last written (kind properties); else null.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the row was first recorded (UTC).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the row last changed (UTC).",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'created', 'closed', 'failed')",
            name=op.f("ck_writebacks_status"),
        ),
        sa.PrimaryKeyConstraint("crm", "kind", "key", name=op.f("pk_writebacks")),
        comment="One row per write to a CRM (crm, kind, key): what, its CRM id, its outcome.",
    )
    op.create_index(op.f("ix_writebacks_person_id"), "writebacks", ["person_id"], unique=False)
    op.create_index(op.f("ix_writebacks_status"), "writebacks", ["status"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_writebacks_status"), table_name="writebacks")
    op.drop_index(op.f("ix_writebacks_person_id"), table_name="writebacks")
    op.drop_table("writebacks")
