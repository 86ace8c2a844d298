"""lead_people and email_people: a lead's and an email's person, out of the wide rows.

Identity resolution used to write ``leads.person_id`` and ``engagement_events.person_id``:
on PostgreSQL every moved lead rewrote its whole row (the raw payload included) and six
index entries, the largest cost of a first run. A lead's person is now one narrow row of
``lead_people`` (source, source_lead_id, person_id), an email's one row of
``email_people`` (email_match_key, person_id; only keys that belong to exactly one person),
with no foreign keys (checking them cost more than writing the rows; see
``leadflow.models.warehouse.people_tables``), and both columns are gone: join ``lead_people`` for a lead's person, ``email_people`` on
``email_match_key`` for an event's. Both tables are filled from the old columns here; the
next run of resolve-and-classify writes exactly what it would have.

The three BI views that read ``leads.person_id`` (``v_funnel_monthly``, ``v_cost_per_lead``,
``v_cost_per_lead_monthly``) are dropped first and created again from
``leadflow.models.bi.views_0014``'s statements, frozen below as text with their SHA-256
(``VIEWS_FINGERPRINT``, checked on upgrade; ``tests/models/bi/test_views.py`` checks that
the snapshot still renders them). The downgrade puts back the columns, fills them from the
narrow tables, and revision 0006's definitions of the three views.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS_FINGERPRINT = "c5dc6497c1e29dcba96c5ab60feff679b0f080f9f946544d68fc75da135adcec"
VIEWS_0006_FINGERPRINT = "863f9ce5fbff9d5ff2427a63a492e791c60b1c3b62ead839913399d2d580c64a"
VIEW_NAMES = ("v_funnel_monthly", "v_cost_per_lead", "v_cost_per_lead_monthly")
PERSON_COMMENT = "The resolved person (people.person_id); null until identity resolution runs."


def _check(statements: Sequence[str], expected: str) -> Sequence[str]:
    found = hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()
    if found != expected:
        raise RuntimeError(
            f"migration 0014's view statements changed after release (fingerprint {found}): "
            "put view changes in a new migration instead"
        )
    return statements


def _views(sqlite: Sequence[str], postgresql: Sequence[str], expected: str) -> None:
    dialect = op.get_context().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise RuntimeError(f"the BI views are written for SQLite and PostgreSQL, not {dialect}")
    _check((*sqlite, *postgresql), expected)
    for statement in postgresql if dialect == "postgresql" else sqlite:
        op.execute(statement)


def _drop_views() -> None:
    for name in reversed(VIEW_NAMES):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def upgrade() -> None:
    """Upgrade schema."""
    _check((*SQLITE, *POSTGRESQL), VIEWS_FINGERPRINT)
    op.create_table(
        "lead_people",
        sa.Column(
            "source", sa.String(), nullable=False, comment="The lead's platform (leads.source)."
        ),
        sa.Column(
            "source_lead_id",
            sa.String(),
            nullable=False,
            comment="The lead's id on its platform (leads.source_lead_id).",
        ),
        sa.Column(
            "person_id",
            sa.String(),
            nullable=False,
            comment="The person the lead resolved to (people.person_id).",
        ),
        sa.PrimaryKeyConstraint("source", "source_lead_id", name=op.f("pk_lead_people")),
        comment="One row per resolved lead: its person. Written by identity resolution only; "
        "test leads and leads not resolved yet have none. Join leads here for a lead's person.",
    )
    op.create_index(op.f("ix_lead_people_person_id"), "lead_people", ["person_id"])
    op.create_table(
        "email_people",
        sa.Column(
            "email_match_key",
            sa.String(),
            nullable=False,
            comment="A normalized email (leads.email_match_key, "
            "engagement_events.email_match_key).",
        ),
        sa.Column(
            "person_id",
            sa.String(),
            nullable=False,
            comment="The one person whose leads carry this email (people.person_id).",
        ),
        sa.PrimaryKeyConstraint("email_match_key", name=op.f("pk_email_people")),
        comment="One row per email match key that belongs to exactly one person's leads: whose "
        "engagement events those are (join engagement_events here on email_match_key). A key "
        "on several people's leads (a shared role address) has no row: its events belong to "
        "no one.",
    )
    op.create_index(op.f("ix_email_people_person_id"), "email_people", ["person_id"])
    op.execute(
        "INSERT INTO lead_people (source, source_lead_id, person_id) "
        "SELECT source, source_lead_id, person_id FROM leads WHERE person_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO email_people (email_match_key, person_id) "
        "SELECT email_match_key, MIN(person_id) FROM leads "
        "WHERE email_match_key IS NOT NULL AND person_id IS NOT NULL AND NOT is_test "
        "GROUP BY email_match_key HAVING COUNT(DISTINCT person_id) = 1"
    )
    _drop_views()  # SQLite: a rebuilt leads table would break the views that read it
    context = op.get_context()
    for table in ("leads", "engagement_events"):
        if context.as_sql and context.dialect.name == "sqlite":
            # SQLite drops a column with a foreign key by rebuilding the table, which needs
            # the live table (batch mode reflects it): an offline script leaves the column,
            # unused, and drops only its index.
            op.drop_index(f"ix_{table}_person_id", table_name=table)
            continue
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_person_id")
            batch.drop_constraint(f"fk_{table}_person_id_people", type_="foreignkey")
            batch.drop_column("person_id")
    _views(SQLITE, POSTGRESQL, VIEWS_FINGERPRINT)


def downgrade() -> None:
    """Downgrade schema."""
    _check((*SQLITE_0006, *POSTGRESQL_0006), VIEWS_0006_FINGERPRINT)
    _drop_views()
    for table in ("leads", "engagement_events"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("person_id", sa.String(), nullable=True, comment=PERSON_COMMENT)
            )
            batch.create_foreign_key(
                f"fk_{table}_person_id_people",
                "people",
                ["person_id"],
                ["person_id"],
                ondelete="SET NULL",
            )
            batch.create_index(f"ix_{table}_person_id", ["person_id"])
    op.execute(
        "UPDATE leads SET person_id = (SELECT lp.person_id FROM lead_people lp "
        "WHERE lp.source = leads.source AND lp.source_lead_id = leads.source_lead_id)"
    )
    op.execute(
        "UPDATE engagement_events SET person_id = (SELECT ep.person_id FROM email_people ep "
        "WHERE ep.email_match_key = engagement_events.email_match_key)"
    )
    op.drop_index(op.f("ix_email_people_person_id"), table_name="email_people")
    op.drop_table("email_people")
    op.drop_index(op.f("ix_lead_people_person_id"), table_name="lead_people")
    op.drop_table("lead_people")
    _views(SQLITE_0006, POSTGRESQL_0006, VIEWS_0006_FINGERPRINT)


# The statements, as create_statements(CHANGED_0014, dialect) rendered them at release.
SQLITE: tuple[str, ...] = (
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
    """CREATE VIEW v_cost_per_lead AS
