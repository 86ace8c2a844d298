"""The SLA tables: per-person evaluations and per-period roll-ups
(``leadflow.models.sla.evaluate``).

Defined on the one ``metadata`` (``schema``); ``tables`` imports every table module, so Alembic and
the drift test see them with the rest of the schema.
"""

from __future__ import annotations

import sqlalchemy as sa

from leadflow.models.warehouse.schema import UTCDateTime, _json, _str, _ts, metadata

STATUSES = ("met", "breached", "pending")
# What the roll-ups count evaluations by, in the order of the index that holds them all.
ROLLUP_COLUMNS = ("rule", "status", "period_month", "period_week", "team", "rep_id", "rep_source")
RESULT_STATUSES = ("passed", "failed", "pending")

sla_evaluations = sa.Table(
    "sla_evaluations",
    metadata,
    _str(
        "rule",
        "SLA rule: first_touch, touch_attempts, accept_reject, icp_fit or sales_acceptance.",
        nullable=False,
        primary_key=True,
    ),
    sa.Column(
        "person_id",
        sa.String(),
        sa.ForeignKey("people.person_id", ondelete="CASCADE"),
        nullable=False,
        primary_key=True,
        comment="The qualified person (people.person_id).",
    ),
    sa.Column(
        "clock_start",
        UTCDateTime(),
        nullable=False,
        primary_key=True,
        comment="When the SLA clock started: the person's qualification (MQL) time (UTC).",
    ),
    _str("period_month", "Month of clock_start in the team's time zone (YYYY-MM).", nullable=False),
    _str(
        "period_week",
        "ISO week of clock_start in the team's time zone (YYYY-Www).",
        nullable=False,
    ),
    _ts("due_at", "Deadline: clock_start plus the allowed business time (UTC).", nullable=True),
    _ts(
        "event_at",
        "What the rule waits for, when it happened (UTC): the first outbound touch "
        "(first_touch), the touch that completed the attempts or connected (touch_attempts), "
        "sales' accept or reject decision (accept_reject, sales_acceptance); null if not yet.",
        nullable=True,
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
    _str("status", "met, breached or pending (deadline not yet passed).", nullable=False),
    _str("severity", "critical (fails the SLA check) or warning (reported only).", nullable=False),
    _str("rep_id", "Sales rep responsible (sales_reps.rep_id): the person's owner, if any."),
    _str("rep_source", "Platform of rep_id (sales_reps.source)."),
    _str("team", "Team of the rep (sales_reps.team), or 'unassigned'.", nullable=False),
    sa.Column(
        "detail",
        _json(),
        nullable=True,
        comment="Rule-specific facts (attempts counted, fit score, decision...) (JSON).",
    ),
    _ts(
        "breach_recorded_at",
        "When leadflow first recorded this as breached; kept if it later turns met (UTC).",
        nullable=True,
    ),
    _str("breach_run_id", "Run that first recorded the breach; kept like breach_recorded_at."),
    _ts(
        "revised_at",
        "When a recorded breach was revised to met by late-arriving data (UTC); else null.",
        nullable=True,
    ),
    _ts("first_evaluated_at", "When leadflow first evaluated this row (UTC)."),
    _ts("evaluated_at", "When leadflow last evaluated this row (UTC)."),
    _str("run_id", "Run that last evaluated this row.", nullable=False),
    sa.CheckConstraint(f"status IN {STATUSES!r}", name="status"),
    sa.CheckConstraint("severity IN ('critical', 'warning')", name="severity"),
    # Every column the roll-ups count by (``sla.store.status_groups``): a run that judged
    # few evaluations counts all of them from this index alone, not from the rows (200,000
    # leads on SQLite: 2.6-3.1 s -> 0.25 s). Its first columns serve what (rule, status)
    # served before revision 0015.
    sa.Index("ix_sla_evaluations_rollups", *ROLLUP_COLUMNS),
    sa.Index(None, "period_week"),
    sa.Index(None, "period_month"),
    sa.Index(None, "person_id"),
    comment=(
        "One row per SLA rule and qualification of a person (rule, person_id, clock_start); "
        "recomputed every run, breach history kept."
    ),
)

sla_results = sa.Table(
    "sla_results",
    metadata,
    _str("run_id", "Run that computed the roll-up.", nullable=False, primary_key=True),
    _str(
        "rule",
        "SLA rule (see sla_evaluations.rule, plus qualified_volume).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "period",
        "Period: YYYY-MM (month) or YYYY-Www (ISO week).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "group_key",
        "overall, team:<team> or rep:<source>:<rep_id>: what the row rolls up.",
        nullable=False,
        primary_key=True,
    ),
    _str("period_kind", "month or week.", nullable=False),
    _str("scope", "overall, team or rep.", nullable=False),
    _str("team", "Team rolled up (scope team or rep), else null."),
    _str("rep_id", "Rep rolled up (scope rep), else null."),
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
    _str("status", "passed, failed, or pending (nothing decided yet).", nullable=False),
    _str("severity", "critical or warning.", nullable=False),
    _ts("evaluated_at", "When the roll-up was computed (UTC)."),
    sa.CheckConstraint(f"status IN {RESULT_STATUSES!r}", name="status"),
    sa.Index(None, "rule", "period"),
    comment="One row per run, rule, period and group (overall, team, rep): SLA compliance.",
)
