"""SLA: sla_evaluations (rule, person, qualification) and sla_results (per-period roll-ups).

Both tables are new and filled by the next SLA check; nothing to backfill.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sla_results",
        sa.Column("run_id", sa.String(), nullable=False, comment="Run that computed the roll-up."),
        sa.Column(
            "rule",
            sa.String(),
            nullable=False,
            comment="SLA rule (see sla_evaluations.rule, plus qualified_volume).",
        ),
        sa.Column(
            "period",
            sa.String(),
            nullable=False,
            comment="Period: YYYY-MM (month) or YYYY-Www (ISO week).",
        ),
        sa.Column(
            "group_key",
            sa.String(),
            nullable=False,
            comment="overall, team:<team> or rep:<source>:<rep_id>: what the row rolls up.",
        ),
        sa.Column("period_kind", sa.String(), nullable=False, comment="month or week."),
        sa.Column("scope", sa.String(), nullable=False, comment="overall, team or rep."),
        sa.Column(
            "team",
            sa.String(),
            nullable=True,
            comment="Team rolled up (scope team or rep), else null.",
        ),
        sa.Column(
            "rep_id", sa.String(), nullable=True, comment="Rep rolled up (scope rep), else null."
        ),
        sa.Column(
            "numerator",
            sa.Integer(),
            nullable=False,
            comment="Met evaluations (or qualified people, for qualified_volume).",
        ),
        sa.Column(
            "denominator",
            sa.Integer(),
            nullable=False,
            comment="Met plus breached evaluations (or the volume target).",
        ),
        sa.Column("pending", sa.Integer(), nullable=False, comment="Evaluations still pending."),
        sa.Column(
            "percentage",
            sa.Float(),
            nullable=True,
            comment="100 * numerator / denominator; null when the denominator is 0.",
        ),
        sa.Column(
            "target",
            sa.Float(),
            nullable=False,
            comment="Target percentage (or the volume target, for qualified_volume).",
        ),
        sa.Column(
            "status",
            sa.String(),
            nullable=False,
            comment="passed, failed, or pending (nothing decided yet).",
        ),
        sa.Column("severity", sa.String(), nullable=False, comment="critical or warning."),
        sa.Column(
            "evaluated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the roll-up was computed (UTC).",
        ),
        sa.CheckConstraint(
            "status IN ('passed', 'failed', 'pending')", name=op.f("ck_sla_results_status")
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "rule", "period", "group_key", name=op.f("pk_sla_results")
        ),
        comment="One row per run, rule, period and group (overall, team, rep): SLA compliance.",
    )
    op.create_index(
        op.f("ix_sla_results_rule_period"), "sla_results", ["rule", "period"], unique=False
    )
    op.create_table(
        "sla_evaluations",
        sa.Column(
            "rule",
            sa.String(),
            nullable=False,
            comment="SLA rule: first_touch, touch_attempts, accept_reject, icp_fit or sales_acceptance.",
        ),
        sa.Column(
            "person_id",
            sa.String(),
            nullable=False,
            comment="The qualified person (people.person_id).",
        ),
        sa.Column(
            "clock_start",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the SLA clock started: the person's qualification (MQL) time (UTC).",
        ),
        sa.Column(
            "period_month",
            sa.String(),
            nullable=False,
            comment="Month of clock_start in the team's time zone (YYYY-MM).",
        ),
        sa.Column(
            "period_week",
            sa.String(),
            nullable=False,
            comment="ISO week of clock_start in the team's time zone (YYYY-Www).",
        ),
        sa.Column(
            "due_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Deadline: clock_start plus the allowed business time (UTC).",
        ),
        sa.Column(
            "event_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="What the rule waits for, when it happened (UTC): the first outbound touch (first_touch), the touch that completed the attempts or connected (touch_attempts), sales' accept or reject decision (accept_reject, sales_acceptance); null if not yet.",
        ),
        sa.Column(
            "business_minutes",
            sa.Float(),
            nullable=True,
            comment="Business minutes from clock_start to event_at (or to evaluated_at while none).",
        ),
        sa.Column(
            "wall_minutes",
            sa.Float(),
            nullable=True,
            comment="Wall-clock minutes from clock_start to event_at (or to evaluated_at while none).",
        ),
        sa.Column(
            "minutes_late",
            sa.Float(),
            nullable=True,
            comment="Business minutes past due_at for a breach; null otherwise.",
        ),
        sa.Column(
            "status",
            sa.String(),
            nullable=False,
            comment="met, breached or pending (deadline not yet passed).",
        ),
        sa.Column(
            "severity",
            sa.String(),
            nullable=False,
            comment="critical (fails the SLA check) or warning (reported only).",
        ),
        sa.Column(
            "rep_id",
            sa.String(),
            nullable=True,
            comment="Sales rep responsible (sales_reps.rep_id): the person's owner, if any.",
        ),
        sa.Column(
            "rep_source",
            sa.String(),
            nullable=True,
            comment="Platform of rep_id (sales_reps.source).",
        ),
        sa.Column(
            "team",
            sa.String(),
            nullable=False,
            comment="Team of the rep (sales_reps.team), or 'unassigned'.",
        ),
        sa.Column(
            "detail",
            sa.JSON(none_as_null=True),
            nullable=True,
            comment="Rule-specific facts (attempts counted, fit score, decision...) (JSON).",
        ),
        sa.Column(
            "breach_recorded_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When leadflow first recorded this as breached; kept if it later turns met (UTC).",
        ),
        sa.Column(
            "breach_run_id",
            sa.String(),
            nullable=True,
            comment="Run that first recorded the breach; kept like breach_recorded_at.",
        ),
        sa.Column(
            "revised_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When a recorded breach was revised to met by late-arriving data (UTC); else null.",
        ),
        sa.Column(
            "first_evaluated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first evaluated this row (UTC).",
        ),
        sa.Column(
            "evaluated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow last evaluated this row (UTC).",
        ),
        sa.Column(
            "run_id", sa.String(), nullable=False, comment="Run that last evaluated this row."
        ),
        sa.CheckConstraint(
            "severity IN ('critical', 'warning')", name=op.f("ck_sla_evaluations_severity")
        ),
        sa.CheckConstraint(
            "status IN ('met', 'breached', 'pending')", name=op.f("ck_sla_evaluations_status")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.person_id"],
            name=op.f("fk_sla_evaluations_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "rule", "person_id", "clock_start", name=op.f("pk_sla_evaluations")
        ),
        comment="One row per SLA rule and qualification of a person (rule, person_id, clock_start); recomputed every run, breach history kept.",
    )
    op.create_index(
        op.f("ix_sla_evaluations_period_month"), "sla_evaluations", ["period_month"], unique=False
    )
    op.create_index(
        op.f("ix_sla_evaluations_period_week"), "sla_evaluations", ["period_week"], unique=False
    )
    op.create_index(
        op.f("ix_sla_evaluations_person_id"), "sla_evaluations", ["person_id"], unique=False
    )
    op.create_index(
        op.f("ix_sla_evaluations_rule_status"), "sla_evaluations", ["rule", "status"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_sla_evaluations_rule_status"), table_name="sla_evaluations")
    op.drop_index(op.f("ix_sla_evaluations_person_id"), table_name="sla_evaluations")
    op.drop_index(op.f("ix_sla_evaluations_period_week"), table_name="sla_evaluations")
    op.drop_index(op.f("ix_sla_evaluations_period_month"), table_name="sla_evaluations")
    op.drop_table("sla_evaluations")
    op.drop_index(op.f("ix_sla_results_rule_period"), table_name="sla_results")
    op.drop_table("sla_results")
