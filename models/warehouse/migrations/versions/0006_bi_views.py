"""BI: people.email_hash, suppression_list, and the BI views.

``people.email_hash`` is nullable and filled by the next resolve-and-classify run (it
needs the configured salt, which a migration does not have). ``suppression_list`` is new.

The views are created from the statements below: the SQL that the snapshot
``leadflow.models.bi.views_0006`` rendered on each dialect when this revision was released,
frozen here as text so that this revision imports nothing but SQLAlchemy and Alembic (a
migration is history: it must create tomorrow what it created the day it shipped, whatever
the BI package has become). ``VIEWS_FINGERPRINT`` is the SHA-256 of those statements; the
upgrade checks it, so a hand edit fails loudly, and ``tests/models/bi/test_views.py`` checks
that the snapshot still renders them.

The views are created after the column they read and dropped first on downgrade. (SQLite:
a later batch migration that rebuilds a table a view reads must drop the views first and
create them again after, from statements frozen in that migration the same way.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS_FINGERPRINT = "d25b5705b765fe05e35dc42e8274cff6c88b4e6c257b9c7c5e81fd821336ba55"

# In creation order (downgrade drops them in reverse).
VIEW_NAMES = (
    "v_people",
    "v_funnel_monthly",
    "v_cost_per_lead",
    "v_cost_per_lead_monthly",
    "v_sla_compliance_weekly",
    "v_speed_to_lead",
    "v_speed_to_lead_weekly",
    "v_time_in_stage",
    "v_lead_velocity",
)


def _check_statements() -> None:
    text = "\n;\n".join((*SQLITE, *POSTGRESQL))
    found = hashlib.sha256(text.encode()).hexdigest()
    if found != VIEWS_FINGERPRINT:
        raise RuntimeError(
            f"migration 0006's view statements changed after release (fingerprint {found}): "
            "put view changes in a new migration instead"
        )


def upgrade() -> None:
    """Upgrade schema."""
    _check_statements()
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
    dialect = op.get_context().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise RuntimeError(f"the BI views are written for SQLite and PostgreSQL, not {dialect}")
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    """Downgrade schema."""
    for name in reversed(VIEW_NAMES):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_table("suppression_list")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("email_hash")


# The statements, as create_statements(VIEWS_0006, dialect) rendered them at release
# (PostgreSQL adds the view and column comments; SQLite has none).
SQLITE: tuple[str, ...] = (
    """CREATE VIEW v_people AS
SELECT p.person_id, p.email_hash, p.stage, p.lifecycle, p.raw_stage, p.fit, p.engagement,
       p.job_title, p.company, p.country, p.qualified_at, p.lifecycle_at, p.created_at,
       p.classified_at
FROM people p""",
    """CREATE VIEW v_funnel_monthly AS
WITH lead_rows AS (
    SELECT strftime('%Y-%m', l.created_at) AS month, l.source, l.campaign_id, l.person_id,
           CASE WHEN p.qualified_at IS NOT NULL THEN l.person_id END AS qualified_person,
           CASE WHEN s.person_id IS NOT NULL OR p.lifecycle = 'sql'
                THEN l.person_id END AS sql_person
    FROM leads l
    LEFT JOIN people p ON p.person_id = l.person_id
    LEFT JOIN (SELECT DISTINCT person_id FROM stage_transitions WHERE to_lifecycle = 'sql') s
           ON s.person_id = l.person_id
    WHERE NOT l.is_test
),
ranked AS (
    SELECT l.person_id, l.source, l.campaign_id,
           ROW_NUMBER() OVER (PARTITION BY l.person_id
                              ORDER BY l.created_at, l.source, l.source_lead_id) AS n
    FROM leads l
    WHERE l.person_id IS NOT NULL AND NOT l.is_test
),
first_lead AS (SELECT person_id, source, campaign_id FROM ranked WHERE n = 1),
sql_at AS (
    SELECT person_id, MIN(at) AS at FROM stage_transitions
    WHERE to_lifecycle = 'sql' GROUP BY person_id
),
parts AS (
    SELECT month, source, campaign_id, COUNT(*) AS leads, COUNT(DISTINCT person_id) AS people,
           COUNT(DISTINCT qualified_person) AS cohort_qualified,
           COUNT(DISTINCT sql_person) AS cohort_sql, 0 AS qualified, 0 AS sql
    FROM lead_rows GROUP BY month, source, campaign_id
    UNION ALL
    SELECT strftime('%Y-%m', p.qualified_at), f.source, f.campaign_id, 0, 0, 0, 0, COUNT(*), 0
    FROM people p JOIN first_lead f ON f.person_id = p.person_id
    WHERE p.qualified_at IS NOT NULL
    GROUP BY strftime('%Y-%m', p.qualified_at), f.source, f.campaign_id
    UNION ALL
    SELECT strftime('%Y-%m', s.at), f.source, f.campaign_id, 0, 0, 0, 0, 0, COUNT(*)
    FROM sql_at s JOIN first_lead f ON f.person_id = s.person_id
    GROUP BY strftime('%Y-%m', s.at), f.source, f.campaign_id
)
SELECT pt.month, pt.source, pt.campaign_id, c.campaign_name,
       CAST(SUM(pt.leads) AS BIGINT) AS leads, CAST(SUM(pt.people) AS BIGINT) AS people,
       CAST(SUM(pt.qualified) AS BIGINT) AS qualified, CAST(SUM(pt.sql) AS BIGINT) AS sql,
       CAST(SUM(pt.cohort_qualified) AS BIGINT) AS cohort_qualified,
       CAST(SUM(pt.cohort_sql) AS BIGINT) AS cohort_sql,
       CAST(SUM(pt.cohort_qualified) AS DOUBLE PRECISION) / NULLIF(SUM(pt.people), 0) AS cohort_qualified_rate,
       CAST(SUM(pt.cohort_sql) AS DOUBLE PRECISION) / NULLIF(SUM(pt.people), 0) AS cohort_sql_rate,
       CAST(SUM(pt.qualified) AS DOUBLE PRECISION) / NULLIF(SUM(pt.leads), 0) AS period_qualified_rate,
       CAST(SUM(pt.sql) AS DOUBLE PRECISION) / NULLIF(SUM(pt.qualified), 0) AS period_sql_rate
