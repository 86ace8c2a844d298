"""The BI views as revision 0015 created them: a frozen snapshot (see ``leadflow.models.bi.views``).

Revision 0015 rewrote two views for speed; their rows are the same (the view tests and
``tests/models/bi/test_views_0015.py``, which compares them with 0014's on a generated
warehouse, hold that):

- ``v_funnel_monthly`` reads the leads and their people once. Revision 0014's joined leads
  to ``lead_people`` twice (once for the month's counts, once to rank each person's first
  lead) and ``stage_transitions`` twice; each person's first lead is now ranked in the same
  pass as the month's counts. At 200,000 leads on SQLite: 4.6-4.9 s → 2.2 s; 100,000 on
  PostgreSQL: 1.3 s → 0.75 s.
- ``v_sla_compliance_weekly`` counts the evaluations by the columns of revision 0015's
  index ``ix_sla_evaluations_rollups`` (SQLite reads the index alone), then by week, team,
  rep and rule, and looks up each group's rep name and target once, not each evaluation's
  rep. At 200,000 leads on SQLite: 2.5 s → 0.14 s; 100,000 on PostgreSQL: 1.2 s → 0.13 s.

Never edit a released snapshot: migration 0015 carries the statements it rendered, and
``tests/models/bi/test_views.py`` checks that it still renders them.
"""

from __future__ import annotations

from leadflow.models.bi.sql import SqlDialect, View
from leadflow.models.bi.views_0006 import (
    _REP_JOIN,
    _REP_NAME,
    V_FUNNEL_MONTHLY,
    V_LEAD_VELOCITY,
    V_PEOPLE,
    V_SLA_COMPLIANCE_WEEKLY,
    V_SPEED_TO_LEAD,
    V_SPEED_TO_LEAD_WEEKLY,
    V_TIME_IN_STAGE,
    _ratio,
    _target,
    _total,
)
from leadflow.models.bi.views_0014 import V_COST_PER_LEAD_0014, V_COST_PER_LEAD_MONTHLY_0014


def _funnel(d: SqlDialect) -> str:
    # ``ranked`` keeps leads without a person (n counts among them too): the month's counts
    # count those leads, and the first-lead parts need a person (a qualification or an SQL
    # transition has one).
    return f"""
WITH ranked AS (
    SELECT {d.month("l.created_at")} AS month, l.source, l.campaign_id, lp.person_id,
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
    SELECT {d.month("qualified_at")}, source, campaign_id, 0, 0, 0, 0, COUNT(*), 0
    FROM lead_rows
    WHERE n = 1 AND person_id IS NOT NULL AND qualified_at IS NOT NULL
    GROUP BY {d.month("qualified_at")}, source, campaign_id
    UNION ALL
    SELECT {d.month("sql_at")}, source, campaign_id, 0, 0, 0, 0, 0, COUNT(*)
    FROM lead_rows
    WHERE n = 1 AND person_id IS NOT NULL AND sql_at IS NOT NULL
    GROUP BY {d.month("sql_at")}, source, campaign_id
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


def _sla_weekly(d: SqlDialect) -> str:
    # ``groups`` counts by the columns of ix_sla_evaluations_rollups, in its order, so SQLite
    # reads that index alone; a rep is one row of sales_reps (its key is source and rep_id),
    # so grouping by the rep before the join groups as 0006's view did by the rep and name.
    target = f"COALESCE({_target(' AND r.period = e.period_week')}, {_target('')})"
    return f"""
WITH groups AS (
    SELECT rule, status, period_month, period_week, team, rep_id, rep_source, COUNT(*) AS n
    FROM sla_evaluations
    GROUP BY rule, status, period_month, period_week, team, rep_id, rep_source
),
counts AS (
    SELECT period_week, team, rep_source, rep_id, rule, {_total("n")} AS evaluated,
           {_total("CASE WHEN status = 'met' THEN n ELSE 0 END")} AS met,
           {_total("CASE WHEN status = 'breached' THEN n ELSE 0 END")} AS breached,
           {_total("CASE WHEN status = 'pending' THEN n ELSE 0 END")} AS pending
    FROM groups
    GROUP BY period_week, team, rep_source, rep_id, rule
)
SELECT e.period_week AS week, e.team, e.rep_source, e.rep_id, {_REP_NAME} AS rep_name, e.rule,
       e.evaluated, e.met, e.breached, e.pending,
       {_ratio("e.met", "e.met + e.breached", "100.0 * ")} AS percentage,
       {target} AS target
FROM counts e
{_REP_JOIN}
"""


V_FUNNEL_MONTHLY_0015 = View(
    V_FUNNEL_MONTHLY.name, V_FUNNEL_MONTHLY.grain, V_FUNNEL_MONTHLY.columns, _funnel
)
V_SLA_COMPLIANCE_WEEKLY_0015 = View(
    V_SLA_COMPLIANCE_WEEKLY.name,
    V_SLA_COMPLIANCE_WEEKLY.grain,
    V_SLA_COMPLIANCE_WEEKLY.columns,
    _sla_weekly,
)

# Revision 0015's views, in creation order. Frozen: see the module docstring.
VIEWS_0015: tuple[View, ...] = (
    V_PEOPLE,
    V_FUNNEL_MONTHLY_0015,
    V_COST_PER_LEAD_0014,
    V_COST_PER_LEAD_MONTHLY_0014,
    V_SLA_COMPLIANCE_WEEKLY_0015,
    V_SPEED_TO_LEAD,
    V_SPEED_TO_LEAD_WEEKLY,
    V_TIME_IN_STAGE,
    V_LEAD_VELOCITY,
)

# The views revision 0015 replaced (the others did not change): what it drops and creates.
CHANGED_0015: tuple[View, ...] = (V_FUNNEL_MONTHLY_0015, V_SLA_COMPLIANCE_WEEKLY_0015)
