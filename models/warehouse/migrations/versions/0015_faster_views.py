"""Faster reads: two BI views rewritten, and the SLA roll-ups' columns in one index.

The index ``ix_sla_evaluations_rollups`` (rule, status, period_month, period_week, team,
rep_id, rep_source) replaces ``ix_sla_evaluations_rule_status`` (rule, status), which is
its prefix: the roll-ups of an SLA run count every stored evaluation by these columns, and
now read the index alone instead of every row (200,000 leads on SQLite: 2.6-3.1 s -> 0.25 s).

The views, ``v_funnel_monthly`` and ``v_sla_compliance_weekly``, keep their columns and
rows (``leadflow.models.bi.views_0015`` says how each is now computed):
the funnel reads leads and their people once instead of twice; the weekly SLA compliance
counts evaluations before it looks up each group's rep and target. Both are dropped and
created again from ``leadflow.models.bi.views_0015``'s statements, frozen below as text
with their SHA-256 (``VIEWS_FINGERPRINT``, checked on upgrade;
``tests/models/bi/test_views.py`` checks that the snapshot still renders them). The
downgrade creates revision 0014's definitions of the two views again (0006's for the
weekly compliance, which 0014 kept), frozen here the same way.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS_FINGERPRINT = "738c3959ea98221bbc4015126e4e1d6e19e07e700af29d63c14486f1117e12ca"
VIEWS_0014_FINGERPRINT = "0d98a484c84ad436664905ccad31a007256b99c4fa23936aa8eb1412b924250a"
ROLLUP_COLUMNS = ("rule", "status", "period_month", "period_week", "team", "rep_id", "rep_source")
VIEW_NAMES = ("v_funnel_monthly", "v_sla_compliance_weekly")


def _check(statements: Sequence[str], expected: str) -> Sequence[str]:
    found = hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()
    if found != expected:
        raise RuntimeError(
            f"migration 0015's view statements changed after release (fingerprint {found}): "
            "put view changes in a new migration instead"
        )
    return statements


def _replace(sqlite: Sequence[str], postgresql: Sequence[str], expected: str) -> None:
    dialect = op.get_context().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise RuntimeError(f"the BI views are written for SQLite and PostgreSQL, not {dialect}")
    _check((*sqlite, *postgresql), expected)
    for name in reversed(VIEW_NAMES):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for statement in postgresql if dialect == "postgresql" else sqlite:
        op.execute(statement)


def upgrade() -> None:
    """Upgrade schema."""
    _replace(SQLITE, POSTGRESQL, VIEWS_FINGERPRINT)
    op.drop_index("ix_sla_evaluations_rule_status", table_name="sla_evaluations")
    op.create_index("ix_sla_evaluations_rollups", "sla_evaluations", list(ROLLUP_COLUMNS))


def downgrade() -> None:
    """Downgrade schema."""
    _replace(SQLITE_0014, POSTGRESQL_0014, VIEWS_0014_FINGERPRINT)
    op.drop_index("ix_sla_evaluations_rollups", table_name="sla_evaluations")
    op.create_index("ix_sla_evaluations_rule_status", "sla_evaluations", ["rule", "status"])


# The statements, as create_statements(CHANGED_0015, dialect) rendered them at release.
SQLITE: tuple[str, ...] = (
    """CREATE VIEW v_funnel_monthly AS