FROM parts pt
LEFT JOIN campaigns c ON c.platform = pt.source AND c.campaign_id = pt.campaign_id
GROUP BY pt.month, pt.source, pt.campaign_id, c.campaign_name""",
    """CREATE VIEW v_cost_per_lead AS
WITH spend AS (
    SELECT s.platform, s.campaign_id, s.day AS period, MAX(s.currency) AS currency,
           SUM(s.spend_micros) AS spend_micros
    FROM ad_spend_daily s
    GROUP BY s.platform, s.campaign_id, s.day
),
lead_rows AS (
    SELECT l.source AS platform, l.campaign_id, date(l.created_at) AS period, COUNT(*) AS leads,
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN l.person_id END) AS qualified
    FROM leads l
    LEFT JOIN people p ON p.person_id = l.person_id
    WHERE NOT l.is_test AND l.campaign_id IS NOT NULL
    GROUP BY l.source, l.campaign_id, date(l.created_at)
),
parts AS (
    SELECT platform, campaign_id, period, currency, spend_micros, 0 AS leads, 0 AS qualified
    FROM spend
    UNION ALL
    SELECT platform, campaign_id, period, NULL, NULL, leads, qualified FROM lead_rows
)
SELECT pt.period AS day, strftime('%Y-%m', pt.period) AS month, pt.platform, pt.campaign_id, c.campaign_name,
       COALESCE(MAX(pt.currency), c.currency) AS currency,
       CAST(SUM(pt.spend_micros) AS BIGINT) AS spend_micros,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / 1000000 AS spend,
       CAST(SUM(pt.leads) AS BIGINT) AS leads, CAST(SUM(pt.qualified) AS BIGINT) AS qualified,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / NULLIF(SUM(pt.leads), 0) / 1000000 AS cost_per_lead,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / NULLIF(SUM(pt.qualified), 0) / 1000000
           AS cost_per_qualified_lead
FROM parts pt
LEFT JOIN campaigns c ON c.platform = pt.platform AND c.campaign_id = pt.campaign_id
GROUP BY pt.period, pt.platform, pt.campaign_id, c.campaign_name, c.currency""",
    """CREATE VIEW v_cost_per_lead_monthly AS
WITH spend AS (
    SELECT s.platform, s.campaign_id, strftime('%Y-%m', s.day) AS period, MAX(s.currency) AS currency,
           SUM(s.spend_micros) AS spend_micros
    FROM ad_spend_daily s
    GROUP BY s.platform, s.campaign_id, strftime('%Y-%m', s.day)
),
lead_rows AS (
    SELECT l.source AS platform, l.campaign_id, strftime('%Y-%m', l.created_at) AS period, COUNT(*) AS leads,
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN l.person_id END) AS qualified
    FROM leads l
    LEFT JOIN people p ON p.person_id = l.person_id
    WHERE NOT l.is_test AND l.campaign_id IS NOT NULL
    GROUP BY l.source, l.campaign_id, strftime('%Y-%m', l.created_at)
),
parts AS (
    SELECT platform, campaign_id, period, currency, spend_micros, 0 AS leads, 0 AS qualified
    FROM spend
    UNION ALL
    SELECT platform, campaign_id, period, NULL, NULL, leads, qualified FROM lead_rows
)
SELECT pt.period AS month, pt.platform, pt.campaign_id, c.campaign_name,
       COALESCE(MAX(pt.currency), c.currency) AS currency,
       CAST(SUM(pt.spend_micros) AS BIGINT) AS spend_micros,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / 1000000 AS spend,
       CAST(SUM(pt.leads) AS BIGINT) AS leads, CAST(SUM(pt.qualified) AS BIGINT) AS qualified,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / NULLIF(SUM(pt.leads), 0) / 1000000 AS cost_per_lead,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / NULLIF(SUM(pt.qualified), 0) / 1000000
           AS cost_per_qualified_lead
FROM parts pt
LEFT JOIN campaigns c ON c.platform = pt.platform AND c.campaign_id = pt.campaign_id
GROUP BY pt.period, pt.platform, pt.campaign_id, c.campaign_name, c.currency""",
    """CREATE VIEW v_sla_compliance_weekly AS
