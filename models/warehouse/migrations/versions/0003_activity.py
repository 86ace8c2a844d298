"""Activity: engagement events, sales touches and sales reps.

Adds ``engagement_events`` (grain: source, event_id), ``sales_touches`` (grain: source,
touch_id, lead_id) and ``sales_reps`` (grain: source, rep_id). New tables only: nothing to
backfill, and no existing table changes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-13
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sales_reps",
        sa.Column(
            "source",
            sa.String(),
            nullable=False,
            comment="Platform the rep is a user of (e.g. hubspot).",
        ),
        sa.Column(
            "rep_id",
            sa.String(),
            nullable=False,
            comment="The rep's id on its platform (the owner id on leads and touches).",
        ),
        sa.Column("email", sa.String(), nullable=True, comment="The rep's email address."),
        sa.Column("first_name", sa.String(), nullable=True, comment="The rep's first name."),
        sa.Column("last_name", sa.String(), nullable=True, comment="The rep's last name."),
        sa.Column("team", sa.String(), nullable=True, comment="Team the rep reports in, if any."),
        sa.Column(
            "archived",
            sa.Boolean(),
            nullable=False,
            comment="True once the rep was archived (deactivated) on the platform.",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the platform last changed the rep (UTC).",
        ),
        sa.Column(
            "raw",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="The platform's payload as received (JSON).",
        ),
        sa.Column(
            "row_hash",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of the rep's canonical content; changes only when the rep does.",
        ),
        sa.Column(
            "first_loaded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first loaded the rep (UTC).",
        ),
        sa.Column(
            "last_changed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow last loaded a real change to the rep (UTC).",
        ),
        sa.PrimaryKeyConstraint("source", "rep_id", name=op.f("pk_sales_reps")),
        comment="One row per sales rep per platform (source, rep_id), latest version.",
    )
    op.create_table(
        "engagement_events",
        sa.Column(
            "source",
            sa.String(),
            nullable=False,
            comment="Platform the event came from (e.g. hubspot).",
        ),
        sa.Column(
            "event_id",
            sa.String(),
            nullable=False,
            comment="The event's id on its platform, or a hash of (campaign, person, type, time).",
        ),
        sa.Column(
            "account_id",
            sa.String(),
            nullable=False,
            comment="Platform account (portal) the event belongs to.",
        ),
        sa.Column(
            "event_type",
            sa.String(),
            nullable=False,
            comment="open, click, bounce, unsubscribe, reply, form_submission or webinar_attended.",
        ),
        sa.Column(
            "channel", sa.String(), nullable=False, comment="Channel of the engagement (email...)."
        ),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the person did it (UTC).",
        ),
        sa.Column(
            "email",
            sa.String(),
            nullable=True,
            comment="Email address the event was recorded for, trimmed and lowercased.",
        ),
        sa.Column(
            "email_match_key",
            sa.String(),
            nullable=True,
            comment="Normalized email used to match events to people.",
        ),
        sa.Column(
            "campaign_id",
            sa.String(),
            nullable=True,
            comment="Platform id of the marketing campaign or email, if any.",
        ),
        sa.Column(
            "detail",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="Event-specific details (clicked URL, bounce reason...) (JSON).",
        ),
        sa.Column(
            "raw",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="The platform's payload as received (JSON).",
        ),
        sa.Column(
            "row_hash",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of the event's canonical content; changes only when the event does.",
        ),
        sa.Column(
            "person_id",
            sa.String(),
            nullable=True,
            comment="The resolved person (people.person_id); null until identity resolution runs.",
        ),
        sa.Column(
            "first_loaded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first loaded the event (UTC).",
        ),
        sa.Column(
            "last_changed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow last loaded a real change to the event (UTC).",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_engagement_events_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("source", "event_id", name=op.f("pk_engagement_events")),
        comment="One row per engagement event per platform (source, event_id).",
    )
    op.create_index(
        op.f("ix_engagement_events_email_match_key"),
        "engagement_events",
        ["email_match_key"],
        unique=False,
    )
    op.create_index(
        op.f("ix_engagement_events_event_type_occurred_at"),
        "engagement_events",
        ["event_type", "occurred_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_engagement_events_person_id"), "engagement_events", ["person_id"], unique=False
    )
    op.create_table(
        "sales_touches",
        sa.Column(
            "source",
            sa.String(),
            nullable=False,
            comment="Platform the touch came from (e.g. hubspot); matches leads.source.",
        ),
        sa.Column(
            "touch_id", sa.String(), nullable=False, comment="The activity's id on its platform."
        ),
        sa.Column(
            "lead_id",
            sa.String(),
            nullable=False,
            comment="The touched lead's leads.source_lead_id on the same platform.",
        ),
        sa.Column("touch_type", sa.String(), nullable=False, comment="call, email or meeting."),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the call, email or meeting took place (UTC).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the platform last changed the activity (UTC).",
        ),
        sa.Column(
            "owner_id",
            sa.String(),
            nullable=True,
            comment="Platform id of the sales rep who owns the activity (sales_reps.rep_id).",
        ),
        sa.Column(
            "direction",
            sa.String(),
            nullable=True,
            comment="Direction as the platform reports it (e.g. OUTBOUND, INBOUND), if any.",
        ),
        sa.Column(
            "outcome",
            sa.String(),
            nullable=True,
            comment="Outcome as the platform reports it (call disposition...), if any.",
        ),
        sa.Column(
            "raw",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="The platform's payload as received (JSON).",
        ),
        sa.Column(
            "row_hash",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of the touch's canonical content; changes only when the touch does.",
        ),
        sa.Column(
            "person_id",
            sa.String(),
            nullable=True,
            comment="The resolved person (people.person_id); null until identity resolution runs.",
        ),
        sa.Column(
            "first_loaded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first loaded the touch (UTC).",
        ),
        sa.Column(
            "last_changed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow last loaded a real change to the touch (UTC).",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_sales_touches_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("source", "touch_id", "lead_id", name=op.f("pk_sales_touches")),
        comment="One row per sales activity per lead it is associated with (source, touch_id, lead_id); an activity on three leads is three rows.",
    )
    op.create_index(op.f("ix_sales_touches_owner_id"), "sales_touches", ["owner_id"], unique=False)
    op.create_index(
        op.f("ix_sales_touches_person_id"), "sales_touches", ["person_id"], unique=False
    )
    op.create_index(
        op.f("ix_sales_touches_source_lead_id_occurred_at"),
        "sales_touches",
        ["source", "lead_id", "occurred_at"],
        unique=False,
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_sales_touches_source_lead_id_occurred_at"), table_name="sales_touches")
    op.drop_index(op.f("ix_sales_touches_person_id"), table_name="sales_touches")
    op.drop_index(op.f("ix_sales_touches_owner_id"), table_name="sales_touches")
    op.drop_table("sales_touches")
    op.drop_index(op.f("ix_engagement_events_person_id"), table_name="engagement_events")
    op.drop_index(
        op.f("ix_engagement_events_event_type_occurred_at"), table_name="engagement_events"
    )
    op.drop_index(op.f("ix_engagement_events_email_match_key"), table_name="engagement_events")
    op.drop_table("engagement_events")
    op.drop_table("sales_reps")