WITH ranked AS (
    SELECT strftime('%Y-%m', l.created_at) AS month, l.source, l.campaign_id, lp.person_id,
           ROW_NUMBER() OVER (PARTITION BY lp.person_id
                              ORDER BY l.created_at, l.source, l.source_lead_id) AS n
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    WHERE NOT l.is_test
),
sql_at AS (
    SELECT person_id, MIN(at) AS at FROM stage_transitions
    WHERE to_lifecycle = 'sql' GROUP BY person_id
),
lead_rows AS (
    SELECT r.month, r.source, r.campaign_id, r.person_id, r.n, p.qualified_at, s.at AS sql_at,
           CASE WHEN p.qualified_at IS NOT NULL THEN r.person_id END AS qualified_person,
           CASE WHEN s.person_id IS NOT NULL OR p.lifecycle = 'sql'
                THEN r.person_id END AS sql_person
    FROM ranked r
    LEFT JOIN people p ON p.person_id = r.person_id
    LEFT JOIN sql_at s ON s.person_id = r.person_id
),
parts AS (
    SELECT month, source, campaign_id, COUNT(*) AS leads, COUNT(DISTINCT person_id) AS people,
           COUNT(DISTINCT qualified_person) AS cohort_qualified,
           COUNT(DISTINCT sql_person) AS cohort_sql, 0 AS qualified, 0 AS sql
    FROM lead_rows GROUP BY month, source, campaign_id
    UNION ALL
    SELECT strftime('%Y-%m', qualified_at), source, campaign_id, 0, 0, 0, 0, COUNT(*), 0
    FROM lead_rows
    WHERE n = 1 AND person_id IS NOT NULL AND qualified_at IS NOT NULL
    GROUP BY strftime('%Y-%m', qualified_at), source, campaign_id
    UNION ALL
    SELECT strftime('%Y-%m', sql_at), source, campaign_id, 0, 0, 0, 0, 0, COUNT(*)
    FROM lead_rows
    WHERE n = 1 AND person_id IS NOT NULL AND sql_at IS NOT NULL
    GROUP BY strftime('%Y-%m', sql_at), source, campaign_id
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
    """CREATE VIEW v_sla_compliance_weekly AS
WITH groups AS (
    SELECT rule, status, period_month, period_week, team, rep_id, rep_source, COUNT(*) AS n
    FROM sla_evaluations
    GROUP BY rule, status, period_month, period_week, team, rep_id, rep_source
),
counts AS (
    SELECT period_week, team, rep_source, rep_id, rule, CAST(SUM(n) AS BIGINT) AS evaluated,
           CAST(SUM(CASE WHEN status = 'met' THEN n ELSE 0 END) AS BIGINT) AS met,
           CAST(SUM(CASE WHEN status = 'breached' THEN n ELSE 0 END) AS BIGINT) AS breached,
           CAST(SUM(CASE WHEN status = 'pending' THEN n ELSE 0 END) AS BIGINT) AS pending
    FROM groups
    GROUP BY period_week, team, rep_source, rep_id, rule
)
SELECT e.period_week AS week, e.team, e.rep_source, e.rep_id, NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '') AS rep_name, e.rule,
       e.evaluated, e.met, e.breached, e.pending,
       100.0 * CAST(e.met AS DOUBLE PRECISION) / NULLIF(e.met + e.breached, 0) AS percentage,
       COALESCE((SELECT r.target FROM sla_results r WHERE r.rule = e.rule AND r.period = e.period_week ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1), (SELECT r.target FROM sla_results r WHERE r.rule = e.rule ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1)) AS target
FROM counts e
LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id""",
)