SELECT e.period_week AS week, e.team, e.rep_source, e.rep_id, NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '') AS rep_name, e.rule,
       CAST(COUNT(*) AS BIGINT) AS evaluated, CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS met, CAST(SUM(CASE WHEN e.status = 'breached' THEN 1 ELSE 0 END) AS BIGINT) AS breached,
       CAST(SUM(CASE WHEN e.status = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending,
       100.0 * CAST(CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) + CAST(SUM(CASE WHEN e.status = 'breached' THEN 1 ELSE 0 END) AS BIGINT), 0) AS percentage,
       COALESCE((SELECT r.target FROM sla_results r WHERE r.rule = e.rule AND r.period = e.period_week ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1), (SELECT r.target FROM sla_results r WHERE r.rule = e.rule ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1)) AS target
FROM sla_evaluations e
LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id
GROUP BY e.period_week, e.team, e.rep_source, e.rep_id, sr.first_name, sr.last_name, e.rule""",
    """CREATE VIEW v_speed_to_lead AS
SELECT e.person_id, p.email_hash, e.clock_start AS qualified_at, e.event_at AS first_touch_at,
       CASE WHEN e.event_at IS NOT NULL THEN e.business_minutes END AS business_minutes,
       CASE WHEN e.event_at IS NOT NULL THEN e.wall_minutes END AS wall_minutes,
       e.status, e.due_at, e.team, e.rep_source, e.rep_id, NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '') AS rep_name,
       e.period_week AS week, e.period_month AS month
FROM sla_evaluations e
LEFT JOIN people p ON p.person_id = e.person_id
LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id
WHERE e.rule = 'first_touch'""",
    """CREATE VIEW v_speed_to_lead_weekly AS
WITH touched AS (
    SELECT period_week, team, business_minutes, wall_minutes,
           ROW_NUMBER() OVER (PARTITION BY period_week, team ORDER BY business_minutes) AS business_rank,
           ROW_NUMBER() OVER (PARTITION BY period_week, team ORDER BY wall_minutes) AS wall_rank,
           COUNT(*) OVER (PARTITION BY period_week, team) AS n
    FROM sla_evaluations
    WHERE rule = 'first_touch' AND event_at IS NOT NULL
      AND business_minutes IS NOT NULL AND wall_minutes IS NOT NULL
),
picked AS (
    SELECT period_week, team, MAX(n) AS touched,
           MAX(CASE WHEN business_rank = (50 * n + 99) / 100 THEN business_minutes END) AS p50_business_minutes,
           MAX(CASE WHEN business_rank = (90 * n + 99) / 100 THEN business_minutes END) AS p90_business_minutes,
           MAX(CASE WHEN wall_rank = (50 * n + 99) / 100 THEN wall_minutes END) AS p50_wall_minutes,
           MAX(CASE WHEN wall_rank = (90 * n + 99) / 100 THEN wall_minutes END) AS p90_wall_minutes
    FROM touched GROUP BY period_week, team
),
totals AS (
    SELECT period_week, team, COUNT(*) AS qualified
    FROM sla_evaluations WHERE rule = 'first_touch' GROUP BY period_week, team
)
SELECT t.period_week AS week, t.team, CAST(t.qualified AS BIGINT) AS qualified,
       CAST(COALESCE(p.touched, 0) AS BIGINT) AS touched,
       p.p50_business_minutes, p.p90_business_minutes, p.p50_wall_minutes, p.p90_wall_minutes
FROM totals t
LEFT JOIN picked p ON p.period_week = t.period_week AND p.team = t.team""",
    """CREATE VIEW v_time_in_stage AS
WITH ordered AS (
    SELECT t.person_id, t.to_lifecycle AS lifecycle, t.to_stage AS stage, t.at AS entered_at,
           LEAD(t.at) OVER (PARTITION BY t.person_id ORDER BY t.at, t.id) AS exited_at,
           LEAD(t.to_lifecycle) OVER (PARTITION BY t.person_id ORDER BY t.at, t.id) AS next_lifecycle
    FROM stage_transitions t
)
SELECT o.person_id, p.email_hash, o.lifecycle, o.stage, o.entered_at, o.exited_at,
       o.next_lifecycle,
       CASE WHEN o.exited_at IS NOT NULL THEN ((julianday(o.exited_at) - julianday(o.entered_at)) * 1440.0) END AS duration_minutes,
       CASE WHEN o.exited_at IS NOT NULL THEN ((julianday(o.exited_at) - julianday(o.entered_at)) * 1440.0) / 1440 END AS duration_days
FROM ordered o
LEFT JOIN people p ON p.person_id = o.person_id""",
    """CREATE VIEW v_lead_velocity AS
WITH q AS (
    SELECT strftime('%Y-%m', qualified_at) AS month, COUNT(*) AS qualified
    FROM people WHERE qualified_at IS NOT NULL
    GROUP BY strftime('%Y-%m', qualified_at)
),
months AS (
    SELECT month FROM q
    UNION
    SELECT strftime('%Y-%m', month || '-01', '+1 month') FROM q
)
SELECT m.month, CAST(COALESCE(q.qualified, 0) AS BIGINT) AS qualified,
       CAST(COALESCE(prev.qualified, 0) AS BIGINT) AS previous_month_qualified,
       100.0 * CAST(COALESCE(q.qualified, 0) - prev.qualified AS DOUBLE PRECISION) / NULLIF(prev.qualified, 0)
           AS lead_velocity_rate
