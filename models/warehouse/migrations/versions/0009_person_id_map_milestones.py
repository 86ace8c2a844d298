"""person_id_map and person_milestones; everyone is resolved and classified again.

Identity is now a function of the leads alone (a person's id is the hash of its earliest
created lead), so the first run after this revision may rename people: ``person_id_map``
keeps every retired id pointing at the person holding its leads now, so BI joins from old
ids still work. ``person_milestones`` holds each person's qualifications and sales decisions
derived from their facts, which the SLA now evaluates (``stage_transitions`` stays the
observed history). The classification state is cleared so the next run classifies everyone
and fills the milestones.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_REASON_COMMENT = "The kind of link that joined them: email, phone or hubspot_merge."
REASON_COMMENT = (
    "The kind of link that joined them: email, phone or hubspot_merge; reanchored when "
    "the person's first lead left (erased or now a test lead) and the rest took the id "
    "of their next earliest lead."
)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "person_id_map",
        sa.Column(
            "old_person_id",
            sa.String(),
            nullable=False,
            comment="A person id leadflow used before and no longer does (merged away or renamed).",
        ),
        sa.Column(
            "person_id",
            sa.String(),
            nullable=False,
            comment="The person (people.person_id) holding most of its leads now: join old "
            "ids here.",
        ),
        sa.Column(
            "mapped_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the old id was last pointed here (UTC).",
        ),
        sa.Column(
            "run_id",
            sa.String(),
            nullable=False,
            comment="leadflow's id of the run that last pointed it here.",
        ),
        sa.PrimaryKeyConstraint("old_person_id", name=op.f("pk_person_id_map")),
        comment="One row per retired person id: the id that holds its leads now (chains resolved).",
    )
    op.create_index(
        op.f("ix_person_id_map_person_id"), "person_id_map", ["person_id"], unique=False
    )
    op.create_table(
        "person_milestones",
        sa.Column(
            "person_id", sa.String(), nullable=False, comment="The person (people.person_id)."
        ),
        sa.Column(
            "kind",
            sa.String(),
            nullable=False,
            comment="mql (qualified: an SLA clock starts), sql (sales accepted) or rejected "
            "(sales rejected: back to nurture).",
        ),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When it happened, from the person's facts (UTC).",
        ),
        sa.Column(
            "reason",
            sa.String(),
            nullable=False,
            comment="The signal or decision behind it (a reason code).",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_person_milestones_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "kind", "at", name=op.f("pk_person_milestones")),
        comment="One row per qualification and sales decision of a person, derived from the "
        "facts of their leads at each classification (what the SLA evaluates).",
    )
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps no comments
        op.alter_column(
            "person_merges",
            "reason",
            existing_type=sa.String(),
            existing_nullable=False,
            comment=REASON_COMMENT,
            existing_comment=OLD_REASON_COMMENT,
        )
    op.execute("DELETE FROM step_state WHERE step IN ('classification', 'sla')")


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "person_merges",
            "reason",
            existing_type=sa.String(),
            existing_nullable=False,
            comment=OLD_REASON_COMMENT,
            existing_comment=REASON_COMMENT,
        )
    op.drop_table("person_milestones")
    op.drop_index(op.f("ix_person_id_map_person_id"), table_name="person_id_map")
    op.drop_table("person_id_map")