POSTGRESQL: tuple[str, ...] = (
    """CREATE VIEW v_funnel_monthly AS
WITH ranked AS (
    SELECT to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, l.source, l.campaign_id, lp.person_id,
           ROW_NUMBER() OVER (PARTITION BY lp.person_id
                              ORDER BY l.created_at, l.source, l.source_lead_id) AS n
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    WHERE NOT l.is_test
),
sql_at AS (
    SELECT person_id, MIN(at) AS at FROM stage_transitions
    WHERE to_lifecycle = 'sql' GROUP BY person_id
),
lead_rows AS (
    SELECT r.month, r.source, r.campaign_id, r.person_id, r.n, p.qualified_at, s.at AS sql_at,
           CASE WHEN p.qualified_at IS NOT NULL THEN r.person_id END AS qualified_person,
           CASE WHEN s.person_id IS NOT NULL OR p.lifecycle = 'sql'
                THEN r.person_id END AS sql_person
    FROM ranked r
    LEFT JOIN people p ON p.person_id = r.person_id
    LEFT JOIN sql_at s ON s.person_id = r.person_id
),
parts AS (
    SELECT month, source, campaign_id, COUNT(*) AS leads, COUNT(DISTINCT person_id) AS people,
           COUNT(DISTINCT qualified_person) AS cohort_qualified,
           COUNT(DISTINCT sql_person) AS cohort_sql, 0 AS qualified, 0 AS sql
    FROM lead_rows GROUP BY month, source, campaign_id
    UNION ALL
    SELECT to_char(qualified_at AT TIME ZONE 'UTC', 'YYYY-MM'), source, campaign_id, 0, 0, 0, 0, COUNT(*), 0
    FROM lead_rows
    WHERE n = 1 AND person_id IS NOT NULL AND qualified_at IS NOT NULL
    GROUP BY to_char(qualified_at AT TIME ZONE 'UTC', 'YYYY-MM'), source, campaign_id
    UNION ALL
    SELECT to_char(sql_at AT TIME ZONE 'UTC', 'YYYY-MM'), source, campaign_id, 0, 0, 0, 0, 0, COUNT(*)
    FROM lead_rows
    WHERE n = 1 AND person_id IS NOT NULL AND sql_at IS NOT NULL
    GROUP BY to_char(sql_at AT TIME ZONE 'UTC', 'YYYY-MM'), source, campaign_id
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
    """COMMENT ON VIEW v_funnel_monthly IS 'One row per month (UTC), source platform and campaign'""",
    """COMMENT ON COLUMN v_funnel_monthly.month IS 'YYYY-MM (UTC).'""",
    """COMMENT ON COLUMN v_funnel_monthly.source IS 'Platform of the leads (leads.source).'""",
    """COMMENT ON COLUMN v_funnel_monthly.campaign_id IS 'Campaign on that platform; null for leads without one.'""",
    """COMMENT ON COLUMN v_funnel_monthly.campaign_name IS 'The campaign''s latest name (campaigns).'""",
    """COMMENT ON COLUMN v_funnel_monthly.leads IS 'Leads created in the month.'""",
    """COMMENT ON COLUMN v_funnel_monthly.people IS 'Distinct people behind those leads.'""",
    """COMMENT ON COLUMN v_funnel_monthly.qualified IS 'People who qualified (MQL) in the month, credited to their first lead''s source and campaign.'""",
    """COMMENT ON COLUMN v_funnel_monthly.sql IS 'People who first became sales-qualified (sql) in the month, credited the same.'""",
    """COMMENT ON COLUMN v_funnel_monthly.cohort_qualified IS 'Of the people behind the month''s leads, how many qualified by now.'""",
    """COMMENT ON COLUMN v_funnel_monthly.cohort_sql IS 'Of the people behind the month''s leads, how many ever reached sql.'""",
    """COMMENT ON COLUMN v_funnel_monthly.cohort_qualified_rate IS 'cohort_qualified / people.'""",
    """COMMENT ON COLUMN v_funnel_monthly.cohort_sql_rate IS 'cohort_sql / people.'""",
    """COMMENT ON COLUMN v_funnel_monthly.period_qualified_rate IS 'qualified / leads, both in the month.'""",
    """COMMENT ON COLUMN v_funnel_monthly.period_sql_rate IS 'sql / qualified, both in the month.'""",
    """CREATE VIEW v_sla_compliance_weekly AS
WITH groups AS (
    SELECT rule, status, period_month, period_week, team, rep_id, rep_source, COUNT(*) AS n
    FROM sla_evaluations
    GROUP BY rule, status, period_month, period_week, team, rep_id, rep_source
),
counts AS (
    SELECT period_week, team, rep_source, rep_id, rule, CAST(SUM(n) AS BIGINT) AS evaluated,
           CAST(SUM(CASE WHEN status = 'met' THEN n ELSE 0 END) AS BIGINT) AS met,
           CAST(SUM(CASE WHEN status = 'breached' THEN n ELSE 0 END) AS BIGINT) AS breached,
           CAST(SUM(CASE WHEN status = 'pending' THEN n ELSE 0 END) AS BIGINT) AS pending
    FROM groups
    GROUP BY period_week, team, rep_source, rep_id, rule
)
SELECT e.period_week AS week, e.team, e.rep_source, e.rep_id, NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '') AS rep_name, e.rule,
       e.evaluated, e.met, e.breached, e.pending,
       100.0 * CAST(e.met AS DOUBLE PRECISION) / NULLIF(e.met + e.breached, 0) AS percentage,
       COALESCE((SELECT r.target FROM sla_results r WHERE r.rule = e.rule AND r.period = e.period_week ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1), (SELECT r.target FROM sla_results r WHERE r.rule = e.rule ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1)) AS target