WITH spend AS (
    SELECT s.platform, s.campaign_id, s.day AS period, MAX(s.currency) AS currency,
           SUM(s.spend_micros) AS spend_micros
    FROM ad_spend_daily s
    GROUP BY s.platform, s.campaign_id, s.day
),
lead_rows AS (
    SELECT l.source AS platform, l.campaign_id, date(l.created_at) AS period, COUNT(*) AS leads,
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN lp.person_id END) AS qualified
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    LEFT JOIN people p ON p.person_id = lp.person_id
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
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN lp.person_id END) AS qualified
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    LEFT JOIN people p ON p.person_id = lp.person_id
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
)

POSTGRESQL: tuple[str, ...] = (
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
    """CREATE VIEW v_cost_per_lead AS
WITH spend AS (
    SELECT s.platform, s.campaign_id, s.day AS period, MAX(s.currency) AS currency,
           SUM(s.spend_micros) AS spend_micros
    FROM ad_spend_daily s
    GROUP BY s.platform, s.campaign_id, s.day
),
lead_rows AS (
    SELECT l.source AS platform, l.campaign_id, CAST(l.created_at AT TIME ZONE 'UTC' AS DATE) AS period, COUNT(*) AS leads,
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN lp.person_id END) AS qualified
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    LEFT JOIN people p ON p.person_id = lp.person_id
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
    """COMMENT ON VIEW v_cost_per_lead IS 'One row per day, platform and campaign with spend or leads'""",
    """COMMENT ON COLUMN v_cost_per_lead.day IS 'Spend day (the ad account''s) and lead creation day (UTC).'""",
    """COMMENT ON COLUMN v_cost_per_lead.month IS 'YYYY-MM of day.'""",
    """COMMENT ON COLUMN v_cost_per_lead.platform IS 'Ad platform; leads join on leads.source.'""",
    """COMMENT ON COLUMN v_cost_per_lead.campaign_id IS 'Campaign on that platform.'""",
    """COMMENT ON COLUMN v_cost_per_lead.campaign_name IS 'The campaign''s latest name (campaigns).'""",
    """COMMENT ON COLUMN v_cost_per_lead.currency IS 'ISO 4217 currency of the spend (the ad account''s).'""",
    """COMMENT ON COLUMN v_cost_per_lead.spend_micros IS 'Spend in millionths of the currency (exact); null when no spend was reported.'""",
    """COMMENT ON COLUMN v_cost_per_lead.spend IS 'spend_micros / 1e6.'""",
    """COMMENT ON COLUMN v_cost_per_lead.leads IS 'Leads created in the period from the campaign.'""",
    """COMMENT ON COLUMN v_cost_per_lead.qualified IS 'People behind those leads who are qualified by now.'""",
    """COMMENT ON COLUMN v_cost_per_lead.cost_per_lead IS 'spend / leads.'""",
    """COMMENT ON COLUMN v_cost_per_lead.cost_per_qualified_lead IS 'spend / qualified.'""",
    """CREATE VIEW v_cost_per_lead_monthly AS
WITH spend AS (
    SELECT s.platform, s.campaign_id, to_char(s.day, 'YYYY-MM') AS period, MAX(s.currency) AS currency,
           SUM(s.spend_micros) AS spend_micros
    FROM ad_spend_daily s
    GROUP BY s.platform, s.campaign_id, to_char(s.day, 'YYYY-MM')
),
lead_rows AS (
    SELECT l.source AS platform, l.campaign_id, to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS period, COUNT(*) AS leads,
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN lp.person_id END) AS qualified
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    LEFT JOIN people p ON p.person_id = lp.person_id
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
    """COMMENT ON VIEW v_cost_per_lead_monthly IS 'One row per month, platform and campaign with spend or leads'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.month IS 'YYYY-MM: spend days and lead months (UTC).'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.platform IS 'Ad platform; leads join on leads.source.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.campaign_id IS 'Campaign on that platform.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.campaign_name IS 'The campaign''s latest name (campaigns).'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.currency IS 'ISO 4217 currency of the spend (the ad account''s).'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.spend_micros IS 'Spend in millionths of the currency (exact); null when no spend was reported.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.spend IS 'spend_micros / 1e6.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.leads IS 'Leads created in the period from the campaign.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.qualified IS 'People behind those leads who are qualified by now.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.cost_per_lead IS 'spend / leads.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.cost_per_qualified_lead IS 'spend / qualified.'""",
)