FROM months m
LEFT JOIN q ON q.month = m.month
LEFT JOIN q prev ON prev.month = strftime('%Y-%m', m.month || '-01', '-1 month')
WHERE m.month <= strftime('%Y-%m', CURRENT_TIMESTAMP)""",
)

POSTGRESQL: tuple[str, ...] = (
    """CREATE VIEW v_people AS
SELECT p.person_id, p.email_hash, p.stage, p.lifecycle, p.raw_stage, p.fit, p.engagement,
       p.job_title, p.company, p.country, p.qualified_at, p.lifecycle_at, p.created_at,
       p.classified_at
FROM people p""",
    "COMMENT ON VIEW v_people IS 'One row per person (people without contact fields)'",
    "COMMENT ON COLUMN v_people.person_id IS 'The person (people.person_id).'",
    "COMMENT ON COLUMN v_people.email_hash IS 'Salted SHA-256 of the person''s email match key; null without one.'",
    "COMMENT ON COLUMN v_people.stage IS 'cold, warm or qualified.'",
    "COMMENT ON COLUMN v_people.lifecycle IS 'lead, engaged, mql, sql or nurture.'",
    "COMMENT ON COLUMN v_people.raw_stage IS 'The source system''s own stage of the latest staged lead.'",
    "COMMENT ON COLUMN v_people.fit IS 'Fit score (ideal customer profile).'",
    "COMMENT ON COLUMN v_people.engagement IS 'Engagement score with decay.'",
    "COMMENT ON COLUMN v_people.job_title IS 'Job title.'",
    "COMMENT ON COLUMN v_people.company IS 'Company.'",
    "COMMENT ON COLUMN v_people.country IS 'Country.'",
    "COMMENT ON COLUMN v_people.qualified_at IS 'When the person first qualified (MQL), UTC.'",
    "COMMENT ON COLUMN v_people.lifecycle_at IS 'When the current lifecycle stage was entered, UTC.'",
    "COMMENT ON COLUMN v_people.created_at IS 'When leadflow first resolved the person, UTC.'",
    "COMMENT ON COLUMN v_people.classified_at IS 'When leadflow last classified the person, UTC.'",
    """CREATE VIEW v_funnel_monthly AS
WITH lead_rows AS (
    SELECT to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, l.source, l.campaign_id, l.person_id,
           CASE WHEN p.qualified_at IS NOT NULL THEN l.person_id END AS qualified_person,
           CASE WHEN s.person_id IS NOT NULL OR p.lifecycle = 'sql'
                THEN l.person_id END AS sql_person
    FROM leads l
    LEFT JOIN people p ON p.person_id = l.person_id
    LEFT JOIN (SELECT DISTINCT person_id FROM stage_transitions WHERE to_lifecycle = 'sql') s
           ON s.person_id = l.person_id
    WHERE NOT l.is_test
),
ranked AS (
    SELECT l.person_id, l.source, l.campaign_id,
           ROW_NUMBER() OVER (PARTITION BY l.person_id
                              ORDER BY l.created_at, l.source, l.source_lead_id) AS n
    FROM leads l
    WHERE l.person_id IS NOT NULL AND NOT l.is_test
),
first_lead AS (SELECT person_id, source, campaign_id FROM ranked WHERE n = 1),
sql_at AS (
    SELECT person_id, MIN(at) AS at FROM stage_transitions
    WHERE to_lifecycle = 'sql' GROUP BY person_id
),
parts AS (
    SELECT month, source, campaign_id, COUNT(*) AS leads, COUNT(DISTINCT person_id) AS people,
           COUNT(DISTINCT qualified_person) AS cohort_qualified,
           COUNT(DISTINCT sql_person) AS cohort_sql, 0 AS qualified, 0 AS sql
    FROM lead_rows GROUP BY month, source, campaign_id
    UNION ALL
    SELECT to_char(p.qualified_at AT TIME ZONE 'UTC', 'YYYY-MM'), f.source, f.campaign_id, 0, 0, 0, 0, COUNT(*), 0
    FROM people p JOIN first_lead f ON f.person_id = p.person_id
    WHERE p.qualified_at IS NOT NULL
    GROUP BY to_char(p.qualified_at AT TIME ZONE 'UTC', 'YYYY-MM'), f.source, f.campaign_id
    UNION ALL
    SELECT to_char(s.at AT TIME ZONE 'UTC', 'YYYY-MM'), f.source, f.campaign_id, 0, 0, 0, 0, 0, COUNT(*)
    FROM sql_at s JOIN first_lead f ON f.person_id = s.person_id
    GROUP BY to_char(s.at AT TIME ZONE 'UTC', 'YYYY-MM'), f.source, f.campaign_id
)
SELECT pt.month, pt.source, pt.campaign_id, c.campaign_name,
       CAST(SUM(pt.leads) AS BIGINT) AS leads, CAST(SUM(pt.people) AS BIGINT) AS people,
       CAST(SUM(pt.qualified) AS BIGINT) AS qualified, CAST(SUM(pt.sql) AS BIGINT) AS sql,
       CAST(SUM(pt.cohort_qualified) AS BIGINT) AS cohort_qualified,
       CAST(SUM(pt.cohort_sql) AS BIGINT) AS cohort_sql,
       CAST(SUM(pt.cohort_qualified) AS DOUBLE PRECISION) / NULLIF(SUM(pt.people), 0) AS cohort_qualified_rate,
       CAST(SUM(pt.cohort_sql) AS DOUBLE PRECISION) / NULLIF(SUM(pt.people), 0) AS cohort_sql_rate,
       CAST(SUM(pt.qualified) AS DOUBLE PRECISION) / NULLIF(SUM(pt.leads), 0) AS period_qualified_rate,
       CAST(SUM(pt.sql) AS DOUBLE PRECISION) / NULLIF(SUM(pt.qualified), 0) AS period_sql_rate