FROM counts e
LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id""",
    """COMMENT ON VIEW v_sla_compliance_weekly IS 'One row per ISO week, team, rep and SLA rule'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.week IS 'ISO week of the SLA clock start in the team''s time zone (YYYY-Www).'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.team IS 'Sales team, or ''unassigned''.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.rep_source IS 'Platform of the rep (sales_reps.source); null when unassigned.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.rep_id IS 'The rep (sales_reps.rep_id); null when unassigned.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.rep_name IS 'The rep''s name.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.rule IS 'SLA rule (first_touch, touch_attempts, accept_reject, icp_fit, sales_acceptance).'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.evaluated IS 'Evaluations.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.met IS 'Evaluations met.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.breached IS 'Evaluations breached.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.pending IS 'Evaluations whose deadline has not passed.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.percentage IS '100 * met / (met + breached).'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.target IS 'Target percentage of the rule (sla_results: the week''s, else the latest).'""",
)

# Revision 0014's definitions of the same views (what the downgrade creates again).
SQLITE_0014: tuple[str, ...] = (
    """CREATE VIEW v_funnel_monthly AS
WITH lead_rows AS (
    SELECT strftime('%Y-%m', l.created_at) AS month, l.source, l.campaign_id, lp.person_id,
           CASE WHEN p.qualified_at IS NOT NULL THEN lp.person_id END AS qualified_person,
           CASE WHEN s.person_id IS NOT NULL OR p.lifecycle = 'sql'
                THEN lp.person_id END AS sql_person
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    LEFT JOIN people p ON p.person_id = lp.person_id
    LEFT JOIN (SELECT DISTINCT person_id FROM stage_transitions WHERE to_lifecycle = 'sql') s
           ON s.person_id = lp.person_id
    WHERE NOT l.is_test
),
ranked AS (
    SELECT lp.person_id, l.source, l.campaign_id,
           ROW_NUMBER() OVER (PARTITION BY lp.person_id
                              ORDER BY l.created_at, l.source, l.source_lead_id) AS n
    FROM leads l
    JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    WHERE NOT l.is_test
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
    """CREATE VIEW v_sla_compliance_weekly AS
SELECT e.period_week AS week, e.team, e.rep_source, e.rep_id, NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '') AS rep_name, e.rule,
       CAST(COUNT(*) AS BIGINT) AS evaluated, CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS met, CAST(SUM(CASE WHEN e.status = 'breached' THEN 1 ELSE 0 END) AS BIGINT) AS breached,
       CAST(SUM(CASE WHEN e.status = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending,
       100.0 * CAST(CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) + CAST(SUM(CASE WHEN e.status = 'breached' THEN 1 ELSE 0 END) AS BIGINT), 0) AS percentage,
       COALESCE((SELECT r.target FROM sla_results r WHERE r.rule = e.rule AND r.period = e.period_week ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1), (SELECT r.target FROM sla_results r WHERE r.rule = e.rule ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1)) AS target
FROM sla_evaluations e
LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id
GROUP BY e.period_week, e.team, e.rep_source, e.rep_id, sr.first_name, sr.last_name, e.rule""",
)

