"""BI: people.email_hash, suppression_list, and the BI views (leadflow.models.bi.views_0006).

``people.email_hash`` is nullable and filled by the next resolve-and-classify run (it
needs the configured salt, which a migration does not have). ``suppression_list`` is new.
The views' SQL comes from the frozen snapshot ``leadflow.models.bi.views_0006``; its fingerprint is
checked here, so an edit to a released view cannot silently change what this revision
creates.

The views are created after the column they read and dropped first on downgrade. (SQLite:
a later batch migration that rebuilds a table a view reads must drop the views first and
create them again after, with ``leadflow.models.bi.views.drop_statements``/``create_statements``.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadflow.models.bi.views import create_statements, drop_statements, fingerprint
from leadflow.models.bi.views_0006 import VIEWS_0006

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS_FINGERPRINT = "d25b5705b765fe05e35dc42e8274cff6c88b4e6c257b9c7c5e81fd821336ba55"


def _check_snapshot() -> None:
    found = fingerprint(VIEWS_0006)
    if found != VIEWS_FINGERPRINT:
        raise RuntimeError(
            f"leadflow.models.bi.views_0006 changed after release (fingerprint {found}): put view changes "
            "in a new snapshot and migration instead"
        )


def upgrade() -> None:
    """Upgrade schema."""
    _check_snapshot()
    op.add_column(
        "people",
        sa.Column(
            "email_hash",
            sa.String(length=64),
            nullable=True,
            comment="Salted SHA-256 of email_match_key (privacy.hash_salt): what BI views show instead of the address; null without an email or a configured salt.",
        ),
    )
    op.create_table(
        "suppression_list",
        sa.Column(
            "key_hash",
            sa.String(length=64),
            nullable=False,
            comment="Salted SHA-256 of kind:value (an email match key, an E.164 phone, or source:lead id): never the value itself.",
        ),
        sa.Column(
            "kind", sa.String(), nullable=False, comment="What was hashed: email, phone or lead."
        ),
        sa.Column(
            "salt_id",
            sa.String(length=16),
            nullable=False,
            comment="Fingerprint of the salt that made key_hash, so a changed privacy.hash_salt is noticed instead of silently letting erased people back in.",
        ),
        sa.Column(
            "request_id",
            sa.String(),
            nullable=False,
            comment="Id of the forget request that added the row.",
        ),
        sa.Column(
            "suppressed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the person was erased (UTC).",
        ),
        sa.CheckConstraint(
            "kind IN ('email', 'phone', 'lead')", name=op.f("ck_suppression_list_kind")
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_suppression_list")),
        comment="One row per hashed identifier of an erased person (key_hash): syncs skip leads, events and touches that match one.",
    )
    for statement in create_statements(VIEWS_0006, op.get_context().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    """Downgrade schema."""
    for statement in drop_statements(VIEWS_0006):
        op.execute(statement)
    op.drop_table("suppression_list")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("email_hash")