FROM parts pt
LEFT JOIN campaigns c ON c.platform = pt.source AND c.campaign_id = pt.campaign_id
GROUP BY pt.month, pt.source, pt.campaign_id, c.campaign_name""",
    "COMMENT ON VIEW v_funnel_monthly IS 'One row per month (UTC), source platform and campaign'",
    "COMMENT ON COLUMN v_funnel_monthly.month IS 'YYYY-MM (UTC).'",
    "COMMENT ON COLUMN v_funnel_monthly.source IS 'Platform of the leads (leads.source).'",
    "COMMENT ON COLUMN v_funnel_monthly.campaign_id IS 'Campaign on that platform; null for leads without one.'",
    "COMMENT ON COLUMN v_funnel_monthly.campaign_name IS 'The campaign''s latest name (campaigns).'",
    "COMMENT ON COLUMN v_funnel_monthly.leads IS 'Leads created in the month.'",
    "COMMENT ON COLUMN v_funnel_monthly.people IS 'Distinct people behind those leads.'",
    "COMMENT ON COLUMN v_funnel_monthly.qualified IS 'People who qualified (MQL) in the month, credited to their first lead''s source and campaign.'",
    "COMMENT ON COLUMN v_funnel_monthly.sql IS 'People who first became sales-qualified (sql) in the month, credited the same.'",
    "COMMENT ON COLUMN v_funnel_monthly.cohort_qualified IS 'Of the people behind the month''s leads, how many qualified by now.'",
    "COMMENT ON COLUMN v_funnel_monthly.cohort_sql IS 'Of the people behind the month''s leads, how many ever reached sql.'",
    "COMMENT ON COLUMN v_funnel_monthly.cohort_qualified_rate IS 'cohort_qualified / people.'",
    "COMMENT ON COLUMN v_funnel_monthly.cohort_sql_rate IS 'cohort_sql / people.'",
    "COMMENT ON COLUMN v_funnel_monthly.period_qualified_rate IS 'qualified / leads, both in the month.'",
    "COMMENT ON COLUMN v_funnel_monthly.period_sql_rate IS 'sql / qualified, both in the month.'",
    """CREATE VIEW v_cost_per_lead AS
WITH spend AS (
    SELECT s.platform, s.campaign_id, s.day AS period, MAX(s.currency) AS currency,
           SUM(s.spend_micros) AS spend_micros
    FROM ad_spend_daily s
    GROUP BY s.platform, s.campaign_id, s.day
),
lead_rows AS (
    SELECT l.source AS platform, l.campaign_id, CAST(l.created_at AT TIME ZONE 'UTC' AS DATE) AS period, COUNT(*) AS leads,
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN l.person_id END) AS qualified
    FROM leads l
    LEFT JOIN people p ON p.person_id = l.person_id
    WHERE NOT l.is_test AND l.campaign_id IS NOT NULL
    GROUP BY l.source, l.campaign_id, CAST(l.created_at AT TIME ZONE 'UTC' AS DATE)
),
parts AS (
    SELECT platform, campaign_id, period, currency, spend_micros, 0 AS leads, 0 AS qualified
    FROM spend
    UNION ALL
    SELECT platform, campaign_id, period, NULL, NULL, leads, qualified FROM lead_rows
)
SELECT pt.period AS day, to_char(pt.period, 'YYYY-MM') AS month, pt.platform, pt.campaign_id, c.campaign_name,
       COALESCE(MAX(pt.currency), c.currency) AS currency,
       CAST(SUM(pt.spend_micros) AS BIGINT) AS spend_micros,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / 1000000 AS spend,
       CAST(SUM(pt.leads) AS BIGINT) AS leads, CAST(SUM(pt.qualified) AS BIGINT) AS qualified,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / NULLIF(SUM(pt.leads), 0) / 1000000 AS cost_per_lead,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / NULLIF(SUM(pt.qualified), 0) / 1000000
           AS cost_per_qualified_lead