# Revision 0006's definitions of the same views (what downgrade restores), as migration
# 0006 carries them.
SQLITE_0006: tuple[str, ...] = (
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
)

POSTGRESQL_0006: tuple[str, ...] = (
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
    """COMMENT ON VIEW v_cost_per_lead IS 'One row per day, platform and campaign with spend or leads'""",
    """COMMENT ON COLUMN v_cost_per_lead.day IS 'Spend day (the ad account''s) and lead creation day (UTC).'""",
    """COMMENT ON COLUMN v_cost_per_lead.month IS 'YYYY-MM of day.'""",
    """COMMENT ON COLUMN v_cost_per_lead.platform IS 'Ad platform; leads join on leads.source.'""",
    """COMMENT ON COLUMN v_cost_per_lead.campaign_id IS 'Campaign on that platform.'""",
    """COMMENT ON COLUMN v_cost_per_lead.campaign_name IS 'The campaign''s latest name (campaigns).'""",
    """COMMENT ON COLUMN v_cost_per_lead.currency IS 'ISO 4217 currency of the spend (the ad account''s).'""",
    """COMMENT ON COLUMN v_cost_per_lead.spend_micros IS 'Spend in millionths of the currency (exact); null when no spend was reported.'""",
    """COMMENT ON COLUMN v_cost_per_lead.spend IS 'spend_micros / 1e6.'""",
    """COMMENT ON COLUMN v_cost_per_lead.leads IS 'Leads created in the period from the campaign.'""",
    """COMMENT ON COLUMN v_cost_per_lead.qualified IS 'People behind those leads who are qualified by now.'""",
    """COMMENT ON COLUMN v_cost_per_lead.cost_per_lead IS 'spend / leads.'""",
    """COMMENT ON COLUMN v_cost_per_lead.cost_per_qualified_lead IS 'spend / qualified.'""",
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
    """COMMENT ON VIEW v_cost_per_lead_monthly IS 'One row per month, platform and campaign with spend or leads'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.month IS 'YYYY-MM: spend days and lead months (UTC).'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.platform IS 'Ad platform; leads join on leads.source.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.campaign_id IS 'Campaign on that platform.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.campaign_name IS 'The campaign''s latest name (campaigns).'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.currency IS 'ISO 4217 currency of the spend (the ad account''s).'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.spend_micros IS 'Spend in millionths of the currency (exact); null when no spend was reported.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.spend IS 'spend_micros / 1e6.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.leads IS 'Leads created in the period from the campaign.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.qualified IS 'People behind those leads who are qualified by now.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.cost_per_lead IS 'spend / leads.'""",
    """COMMENT ON COLUMN v_cost_per_lead_monthly.cost_per_qualified_lead IS 'spend / qualified.'""",
)
