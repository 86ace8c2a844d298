"""intake_inbox: platform webhook notifications, committed before they are acknowledged.

``leadflow intake`` stores each notification of a new lead (Meta ``leadgen``, Google Ads
lead form webhook, LinkedIn lead notification) here, keyed by platform and lead id, before
it answers 2xx, and loads the lead from the row afterwards. Nothing existing changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "intake_inbox",
        sa.Column("platform", sa.String(), nullable=False, comment="meta, google_ads or linkedin."),
        sa.Column(
            "notification_id",
            sa.String(),
            nullable=False,
            comment="The lead id the notification names (the platform's id; dedupes retries).",
        ),
        sa.Column(
            "account_id",
            sa.String(),
            nullable=True,
            comment="The lead account it belongs to, when the notification says.",
        ),
        sa.Column(
            "body",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="The notification as received (JSON; Google's google_key left out). "
            "Google's carries the lead's answers until it is loaded (then left out).",
        ),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow received and committed it (UTC).",
        ),
        sa.Column(
            "status",
            sa.String(),
            nullable=False,
            comment="pending (to load, or retried), loaded, or failed (gave up).",
        ),
        sa.Column(
            "attempts",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Loads tried that failed (a lead not fetchable yet counts).",
        ),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Not retried before this instant (UTC); null: at once.",
        ),
        sa.Column(
            "last_error",
            sa.String(),
            nullable=True,
            comment="Why the last attempt failed (names the step, never a value).",
        ),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When it was loaded or given up (UTC).",
        ),
        sa.PrimaryKeyConstraint("platform", "notification_id", name=op.f("pk_intake_inbox")),
        comment="One row per platform notification of a new lead, committed before the 2xx.",
    )
    op.create_index(op.f("ix_intake_inbox_status"), "intake_inbox", ["status"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_intake_inbox_status"), table_name="intake_inbox")
    op.drop_table("intake_inbox")