FROM parts pt
LEFT JOIN campaigns c ON c.platform = pt.platform AND c.campaign_id = pt.campaign_id
GROUP BY pt.period, pt.platform, pt.campaign_id, c.campaign_name, c.currency""",
    "COMMENT ON VIEW v_cost_per_lead IS 'One row per day, platform and campaign with spend or leads'",
    "COMMENT ON COLUMN v_cost_per_lead.day IS 'Spend day (the ad account''s) and lead creation day (UTC).'",
    "COMMENT ON COLUMN v_cost_per_lead.month IS 'YYYY-MM of day.'",
    "COMMENT ON COLUMN v_cost_per_lead.platform IS 'Ad platform; leads join on leads.source.'",
    "COMMENT ON COLUMN v_cost_per_lead.campaign_id IS 'Campaign on that platform.'",
    "COMMENT ON COLUMN v_cost_per_lead.campaign_name IS 'The campaign''s latest name (campaigns).'",
    "COMMENT ON COLUMN v_cost_per_lead.currency IS 'ISO 4217 currency of the spend (the ad account''s).'",
    "COMMENT ON COLUMN v_cost_per_lead.spend_micros IS 'Spend in millionths of the currency (exact); null when no spend was reported.'",
    "COMMENT ON COLUMN v_cost_per_lead.spend IS 'spend_micros / 1e6.'",
    "COMMENT ON COLUMN v_cost_per_lead.leads IS 'Leads created in the period from the campaign.'",
    "COMMENT ON COLUMN v_cost_per_lead.qualified IS 'People behind those leads who are qualified by now.'",
    "COMMENT ON COLUMN v_cost_per_lead.cost_per_lead IS 'spend / leads.'",
    "COMMENT ON COLUMN v_cost_per_lead.cost_per_qualified_lead IS 'spend / qualified.'",
    """CREATE VIEW v_cost_per_lead_monthly AS
WITH spend AS (
    SELECT s.platform, s.campaign_id, to_char(s.day, 'YYYY-MM') AS period, MAX(s.currency) AS currency,
           SUM(s.spend_micros) AS spend_micros
    FROM ad_spend_daily s
    GROUP BY s.platform, s.campaign_id, to_char(s.day, 'YYYY-MM')
),
lead_rows AS (
    SELECT l.source AS platform, l.campaign_id, to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS period, COUNT(*) AS leads,
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN l.person_id END) AS qualified
    FROM leads l
    LEFT JOIN people p ON p.person_id = l.person_id
    WHERE NOT l.is_test AND l.campaign_id IS NOT NULL
    GROUP BY l.source, l.campaign_id, to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM')
),
parts AS (
    SELECT platform, campaign_id, period, currency, spend_micros, 0 AS leads, 0 AS qualified
    FROM spend
    UNION ALL
    SELECT platform, campaign_id, period, NULL, NULL, leads, qualified FROM lead_rows
)
SELECT pt.period AS month, pt.platform, pt.campaign_id, c.campaign_name,
       COALESCE(MAX(pt.currency), c.currency) AS currency,
       CAST(SUM(pt.spend_micros) AS BIGINT) AS spend_micros,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / 1000000 AS spend,
       CAST(SUM(pt.leads) AS BIGINT) AS leads, CAST(SUM(pt.qualified) AS BIGINT) AS qualified,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / NULLIF(SUM(pt.leads), 0) / 1000000 AS cost_per_lead,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / NULLIF(SUM(pt.qualified), 0) / 1000000
           AS cost_per_qualified_lead
FROM parts pt
LEFT JOIN campaigns c ON c.platform = pt.platform AND c.campaign_id = pt.campaign_id
GROUP BY pt.period, pt.platform, pt.campaign_id, c.campaign_name, c.currency""",
    "COMMENT ON VIEW v_cost_per_lead_monthly IS 'One row per month, platform and campaign with spend or leads'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.month IS 'YYYY-MM: spend days and lead months (UTC).'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.platform IS 'Ad platform; leads join on leads.source.'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.campaign_id IS 'Campaign on that platform.'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.campaign_name IS 'The campaign''s latest name (campaigns).'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.currency IS 'ISO 4217 currency of the spend (the ad account''s).'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.spend_micros IS 'Spend in millionths of the currency (exact); null when no spend was reported.'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.spend IS 'spend_micros / 1e6.'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.leads IS 'Leads created in the period from the campaign.'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.qualified IS 'People behind those leads who are qualified by now.'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.cost_per_lead IS 'spend / leads.'",
    "COMMENT ON COLUMN v_cost_per_lead_monthly.cost_per_qualified_lead IS 'spend / qualified.'",
    """CREATE VIEW v_sla_compliance_weekly AS
SELECT e.period_week AS week, e.team, e.rep_source, e.rep_id, NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '') AS rep_name, e.rule,
       CAST(COUNT(*) AS BIGINT) AS evaluated, CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS met, CAST(SUM(CASE WHEN e.status = 'breached' THEN 1 ELSE 0 END) AS BIGINT) AS breached,
       CAST(SUM(CASE WHEN e.status = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending,
       100.0 * CAST(CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) + CAST(SUM(CASE WHEN e.status = 'breached' THEN 1 ELSE 0 END) AS BIGINT), 0) AS percentage,
       COALESCE((SELECT r.target FROM sla_results r WHERE r.rule = e.rule AND r.period = e.period_week ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1), (SELECT r.target FROM sla_results r WHERE r.rule = e.rule ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1)) AS target
FROM sla_evaluations e
LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id
GROUP BY e.period_week, e.team, e.rep_source, e.rep_id, sr.first_name, sr.last_name, e.rule""",
    "COMMENT ON VIEW v_sla_compliance_weekly IS 'One row per ISO week, team, rep and SLA rule'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.week IS 'ISO week of the SLA clock start in the team''s time zone (YYYY-Www).'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.team IS 'Sales team, or ''unassigned''.'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.rep_source IS 'Platform of the rep (sales_reps.source); null when unassigned.'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.rep_id IS 'The rep (sales_reps.rep_id); null when unassigned.'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.rep_name IS 'The rep''s name.'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.rule IS 'SLA rule (first_touch, touch_attempts, accept_reject, icp_fit, sales_acceptance).'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.evaluated IS 'Evaluations.'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.met IS 'Evaluations met.'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.breached IS 'Evaluations breached.'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.pending IS 'Evaluations whose deadline has not passed.'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.percentage IS '100 * met / (met + breached).'",
    "COMMENT ON COLUMN v_sla_compliance_weekly.target IS 'Target percentage of the rule (sla_results: the week''s, else the latest).'",
    """CREATE VIEW v_speed_to_lead AS
SELECT e.person_id, p.email_hash, e.clock_start AS qualified_at, e.event_at AS first_touch_at,
       CASE WHEN e.event_at IS NOT NULL THEN e.business_minutes END AS business_minutes,
       CASE WHEN e.event_at IS NOT NULL THEN e.wall_minutes END AS wall_minutes,
       e.status, e.due_at, e.team, e.rep_source, e.rep_id, NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '') AS rep_name,
       e.period_week AS week, e.period_month AS month
