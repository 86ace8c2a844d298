"""Initial schema: leads, people, sync_state, sync_runs, quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "people",
        sa.Column(
            "person_id", sa.String(), nullable=False, comment="Stable id of the resolved person."
        ),
        sa.Column(
            "email_match_key",
            sa.String(),
            nullable=True,
            comment="Normalized email the person was matched on.",
        ),
        sa.Column("phone", sa.String(), nullable=True, comment="Phone number in E.164 format."),
        sa.Column(
            "first_name",
            sa.String(),
            nullable=True,
            comment="First name from the person's most recent lead.",
        ),
        sa.Column(
            "last_name",
            sa.String(),
            nullable=True,
            comment="Last name from the person's most recent lead.",
        ),
        sa.Column(
            "company",
            sa.String(),
            nullable=True,
            comment="Company from the person's most recent lead.",
        ),
        sa.Column(
            "stage",
            sa.String(),
            nullable=True,
            comment="Furthest canonical stage (cold, warm, qualified) among the person's leads.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first resolved this person (UTC).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow last changed this person (UTC).",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_people")),
        comment="One row per person, resolved across platforms by normalized email or phone.",
    )
    op.create_index(op.f("ix_people_email_match_key"), "people", ["email_match_key"], unique=False)
    op.create_index(op.f("ix_people_phone"), "people", ["phone"], unique=False)
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False, comment="Surrogate key."),
        sa.Column("source", sa.String(), nullable=False, comment="Platform the record came from."),
        sa.Column(
            "account_id",
            sa.String(),
            nullable=False,
            comment="Platform account synced when the record was rejected.",
        ),
        sa.Column(
            "record_key",
            sa.String(),
            nullable=False,
            comment="The record's platform id, or 'sha256:' + hash of its JSON when it has none.",
        ),
        sa.Column("field", sa.String(), nullable=False, comment="Field that failed validation."),
        sa.Column("reason", sa.Text(), nullable=False, comment="Why the record was rejected."),
        sa.Column(
            "raw",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="The record as received (JSON).",
        ),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the record was first rejected (UTC).",
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the record was last rejected (UTC).",
        ),
        sa.Column(
            "times_seen",
            sa.Integer(),
            server_default="1",
            nullable=False,
            comment="How many times the record was rejected.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint(
            "source",
            "account_id",
            "record_key",
            name=op.f("uq_quarantine_source_account_id_record_key"),
        ),
        comment="One row per rejected record (source, account, record_key); cleared when it loads.",
    )
    op.create_table(
        "sync_runs",
        sa.Column("run_id", sa.String(), nullable=False, comment="leadflow's id for the sync run."),
        sa.Column("source", sa.String(), nullable=False, comment="Platform synced."),
        sa.Column("account_id", sa.String(), nullable=False, comment="Platform account synced."),
        sa.Column(
            "flow_run_id",
            sa.String(),
            nullable=True,
            comment="Prefect flow run id, when run by Prefect.",
        ),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the sync of this source and account started (UTC).",
        ),
        sa.Column(
            "finished_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When it finished (UTC).",
        ),
        sa.Column("status", sa.String(), nullable=False, comment="succeeded or failed."),
        sa.Column(
            "pages",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Pages fetched from the platform.",
        ),
        sa.Column(
            "records",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Records received from the platform.",
        ),
        sa.Column(
            "inserted", sa.Integer(), server_default="0", nullable=False, comment="Leads inserted."
        ),
        sa.Column(
            "updated",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Leads whose content changed.",
        ),
        sa.Column(
            "unchanged",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Leads received again without change (not written).",
        ),
        sa.Column(
            "quarantined",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="Records rejected into the quarantine table.",
        ),
        sa.Column(
            "watermark",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Watermark saved by the run (UTC).",
        ),
        sa.Column("seconds", sa.Float(), nullable=True, comment="Wall-clock duration in seconds."),
        sa.Column("error", sa.Text(), nullable=True, comment="Error message of a failed run."),
        sa.CheckConstraint("status IN ('succeeded', 'failed')", name=op.f("ck_sync_runs_status")),
        sa.PrimaryKeyConstraint("run_id", "source", "account_id", name=op.f("pk_sync_runs")),
        comment="One row per (run, source, account): what one sync did.",
    )
    op.create_table(
        "sync_state",
        sa.Column("source", sa.String(), nullable=False, comment="Platform being synced."),
        sa.Column(
            "account_id", sa.String(), nullable=False, comment="Platform account being synced."
        ),
        sa.Column(
            "watermark",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Records updated before this instant (UTC) are loaded; never moves back.",
        ),
        sa.Column(
            "cursor",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="Resume token of an unfinished sync (JSON), else null.",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When this state was last saved (UTC).",
        ),
        sa.PrimaryKeyConstraint("source", "account_id", name=op.f("pk_sync_state")),
        comment="One row per (source, account): where the next incremental sync starts.",
    )
    op.create_table(
        "leads",
        sa.Column(
            "source",
            sa.String(),
            nullable=False,
            comment="Platform the lead came from (e.g. meta, hubspot).",
        ),
        sa.Column(
            "source_lead_id", sa.String(), nullable=False, comment="The lead's id on its platform."
        ),
        sa.Column(
            "account_id",
            sa.String(),
            nullable=False,
            comment="Platform account (ad account, portal) the lead belongs to.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the lead was created on the platform (UTC).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the platform last changed the lead (UTC).",
        ),
        sa.Column(
            "email",
            sa.String(),
            nullable=True,
            comment="Deliverable email address, trimmed and lowercased.",
        ),
        sa.Column(
            "email_match_key",
            sa.String(),
            nullable=True,
            comment="Normalized email used to match leads to people.",
        ),
        sa.Column("phone", sa.String(), nullable=True, comment="Phone number in E.164 format."),
        sa.Column("first_name", sa.String(), nullable=True, comment="First name as submitted."),
        sa.Column("last_name", sa.String(), nullable=True, comment="Last name as submitted."),
        sa.Column("company", sa.String(), nullable=True, comment="Company name as submitted."),
        sa.Column("job_title", sa.String(), nullable=True, comment="Job title as submitted."),
        sa.Column(
            "country",
            sa.String(),
            nullable=True,
            comment="Country as submitted or inferred by the platform.",
        ),
        sa.Column("city", sa.String(), nullable=True, comment="City as submitted."),
        sa.Column(
            "campaign_id",
            sa.String(),
            nullable=True,
            comment="Platform id of the campaign that produced the lead.",
        ),
        sa.Column(
            "campaign_name",
            sa.String(),
            nullable=True,
            comment="Campaign name at the time of the sync.",
        ),
        sa.Column(
            "adset_id", sa.String(), nullable=True, comment="Platform id of the ad set or ad group."
        ),
        sa.Column("ad_id", sa.String(), nullable=True, comment="Platform id of the ad."),
        sa.Column("form_id", sa.String(), nullable=True, comment="Platform id of the lead form."),
        sa.Column(
            "source_stage",
            sa.String(),
            nullable=True,
            comment="The lead's lifecycle stage or status on its platform.",
        ),
        sa.Column(
            "owner_id",
            sa.String(),
            nullable=True,
            comment="Platform id of the sales rep who owns the lead.",
        ),
        sa.Column(
            "is_test", sa.Boolean(), nullable=False, comment="True for test leads (kept, flagged)."
        ),
        sa.Column(
            "is_organic",
            sa.Boolean(),
            nullable=True,
            comment="True if not from paid ads; null if unknown.",
        ),
        sa.Column(
            "consent",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="Consent answers as captured (JSON).",
        ),
        sa.Column(
            "custom_fields",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="Answers and properties without a column (JSON).",
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
            comment="sha256 of the lead's canonical content; changes only when the lead does.",
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
            comment="When leadflow first loaded the lead (UTC).",
        ),
        sa.Column(
            "last_changed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow last loaded a real change to the lead (UTC).",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_leads_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("source", "source_lead_id", name=op.f("pk_leads")),
        comment="One row per lead per platform (source, source_lead_id), latest version.",
    )
    op.create_index(op.f("ix_leads_email_match_key"), "leads", ["email_match_key"], unique=False)
    op.create_index(op.f("ix_leads_person_id"), "leads", ["person_id"], unique=False)
    op.create_index(op.f("ix_leads_phone"), "leads", ["phone"], unique=False)
    op.create_index(
        op.f("ix_leads_source_campaign_id"), "leads", ["source", "campaign_id"], unique=False
    )
    op.create_index(op.f("ix_leads_updated_at"), "leads", ["updated_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_leads_updated_at"), table_name="leads")
    op.drop_index(op.f("ix_leads_source_campaign_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_phone"), table_name="leads")
    op.drop_index(op.f("ix_leads_person_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_email_match_key"), table_name="leads")
    op.drop_table("leads")
    op.drop_table("sync_state")
    op.drop_table("sync_runs")
    op.drop_table("quarantine")
    op.drop_index(op.f("ix_people_phone"), table_name="people")
    op.drop_index(op.f("ix_people_email_match_key"), table_name="people")
    op.drop_table("people")
