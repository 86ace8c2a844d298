"""The BI views as revision 0014 created them: a frozen snapshot (see ``leadflow.models.bi.views``).

Revision 0014 moved a lead's person out of ``leads`` into ``lead_people``: the funnel and
cost-per-lead views join it. Every other view is revision 0006's, unchanged.

Never edit a released snapshot: migration 0014 carries the statements it rendered, and
``tests/models/bi/test_views.py`` checks that it still renders them.
"""

from __future__ import annotations

from leadflow.models.bi.sql import SqlDialect, View
from leadflow.models.bi.views_0006 import (
    V_COST_PER_LEAD,
    V_COST_PER_LEAD_MONTHLY,
    V_FUNNEL_MONTHLY,
    V_LEAD_VELOCITY,
    V_PEOPLE,
    V_SLA_COMPLIANCE_WEEKLY,
    V_SPEED_TO_LEAD,
    V_SPEED_TO_LEAD_WEEKLY,
    V_TIME_IN_STAGE,
    _ratio,
    _total,
)


def _funnel(d: SqlDialect) -> str:
    return f"""
WITH lead_rows AS (
    SELECT {d.month("l.created_at")} AS month, l.source, l.campaign_id, lp.person_id,
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
    SELECT {d.month("p.qualified_at")}, f.source, f.campaign_id, 0, 0, 0, 0, COUNT(*), 0
    FROM people p JOIN first_lead f ON f.person_id = p.person_id
    WHERE p.qualified_at IS NOT NULL
    GROUP BY {d.month("p.qualified_at")}, f.source, f.campaign_id
    UNION ALL
    SELECT {d.month("s.at")}, f.source, f.campaign_id, 0, 0, 0, 0, 0, COUNT(*)
    FROM sql_at s JOIN first_lead f ON f.person_id = s.person_id
    GROUP BY {d.month("s.at")}, f.source, f.campaign_id
)
SELECT pt.month, pt.source, pt.campaign_id, c.campaign_name,
       {_total("pt.leads")} AS leads, {_total("pt.people")} AS people,
       {_total("pt.qualified")} AS qualified, {_total("pt.sql")} AS sql,
       {_total("pt.cohort_qualified")} AS cohort_qualified,
       {_total("pt.cohort_sql")} AS cohort_sql,
       {_ratio("SUM(pt.cohort_qualified)", "SUM(pt.people)")} AS cohort_qualified_rate,
       {_ratio("SUM(pt.cohort_sql)", "SUM(pt.people)")} AS cohort_sql_rate,
       {_ratio("SUM(pt.qualified)", "SUM(pt.leads)")} AS period_qualified_rate,
       {_ratio("SUM(pt.sql)", "SUM(pt.qualified)")} AS period_sql_rate
FROM parts pt
LEFT JOIN campaigns c ON c.platform = pt.source AND c.campaign_id = pt.campaign_id
GROUP BY pt.month, pt.source, pt.campaign_id, c.campaign_name
"""


def _cost(d: SqlDialect, *, monthly: bool) -> str:
    spend_period = d.month_of_date("s.day") if monthly else "s.day"
    lead_period = d.month("l.created_at") if monthly else d.day("l.created_at")
    period = "month" if monthly else "day"
    extra = "" if monthly else f"{d.month_of_date('pt.period')} AS month, "
    return f"""
WITH spend AS (
    SELECT s.platform, s.campaign_id, {spend_period} AS period, MAX(s.currency) AS currency,
           SUM(s.spend_micros) AS spend_micros
    FROM ad_spend_daily s
    GROUP BY s.platform, s.campaign_id, {spend_period}
),
lead_rows AS (
    SELECT l.source AS platform, l.campaign_id, {lead_period} AS period, COUNT(*) AS leads,
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN lp.person_id END) AS qualified
    FROM leads l
    LEFT JOIN lead_people lp ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id
    LEFT JOIN people p ON p.person_id = lp.person_id
    WHERE NOT l.is_test AND l.campaign_id IS NOT NULL
    GROUP BY l.source, l.campaign_id, {lead_period}
),
parts AS (
    SELECT platform, campaign_id, period, currency, spend_micros, 0 AS leads, 0 AS qualified
    FROM spend
    UNION ALL
    SELECT platform, campaign_id, period, NULL, NULL, leads, qualified FROM lead_rows
)
SELECT pt.period AS {period}, {extra}pt.platform, pt.campaign_id, c.campaign_name,
       COALESCE(MAX(pt.currency), c.currency) AS currency,
       {_total("pt.spend_micros")} AS spend_micros,
       CAST(SUM(pt.spend_micros) AS DOUBLE PRECISION) / 1000000 AS spend,
       {_total("pt.leads")} AS leads, {_total("pt.qualified")} AS qualified,
       {_ratio("SUM(pt.spend_micros)", "SUM(pt.leads)")} / 1000000 AS cost_per_lead,
       {_ratio("SUM(pt.spend_micros)", "SUM(pt.qualified)")} / 1000000
           AS cost_per_qualified_lead
FROM parts pt
LEFT JOIN campaigns c ON c.platform = pt.platform AND c.campaign_id = pt.campaign_id
GROUP BY pt.period, pt.platform, pt.campaign_id, c.campaign_name, c.currency
"""


V_FUNNEL_MONTHLY_0014 = View(
    V_FUNNEL_MONTHLY.name, V_FUNNEL_MONTHLY.grain, V_FUNNEL_MONTHLY.columns, _funnel
)
V_COST_PER_LEAD_0014 = View(
    V_COST_PER_LEAD.name,
    V_COST_PER_LEAD.grain,
    V_COST_PER_LEAD.columns,
    lambda d: _cost(d, monthly=False),
)
V_COST_PER_LEAD_MONTHLY_0014 = View(
    V_COST_PER_LEAD_MONTHLY.name,
    V_COST_PER_LEAD_MONTHLY.grain,
    V_COST_PER_LEAD_MONTHLY.columns,
    lambda d: _cost(d, monthly=True),
)

# Revision 0014's views, in creation order. Frozen: see the module docstring.
VIEWS_0014: tuple[View, ...] = (
    V_PEOPLE,
    V_FUNNEL_MONTHLY_0014,
    V_COST_PER_LEAD_0014,
    V_COST_PER_LEAD_MONTHLY_0014,
    V_SLA_COMPLIANCE_WEEKLY,
    V_SPEED_TO_LEAD,
    V_SPEED_TO_LEAD_WEEKLY,
    V_TIME_IN_STAGE,
    V_LEAD_VELOCITY,
)

# The views revision 0014 replaced (the others did not change): what it drops and creates.
CHANGED_0014: tuple[View, ...] = (
    V_FUNNEL_MONTHLY_0014,
    V_COST_PER_LEAD_0014,
    V_COST_PER_LEAD_MONTHLY_0014,
)
