"""crm_status_changes (the CRMs' sales status history, loaded) and sales_decisions (the
decisions classification derives from it, per person).

New tables only. The new default rules (``sales.decision_statuses``) change the rules'
fingerprint, so the first run after upgrading classifies everyone and fills
sales_decisions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "crm_status_changes",
        sa.Column(
            "source",
            sa.String(),
            nullable=False,
            comment="CRM the change was recorded in (salesforce, hubspot); matches leads.source.",
        ),
        sa.Column(
            "change_id",
            sa.String(),
            nullable=False,
            comment="The change's id on its CRM (a LeadHistory id; for HubSpot <contact>:<property>:<time>).",
        ),
        sa.Column(
            "lead_id",
            sa.String(),
            nullable=False,
            comment="The changed record's leads.source_lead_id on the same CRM.",
        ),
        sa.Column(
            "field",
            sa.String(),
            nullable=False,
            comment="The status field that changed: Status or IsConverted (Salesforce), hs_lead_status or lifecyclestage (HubSpot).",
        ),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the CRM recorded the change (UTC).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the CRM last changed the history row (UTC); its watermark.",
        ),
        sa.Column(
            "new_value",
            sa.String(),
            nullable=True,
            comment="The field's value after the change, as the CRM stores it.",
        ),
        sa.Column(
            "old_value",
            sa.String(),
            nullable=True,
            comment="The field's value before the change, when the CRM says.",
        ),
        sa.Column(
            "changed_by",
            sa.String(),
            nullable=True,
            comment="The CRM user who made the change (sales_reps.rep_id), when known.",
        ),
        sa.Column(
            "reason",
            sa.String(),
            nullable=True,
            comment="The reason the CRM recorded with the change, when it has one.",
        ),
        sa.Column(
            "raw",
            sa.JSON(none_as_null=True),
            nullable=False,
            comment="The CRM's payload as received (JSON).",
        ),
        sa.Column(
            "row_hash",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of the change's canonical content.",
        ),
        sa.Column(
            "first_loaded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first loaded the change (UTC).",
        ),
        sa.Column(
            "last_changed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow last loaded a real change to the row (UTC).",
        ),
        sa.PrimaryKeyConstraint("source", "change_id", name=op.f("pk_crm_status_changes")),
        comment="One row per change of a sales status field on a CRM lead or contact, as the CRM recorded it: the facts sales decisions (sales_decisions) are derived from.",
    )
    with op.batch_alter_table("crm_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_status_changes_source_lead_id_occurred_at"),
            ["source", "lead_id", "occurred_at"],
            unique=False,
        )

    op.create_table(
        "sales_decisions",
        sa.Column(
            "person_id",
            sa.String(),
            nullable=False,
            comment="The person decided on (people.person_id).",
        ),
        sa.Column(
            "decided_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the decision was made: the CRM's status change time, or for a lead with no status history the lead's last update (UTC).",
        ),
        sa.Column(
            "source",
            sa.String(),
            nullable=False,
            comment="The CRM the decision was made in (salesforce, hubspot).",
        ),
        sa.Column(
            "lead_id",
            sa.String(),
            nullable=False,
            comment="The decided lead's leads.source_lead_id in that CRM.",
        ),
        sa.Column(
            "field",
            sa.String(),
            nullable=False,
            comment="The status field read (Status, IsConverted, hs_lead_status, lifecyclestage).",
        ),
        sa.Column(
            "decision",
            sa.String(),
            nullable=False,
            comment="accepted, rejected, converted or recycled.",
        ),
        sa.Column(
            "raw_status",
            sa.String(),
            nullable=False,
            comment="The field's value as the CRM stores it.",
        ),
        sa.Column(
            "rep_id",
            sa.String(),
            nullable=True,
            comment="The CRM user who made the change, else the lead's owner (sales_reps.rep_id).",
        ),
        sa.Column(
            "reason",
            sa.String(),
            nullable=True,
            comment="The reason the CRM recorded with the change, when it has one.",
        ),
        sa.Column(
            "basis",
            sa.String(),
            nullable=False,
            comment="history (a recorded status change) or current (the lead's current value, for a lead whose CRM keeps no history of that field).",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_sales_decisions_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "person_id", "decided_at", "source", "lead_id", "field", name=op.f("pk_sales_decisions")
        ),
        comment="One row per sales decision on a person, derived at classification from crm_status_changes (or the leads' current status fields) and the rules' sales.decision_statuses; what the accept/reject SLA is measured against.",
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("sales_decisions")
    with op.batch_alter_table("crm_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_status_changes_source_lead_id_occurred_at"))

    op.drop_table("crm_status_changes")
