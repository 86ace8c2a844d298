"""People stages: classification columns on people, person_merges, stage_transitions.

``people`` gains the rest of the resolved profile (email, job_title, country, city) and the
classification (lifecycle, raw_stage, fit, engagement, reasons, qualified_at, lifecycle_at,
classified_at), all nullable: nothing to backfill, the next resolve-and-classify run fills
them. ``person_merges`` (grain: from_person, into_person) records identity merges and
``stage_transitions`` (one row per person, lifecycle stage and time) the stage history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STAGE_COMMENT = "Furthest canonical stage (cold, warm, qualified) among the person's leads."
NEW_STAGE_COMMENT = "Canonical stage (cold, warm, qualified) from classification; null until then."
OLD_UPDATED_COMMENT = "When leadflow last changed this person (UTC)."
NEW_UPDATED_COMMENT = "When leadflow last changed this person's profile (UTC)."

PEOPLE_COLUMNS = (
    ("email", sa.String(), "Deliverable email from the person's most recently updated lead having one."),
    ("job_title", sa.String(), "Job title from the person's most recent lead having one."),
    ("country", sa.String(), "Country from the person's most recent lead having a country or city."),
    ("city", sa.String(), "City from the same lead as country."),
    ("lifecycle", sa.String(), "Lifecycle stage: lead, engaged, mql, sql or nurture; null until classified."),
    ("raw_stage", sa.String(), "The source system's own stage (source:value) of the latest staged lead."),
    ("fit", sa.Integer(), "Fit score (ideal customer profile)."),
    ("engagement", sa.Float(), "Engagement score with decay, as of classified_at."),
    ("reasons", sa.JSON(none_as_null=True), "Reason codes of the classification, in order (JSON list of strings)."),
    ("qualified_at", sa.DateTime(timezone=True), "When the person first became qualified (MQL): the SLA clock starts here (UTC)."),
    ("lifecycle_at", sa.DateTime(timezone=True), "When the current lifecycle stage was entered, when known exactly (UTC)."),
    ("classified_at", sa.DateTime(timezone=True), "When leadflow last classified this person (UTC)."),
)  # fmt: skip


def _comment(column: str, comment: str, existing: str, nullable: bool) -> None:
    """Change a column comment (PostgreSQL; SQLite has no comments to change)."""
    if op.get_context().dialect.name == "sqlite":
        return
    op.alter_column(
        "people",
        column,
        existing_type=sa.DateTime(timezone=True) if column == "updated_at" else sa.String(),
        existing_nullable=nullable,
        comment=comment,
        existing_comment=existing,
    )


def upgrade() -> None:
    """Upgrade schema."""
    for name, type_, comment in PEOPLE_COLUMNS:
        op.add_column("people", sa.Column(name, type_, nullable=True, comment=comment))
    _comment("stage", NEW_STAGE_COMMENT, OLD_STAGE_COMMENT, True)
    _comment("updated_at", NEW_UPDATED_COMMENT, OLD_UPDATED_COMMENT, False)
    op.create_index(op.f("ix_people_lifecycle"), "people", ["lifecycle"], unique=False)
    op.create_table(
        "person_merges",
        sa.Column(
            "from_person",
            sa.String(),
            nullable=False,
            comment="The person id that was merged away (no longer in people).",
        ),
        sa.Column(
            "into_person",
            sa.String(),
            nullable=False,
            comment=(
                "The person it was merged into (people.person_id when merged; may merge again "
                "later)."
            ),
        ),
        sa.Column(
            "reason",
            sa.String(),
            nullable=False,
            comment="The kind of link that joined them: email, phone or hubspot_merge.",
        ),
        sa.Column(
            "bridging_key",
            sa.String(),
            nullable=False,
            comment=(
                "The email match key, E.164 phone or hubspot:<id> that joined them (personal data)."
            ),
        ),
        sa.Column(
            "merged_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow merged them (UTC).",
        ),
        sa.Column(
            "run_id",
            sa.String(),
            nullable=False,
            comment="leadflow's id of the run that merged them.",
        ),
        sa.PrimaryKeyConstraint("from_person", "into_person", name=op.f("pk_person_merges")),
        comment="One row per person merged into another (from_person, into_person).",
    )
    op.create_index(
        op.f("ix_person_merges_into_person"), "person_merges", ["into_person"], unique=False
    )
    op.create_table(
        "stage_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False, comment="Surrogate key."),
        sa.Column(
            "person_id",
            sa.String(),
            nullable=False,
            comment="The person (people.person_id) whose stage changed.",
        ),
        sa.Column(
            "from_stage",
            sa.String(),
            nullable=True,
            comment="Canonical stage before the change; null for the first classification.",
        ),
        sa.Column(
            "to_stage",
            sa.String(),
            nullable=False,
            comment="Canonical stage after the change (cold, warm, qualified).",
        ),
        sa.Column(
            "from_lifecycle",
            sa.String(),
            nullable=True,
            comment="Lifecycle stage before the change; null for the first one.",
        ),
        sa.Column(
            "to_lifecycle",
            sa.String(),
            nullable=False,
            comment="Lifecycle stage after the change (lead, engaged, mql, sql, nurture).",
        ),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the change happened if known exactly, else when it was observed (UTC).",
        ),
        sa.Column(
            "reasons",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="Reason codes of the classification that made the change (JSON list).",
        ),
        sa.Column(
            "run_id",
            sa.String(),
            nullable=False,
            comment="leadflow's id of the run that recorded the change.",
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow recorded the change (UTC).",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_stage_transitions_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_transitions")),
        sa.UniqueConstraint(
            "person_id",
            "to_lifecycle",
            "at",
            name=op.f("uq_stage_transitions_person_id_to_lifecycle_at"),
        ),
        comment="One row per stage change of a person (person_id, to_lifecycle, at).",
    )
    op.create_index(
        op.f("ix_stage_transitions_person_id"), "stage_transitions", ["person_id"], unique=False
    )
    op.create_index(
        op.f("ix_stage_transitions_run_id"), "stage_transitions", ["run_id"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_stage_transitions_run_id"), table_name="stage_transitions")
    op.drop_index(op.f("ix_stage_transitions_person_id"), table_name="stage_transitions")
    op.drop_table("stage_transitions")
    op.drop_index(op.f("ix_person_merges_into_person"), table_name="person_merges")
    op.drop_table("person_merges")
    op.drop_index(op.f("ix_people_lifecycle"), table_name="people")
    _comment("updated_at", OLD_UPDATED_COMMENT, NEW_UPDATED_COMMENT, False)
    _comment("stage", OLD_STAGE_COMMENT, NEW_STAGE_COMMENT, True)
    with op.batch_alter_table("people") as batch:
        for name, _, _ in reversed(PEOPLE_COLUMNS):
            batch.drop_column(name)