POSTGRESQL_0014: tuple[str, ...] = (
    """CREATE VIEW v_funnel_monthly AS
WITH lead_rows AS (
    SELECT to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, l.source, l.campaign_id, lp.person_id,
           CASE WHEN p.qualified_at IS NOT NULL THEN lp.person_id END AS qualified_person,
           CASE WHEN s.person_id IS NOT NULL OR p.lifecycle = 'sql'
                THEN lp.person_id END AS sql_person
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    LEFT JOIN people p ON p.person_id = lp.person_id
    LEFT JOIN (SELECT DISTINCT person_id FROM stage_transitions WHERE to_lifecycle = 'sql') s
           ON s.person_id = lp.person_id
    WHERE NOT l.is_test
),
ranked AS (
    SELECT lp.person_id, l.source, l.campaign_id,
           ROW_NUMBER() OVER (PARTITION BY lp.person_id
                              ORDER BY l.created_at, l.source, l.source_lead_id) AS n
    FROM leads l
    JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    WHERE NOT l.is_test
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
    """COMMENT ON VIEW v_funnel_monthly IS 'One row per month (UTC), source platform and campaign'""",
    """COMMENT ON COLUMN v_funnel_monthly.month IS 'YYYY-MM (UTC).'""",
    """COMMENT ON COLUMN v_funnel_monthly.source IS 'Platform of the leads (leads.source).'""",
    """COMMENT ON COLUMN v_funnel_monthly.campaign_id IS 'Campaign on that platform; null for leads without one.'""",
    """COMMENT ON COLUMN v_funnel_monthly.campaign_name IS 'The campaign''s latest name (campaigns).'""",
    """COMMENT ON COLUMN v_funnel_monthly.leads IS 'Leads created in the month.'""",
    """COMMENT ON COLUMN v_funnel_monthly.people IS 'Distinct people behind those leads.'""",
    """COMMENT ON COLUMN v_funnel_monthly.qualified IS 'People who qualified (MQL) in the month, credited to their first lead''s source and campaign.'""",
    """COMMENT ON COLUMN v_funnel_monthly.sql IS 'People who first became sales-qualified (sql) in the month, credited the same.'""",
    """COMMENT ON COLUMN v_funnel_monthly.cohort_qualified IS 'Of the people behind the month''s leads, how many qualified by now.'""",
    """COMMENT ON COLUMN v_funnel_monthly.cohort_sql IS 'Of the people behind the month''s leads, how many ever reached sql.'""",
    """COMMENT ON COLUMN v_funnel_monthly.cohort_qualified_rate IS 'cohort_qualified / people.'""",
    """COMMENT ON COLUMN v_funnel_monthly.cohort_sql_rate IS 'cohort_sql / people.'""",
    """COMMENT ON COLUMN v_funnel_monthly.period_qualified_rate IS 'qualified / leads, both in the month.'""",
    """COMMENT ON COLUMN v_funnel_monthly.period_sql_rate IS 'sql / qualified, both in the month.'""",
    """CREATE VIEW v_sla_compliance_weekly AS
SELECT e.period_week AS week, e.team, e.rep_source, e.rep_id, NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '') AS rep_name, e.rule,
       CAST(COUNT(*) AS BIGINT) AS evaluated, CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS met, CAST(SUM(CASE WHEN e.status = 'breached' THEN 1 ELSE 0 END) AS BIGINT) AS breached,
       CAST(SUM(CASE WHEN e.status = 'pending' THEN 1 ELSE 0 END) AS BIGINT) AS pending,
       100.0 * CAST(CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS DOUBLE PRECISION) / NULLIF(CAST(SUM(CASE WHEN e.status = 'met' THEN 1 ELSE 0 END) AS BIGINT) + CAST(SUM(CASE WHEN e.status = 'breached' THEN 1 ELSE 0 END) AS BIGINT), 0) AS percentage,
       COALESCE((SELECT r.target FROM sla_results r WHERE r.rule = e.rule AND r.period = e.period_week ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1), (SELECT r.target FROM sla_results r WHERE r.rule = e.rule ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1)) AS target
FROM sla_evaluations e
LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id
GROUP BY e.period_week, e.team, e.rep_source, e.rep_id, sr.first_name, sr.last_name, e.rule""",
    """COMMENT ON VIEW v_sla_compliance_weekly IS 'One row per ISO week, team, rep and SLA rule'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.week IS 'ISO week of the SLA clock start in the team''s time zone (YYYY-Www).'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.team IS 'Sales team, or ''unassigned''.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.rep_source IS 'Platform of the rep (sales_reps.source); null when unassigned.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.rep_id IS 'The rep (sales_reps.rep_id); null when unassigned.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.rep_name IS 'The rep''s name.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.rule IS 'SLA rule (first_touch, touch_attempts, accept_reject, icp_fit, sales_acceptance).'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.evaluated IS 'Evaluations.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.met IS 'Evaluations met.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.breached IS 'Evaluations breached.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.pending IS 'Evaluations whose deadline has not passed.'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.percentage IS '100 * met / (met + breached).'""",
    """COMMENT ON COLUMN v_sla_compliance_weekly.target IS 'Target percentage of the rule (sla_results: the week''s, else the latest).'""",
)