FROM sla_evaluations e
LEFT JOIN people p ON p.person_id = e.person_id
LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id
WHERE e.rule = 'first_touch'""",
    "COMMENT ON VIEW v_speed_to_lead IS 'One row per qualification of a person (first_touch evaluations)'",
    "COMMENT ON COLUMN v_speed_to_lead.person_id IS 'The qualified person.'",
    "COMMENT ON COLUMN v_speed_to_lead.email_hash IS 'Salted SHA-256 of the person''s email match key.'",
    "COMMENT ON COLUMN v_speed_to_lead.qualified_at IS 'When the SLA clock started (qualification), UTC.'",
    "COMMENT ON COLUMN v_speed_to_lead.first_touch_at IS 'First outbound sales touch after it, UTC; null while none.'",
    "COMMENT ON COLUMN v_speed_to_lead.business_minutes IS 'Business minutes to the first touch; null while none.'",
    "COMMENT ON COLUMN v_speed_to_lead.wall_minutes IS 'Wall-clock minutes to the first touch; null while none.'",
    "COMMENT ON COLUMN v_speed_to_lead.status IS 'met, breached or pending.'",
    "COMMENT ON COLUMN v_speed_to_lead.due_at IS 'First-touch deadline, UTC.'",
    "COMMENT ON COLUMN v_speed_to_lead.team IS 'Sales team, or ''unassigned''.'",
    "COMMENT ON COLUMN v_speed_to_lead.rep_source IS 'Platform of the rep.'",
    "COMMENT ON COLUMN v_speed_to_lead.rep_id IS 'The responsible rep.'",
    "COMMENT ON COLUMN v_speed_to_lead.rep_name IS 'The rep''s name.'",
    "COMMENT ON COLUMN v_speed_to_lead.week IS 'ISO week of qualified_at in the team''s time zone (YYYY-Www).'",
    "COMMENT ON COLUMN v_speed_to_lead.month IS 'Month of qualified_at in the team''s time zone (YYYY-MM).'",
    """CREATE VIEW v_speed_to_lead_weekly AS
WITH touched AS (
    SELECT period_week, team, business_minutes, wall_minutes,
           ROW_NUMBER() OVER (PARTITION BY period_week, team ORDER BY business_minutes) AS business_rank,
           ROW_NUMBER() OVER (PARTITION BY period_week, team ORDER BY wall_minutes) AS wall_rank,
           COUNT(*) OVER (PARTITION BY period_week, team) AS n
    FROM sla_evaluations
    WHERE rule = 'first_touch' AND event_at IS NOT NULL
      AND business_minutes IS NOT NULL AND wall_minutes IS NOT NULL
),
picked AS (
    SELECT period_week, team, MAX(n) AS touched,
           MAX(CASE WHEN business_rank = (50 * n + 99) / 100 THEN business_minutes END) AS p50_business_minutes,
           MAX(CASE WHEN business_rank = (90 * n + 99) / 100 THEN business_minutes END) AS p90_business_minutes,
           MAX(CASE WHEN wall_rank = (50 * n + 99) / 100 THEN wall_minutes END) AS p50_wall_minutes,
           MAX(CASE WHEN wall_rank = (90 * n + 99) / 100 THEN wall_minutes END) AS p90_wall_minutes
    FROM touched GROUP BY period_week, team
),
totals AS (
    SELECT period_week, team, COUNT(*) AS qualified
    FROM sla_evaluations WHERE rule = 'first_touch' GROUP BY period_week, team
)
SELECT t.period_week AS week, t.team, CAST(t.qualified AS BIGINT) AS qualified,
       CAST(COALESCE(p.touched, 0) AS BIGINT) AS touched,
       p.p50_business_minutes, p.p90_business_minutes, p.p50_wall_minutes, p.p90_wall_minutes
