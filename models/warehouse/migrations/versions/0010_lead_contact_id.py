"""leads.contact_id: the platform's own stable id of the person behind a lead.

A Mailchimp member's ``id`` is the MD5 of its lowercased email, so a subscriber who changes
address becomes a new member id (a new lead) while its ``contact_id`` stays. Identity now
joins leads of one source and one account (a Mailchimp audience) that share a contact_id.
Existing Mailchimp leads kept it in ``custom_fields``; it is copied into the column here, so
the next run's identity (which resolves every lead each run) joins them, records the merges
with the reason ``contact_id`` and marks the merged people for classification. Nothing else
needs clearing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACT_ID_COMMENT = (
    "The platform's own stable id of the person behind the lead, when it has one beyond the "
    "lead id: Mailchimp's contact_id (kept when the subscriber changes address, unlike the "
    "member id). Leads of one source and account sharing it are one person; null elsewhere."
)
OLD_REASON_COMMENT = (
    "The kind of link that joined them: email, phone or hubspot_merge; reanchored when "
    "the person's first lead left (erased or now a test lead) and the rest took the id "
    "of their next earliest lead."
)
REASON_COMMENT = (
    "The kind of link that joined them: email, phone, hubspot_merge or contact_id; "
    "reanchored when the person's first lead left (erased or now a test lead) and the rest "
    "took the id of their next earliest lead."
)
OLD_BRIDGING_COMMENT = (
    "The email match key, E.164 phone or hubspot:<id> that joined them (personal data)."
)
BRIDGING_COMMENT = (
    "The email match key, E.164 phone, hubspot:<id> or <source>:<account>:<contact_id> that "
    "joined them (personal data)."
)


def _comments(reason: str, old_reason: str, bridging: str, old_bridging: str) -> None:
    if op.get_bind().dialect.name != "postgresql":  # SQLite keeps no comments
        return
    for column, comment, old in (
        ("reason", reason, old_reason),
        ("bridging_key", bridging, old_bridging),
    ):
        op.alter_column(
            "person_merges",
            column,
            existing_type=sa.String(),
            existing_nullable=False,
            comment=comment,
            existing_comment=old,
        )


def upgrade() -> None:
    """Upgrade schema."""
    # Not batch mode: a rebuild of leads on SQLite would break the BI views that read it.
    op.add_column(
        "leads", sa.Column("contact_id", sa.String(), nullable=True, comment=CONTACT_ID_COMMENT)
    )
    _comments(REASON_COMMENT, OLD_REASON_COMMENT, BRIDGING_COMMENT, OLD_BRIDGING_COMMENT)
    # Portable: JSON_EXTRACT on SQLite, ->> on PostgreSQL.
    leads = sa.table(
        "leads",
        sa.column("source", sa.String()),
        sa.column("contact_id", sa.String()),
        sa.column("custom_fields", sa.JSON()),
    )
    found = leads.c.custom_fields["contact_id"].as_string()
    op.execute(
        leads.update()
        .where(leads.c.source == "mailchimp", found.is_not(None), found != "")
        .values(contact_id=found)
    )


def downgrade() -> None:
    """Downgrade schema."""
    _comments(OLD_REASON_COMMENT, REASON_COMMENT, OLD_BRIDGING_COMMENT, BRIDGING_COMMENT)
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): no rebuild, so the BI views stay valid.
    op.drop_column("leads", "contact_id")