FROM totals t
LEFT JOIN picked p ON p.period_week = t.period_week AND p.team = t.team""",
    "COMMENT ON VIEW v_speed_to_lead_weekly IS 'One row per ISO week and team'",
    "COMMENT ON COLUMN v_speed_to_lead_weekly.week IS 'ISO week of the qualification in the team''s time zone (YYYY-Www).'",
    "COMMENT ON COLUMN v_speed_to_lead_weekly.team IS 'Sales team, or ''unassigned''.'",
    "COMMENT ON COLUMN v_speed_to_lead_weekly.qualified IS 'Qualifications (first_touch evaluations).'",
    "COMMENT ON COLUMN v_speed_to_lead_weekly.touched IS 'Of those, touched so far.'",
    "COMMENT ON COLUMN v_speed_to_lead_weekly.p50_business_minutes IS 'Median business minutes to the first touch (nearest rank).'",
    "COMMENT ON COLUMN v_speed_to_lead_weekly.p90_business_minutes IS '90th percentile of business minutes (nearest rank).'",
    "COMMENT ON COLUMN v_speed_to_lead_weekly.p50_wall_minutes IS 'Median wall-clock minutes to the first touch (nearest rank).'",
    "COMMENT ON COLUMN v_speed_to_lead_weekly.p90_wall_minutes IS '90th percentile of wall-clock minutes (nearest rank).'",
    """CREATE VIEW v_time_in_stage AS
WITH ordered AS (
    SELECT t.person_id, t.to_lifecycle AS lifecycle, t.to_stage AS stage, t.at AS entered_at,
           LEAD(t.at) OVER (PARTITION BY t.person_id ORDER BY t.at, t.id) AS exited_at,
           LEAD(t.to_lifecycle) OVER (PARTITION BY t.person_id ORDER BY t.at, t.id) AS next_lifecycle
    FROM stage_transitions t
)
SELECT o.person_id, p.email_hash, o.lifecycle, o.stage, o.entered_at, o.exited_at,
       o.next_lifecycle,
       CASE WHEN o.exited_at IS NOT NULL THEN CAST(EXTRACT(EPOCH FROM (o.exited_at - o.entered_at)) / 60 AS DOUBLE PRECISION) END AS duration_minutes,
       CASE WHEN o.exited_at IS NOT NULL THEN CAST(EXTRACT(EPOCH FROM (o.exited_at - o.entered_at)) / 60 AS DOUBLE PRECISION) / 1440 END AS duration_days
FROM ordered o
LEFT JOIN people p ON p.person_id = o.person_id""",
    "COMMENT ON VIEW v_time_in_stage IS 'One row per stage a person entered (stage_transitions)'",
    "COMMENT ON COLUMN v_time_in_stage.person_id IS 'The person.'",
    "COMMENT ON COLUMN v_time_in_stage.email_hash IS 'Salted SHA-256 of the person''s email match key.'",
    "COMMENT ON COLUMN v_time_in_stage.lifecycle IS 'Lifecycle stage entered (lead, engaged, mql, sql, nurture).'",
    "COMMENT ON COLUMN v_time_in_stage.stage IS 'Canonical stage at the same time (cold, warm, qualified).'",
    "COMMENT ON COLUMN v_time_in_stage.entered_at IS 'When the person entered it, UTC.'",
    "COMMENT ON COLUMN v_time_in_stage.exited_at IS 'When the person moved on, UTC; null while still in it.'",
    "COMMENT ON COLUMN v_time_in_stage.next_lifecycle IS 'The lifecycle stage that followed; null while still in it.'",
    "COMMENT ON COLUMN v_time_in_stage.duration_minutes IS 'Minutes in the stage; null while still in it.'",
    "COMMENT ON COLUMN v_time_in_stage.duration_days IS 'duration_minutes / 1440.'",
    """CREATE VIEW v_lead_velocity AS
WITH q AS (
    SELECT to_char(qualified_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, COUNT(*) AS qualified
    FROM people WHERE qualified_at IS NOT NULL
    GROUP BY to_char(qualified_at AT TIME ZONE 'UTC', 'YYYY-MM')
),
months AS (
    SELECT month FROM q
    UNION
    SELECT to_char(to_date(month || '-01', 'YYYY-MM-DD') + interval '1 month', 'YYYY-MM') FROM q
)
SELECT m.month, CAST(COALESCE(q.qualified, 0) AS BIGINT) AS qualified,
       CAST(COALESCE(prev.qualified, 0) AS BIGINT) AS previous_month_qualified,
       100.0 * CAST(COALESCE(q.qualified, 0) - prev.qualified AS DOUBLE PRECISION) / NULLIF(prev.qualified, 0)
           AS lead_velocity_rate
FROM months m
LEFT JOIN q ON q.month = m.month
LEFT JOIN q prev ON prev.month = to_char(to_date(m.month || '-01', 'YYYY-MM-DD') + interval '-1 month', 'YYYY-MM')
WHERE m.month <= to_char(CURRENT_TIMESTAMP AT TIME ZONE 'UTC', 'YYYY-MM')""",
    "COMMENT ON VIEW v_lead_velocity IS 'One row per month (UTC) with qualified people in it or in the month before'",
    "COMMENT ON COLUMN v_lead_velocity.month IS 'YYYY-MM (UTC).'",
    "COMMENT ON COLUMN v_lead_velocity.qualified IS 'People who first qualified (MQL) in the month.'",
    "COMMENT ON COLUMN v_lead_velocity.previous_month_qualified IS 'The same for the month before.'",
    "COMMENT ON COLUMN v_lead_velocity.lead_velocity_rate IS '100 * (qualified - previous_month_qualified) / previous_month_qualified: month-over-month growth of qualified leads.'",
)
