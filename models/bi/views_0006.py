"""The BI views as revision 0006 created them: a frozen snapshot (see ``leadflow.models.bi.views``).

Never edit a released snapshot: migration 0006 carries the statements it rendered, and
``tests/models/bi/test_views.py`` checks that it still renders them. Copy a view into a new
snapshot module with a new migration instead.
"""

from __future__ import annotations

from leadflow.models.bi.sql import SqlDialect, View


def _ratio(numerator: str, denominator: str, scale: str = "") -> str:
    return f"{scale}CAST({numerator} AS DOUBLE PRECISION) / NULLIF({denominator}, 0)"


def _total(expr: str) -> str:
    """SUM as a whole number on both dialects (PostgreSQL's SUM(bigint) is numeric)."""
    return f"CAST(SUM({expr}) AS BIGINT)"


def _count_if(condition: str) -> str:
    return _total(f"CASE WHEN {condition} THEN 1 ELSE 0 END")


_REP_NAME = "NULLIF(TRIM(COALESCE(sr.first_name, '') || ' ' || COALESCE(sr.last_name, '')), '')"
_REP_JOIN = "LEFT JOIN sales_reps sr ON sr.source = e.rep_source AND sr.rep_id = e.rep_id"


def _people(d: SqlDialect) -> str:
    return """
SELECT p.person_id, p.email_hash, p.stage, p.lifecycle, p.raw_stage, p.fit, p.engagement,
       p.job_title, p.company, p.country, p.qualified_at, p.lifecycle_at, p.created_at,
       p.classified_at
FROM people p
"""


V_PEOPLE = View(
    "v_people",
    "one row per person (people without contact fields)",
    {
        "person_id": "The person (people.person_id).",
        "email_hash": "Salted SHA-256 of the person's email match key; null without one.",
        "stage": "cold, warm or qualified.",
        "lifecycle": "lead, engaged, mql, sql or nurture.",
        "raw_stage": "The source system's own stage of the latest staged lead.",
        "fit": "Fit score (ideal customer profile).",
        "engagement": "Engagement score with decay.",
        "job_title": "Job title.",
        "company": "Company.",
        "country": "Country.",
        "qualified_at": "When the person first qualified (MQL), UTC.",
        "lifecycle_at": "When the current lifecycle stage was entered, UTC.",
        "created_at": "When leadflow first resolved the person, UTC.",
        "classified_at": "When leadflow last classified the person, UTC.",
    },
    _people,
)


def _funnel(d: SqlDialect) -> str:
    return f"""
WITH lead_rows AS (
    SELECT {d.month("l.created_at")} AS month, l.source, l.campaign_id, l.person_id,
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


V_FUNNEL_MONTHLY = View(
    "v_funnel_monthly",
    "one row per month (UTC), source platform and campaign",
    {
        "month": "YYYY-MM (UTC).",
        "source": "Platform of the leads (leads.source).",
        "campaign_id": "Campaign on that platform; null for leads without one.",
        "campaign_name": "The campaign's latest name (campaigns).",
        "leads": "Leads created in the month.",
        "people": "Distinct people behind those leads.",
        "qualified": "People who qualified (MQL) in the month, credited to their first lead's "
        "source and campaign.",
        "sql": "People who first became sales-qualified (sql) in the month, credited the same.",
        "cohort_qualified": "Of the people behind the month's leads, how many qualified by now.",
        "cohort_sql": "Of the people behind the month's leads, how many ever reached sql.",
        "cohort_qualified_rate": "cohort_qualified / people.",
        "cohort_sql_rate": "cohort_sql / people.",
        "period_qualified_rate": "qualified / leads, both in the month.",
        "period_sql_rate": "sql / qualified, both in the month.",
    },
    _funnel,
)


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
           COUNT(DISTINCT CASE WHEN p.qualified_at IS NOT NULL THEN l.person_id END) AS qualified
    FROM leads l
    LEFT JOIN people p ON p.person_id = l.person_id
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


def _cost_columns(period: str) -> dict[str, str]:
    first = (
        {"month": "YYYY-MM: spend days and lead months (UTC)."}
        if period == "month"
        else {
            "day": "Spend day (the ad account's) and lead creation day (UTC).",
            "month": "YYYY-MM of day.",
        }
    )
    return first | {
        "platform": "Ad platform; leads join on leads.source.",
        "campaign_id": "Campaign on that platform.",
        "campaign_name": "The campaign's latest name (campaigns).",
        "currency": "ISO 4217 currency of the spend (the ad account's).",
        "spend_micros": "Spend in millionths of the currency (exact); null when no spend "
        "was reported.",
        "spend": "spend_micros / 1e6.",
        "leads": "Leads created in the period from the campaign.",
        "qualified": "People behind those leads who are qualified by now.",
        "cost_per_lead": "spend / leads.",
        "cost_per_qualified_lead": "spend / qualified.",
    }


V_COST_PER_LEAD = View(
    "v_cost_per_lead",
    "one row per day, platform and campaign with spend or leads",
    _cost_columns("day"),
    lambda d: _cost(d, monthly=False),
)
V_COST_PER_LEAD_MONTHLY = View(
    "v_cost_per_lead_monthly",
    "one row per month, platform and campaign with spend or leads",
    _cost_columns("month"),
    lambda d: _cost(d, monthly=True),
)


def _target(condition: str) -> str:
    return (
        "(SELECT r.target FROM sla_results r WHERE r.rule = e.rule"
        f"{condition} ORDER BY r.evaluated_at DESC, r.run_id DESC LIMIT 1)"
    )


def _sla_weekly(d: SqlDialect) -> str:
    met, breached = _count_if("e.status = 'met'"), _count_if("e.status = 'breached'")
    target = f"COALESCE({_target(' AND r.period = e.period_week')}, {_target('')})"
    return f"""
SELECT e.period_week AS week, e.team, e.rep_source, e.rep_id, {_REP_NAME} AS rep_name, e.rule,
       CAST(COUNT(*) AS BIGINT) AS evaluated, {met} AS met, {breached} AS breached,
       {_count_if("e.status = 'pending'")} AS pending,
       {_ratio(met, f"{met} + {breached}", "100.0 * ")} AS percentage,
       {target} AS target
FROM sla_evaluations e
{_REP_JOIN}
GROUP BY e.period_week, e.team, e.rep_source, e.rep_id, sr.first_name, sr.last_name, e.rule
"""


V_SLA_COMPLIANCE_WEEKLY = View(
    "v_sla_compliance_weekly",
    "one row per ISO week, team, rep and SLA rule",
    {
        "week": "ISO week of the SLA clock start in the team's time zone (YYYY-Www).",
        "team": "Sales team, or 'unassigned'.",
        "rep_source": "Platform of the rep (sales_reps.source); null when unassigned.",
        "rep_id": "The rep (sales_reps.rep_id); null when unassigned.",
        "rep_name": "The rep's name.",
        "rule": "SLA rule (first_touch, touch_attempts, accept_reject, icp_fit, sales_acceptance).",
        "evaluated": "Evaluations.",
        "met": "Evaluations met.",
        "breached": "Evaluations breached.",
        "pending": "Evaluations whose deadline has not passed.",
        "percentage": "100 * met / (met + breached).",
        "target": "Target percentage of the rule (sla_results: the week's, else the latest).",
    },
    _sla_weekly,
)


def _speed(d: SqlDialect) -> str:
    return f"""
SELECT e.person_id, p.email_hash, e.clock_start AS qualified_at, e.event_at AS first_touch_at,
       CASE WHEN e.event_at IS NOT NULL THEN e.business_minutes END AS business_minutes,
       CASE WHEN e.event_at IS NOT NULL THEN e.wall_minutes END AS wall_minutes,
       e.status, e.due_at, e.team, e.rep_source, e.rep_id, {_REP_NAME} AS rep_name,
       e.period_week AS week, e.period_month AS month
FROM sla_evaluations e
LEFT JOIN people p ON p.person_id = e.person_id
{_REP_JOIN}
WHERE e.rule = 'first_touch'
"""


V_SPEED_TO_LEAD = View(
    "v_speed_to_lead",
    "one row per qualification of a person (first_touch evaluations)",
    {
        "person_id": "The qualified person.",
        "email_hash": "Salted SHA-256 of the person's email match key.",
        "qualified_at": "When the SLA clock started (qualification), UTC.",
        "first_touch_at": "First outbound sales touch after it, UTC; null while none.",
        "business_minutes": "Business minutes to the first touch; null while none.",
        "wall_minutes": "Wall-clock minutes to the first touch; null while none.",
        "status": "met, breached or pending.",
        "due_at": "First-touch deadline, UTC.",
        "team": "Sales team, or 'unassigned'.",
        "rep_source": "Platform of the rep.",
        "rep_id": "The responsible rep.",
        "rep_name": "The rep's name.",
        "week": "ISO week of qualified_at in the team's time zone (YYYY-Www).",
        "month": "Month of qualified_at in the team's time zone (YYYY-MM).",
    },
    _speed,
)


def _rank_pick(percent: int, rank: str, value: str) -> str:
    return f"MAX(CASE WHEN {rank} = ({percent} * n + 99) / 100 THEN {value} END)"


def _speed_weekly(d: SqlDialect) -> str:
    window = "PARTITION BY period_week, team"
    return f"""
WITH touched AS (
    SELECT period_week, team, business_minutes, wall_minutes,
           ROW_NUMBER() OVER ({window} ORDER BY business_minutes) AS business_rank,
           ROW_NUMBER() OVER ({window} ORDER BY wall_minutes) AS wall_rank,
           COUNT(*) OVER ({window}) AS n
    FROM sla_evaluations
    WHERE rule = 'first_touch' AND event_at IS NOT NULL
      AND business_minutes IS NOT NULL AND wall_minutes IS NOT NULL
),
picked AS (
    SELECT period_week, team, MAX(n) AS touched,
           {_rank_pick(50, "business_rank", "business_minutes")} AS p50_business_minutes,
           {_rank_pick(90, "business_rank", "business_minutes")} AS p90_business_minutes,
           {_rank_pick(50, "wall_rank", "wall_minutes")} AS p50_wall_minutes,
           {_rank_pick(90, "wall_rank", "wall_minutes")} AS p90_wall_minutes
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
LEFT JOIN picked p ON p.period_week = t.period_week AND p.team = t.team
"""


V_SPEED_TO_LEAD_WEEKLY = View(
    "v_speed_to_lead_weekly",
    "one row per ISO week and team",
    {
        "week": "ISO week of the qualification in the team's time zone (YYYY-Www).",
        "team": "Sales team, or 'unassigned'.",
        "qualified": "Qualifications (first_touch evaluations).",
        "touched": "Of those, touched so far.",
        "p50_business_minutes": "Median business minutes to the first touch (nearest rank).",
        "p90_business_minutes": "90th percentile of business minutes (nearest rank).",
        "p50_wall_minutes": "Median wall-clock minutes to the first touch (nearest rank).",
        "p90_wall_minutes": "90th percentile of wall-clock minutes (nearest rank).",
    },
    _speed_weekly,
)


def _time_in_stage(d: SqlDialect) -> str:
    window = "PARTITION BY t.person_id ORDER BY t.at, t.id"
    minutes = d.minutes_between("o.entered_at", "o.exited_at")
    return f"""
WITH ordered AS (
    SELECT t.person_id, t.to_lifecycle AS lifecycle, t.to_stage AS stage, t.at AS entered_at,
           LEAD(t.at) OVER ({window}) AS exited_at,
           LEAD(t.to_lifecycle) OVER ({window}) AS next_lifecycle
    FROM stage_transitions t
)
SELECT o.person_id, p.email_hash, o.lifecycle, o.stage, o.entered_at, o.exited_at,
       o.next_lifecycle,
       CASE WHEN o.exited_at IS NOT NULL THEN {minutes} END AS duration_minutes,
       CASE WHEN o.exited_at IS NOT NULL THEN {minutes} / 1440 END AS duration_days
FROM ordered o
LEFT JOIN people p ON p.person_id = o.person_id
"""


V_TIME_IN_STAGE = View(
    "v_time_in_stage",
    "one row per stage a person entered (stage_transitions)",
    {
        "person_id": "The person.",
        "email_hash": "Salted SHA-256 of the person's email match key.",
        "lifecycle": "Lifecycle stage entered (lead, engaged, mql, sql, nurture).",
        "stage": "Canonical stage at the same time (cold, warm, qualified).",
        "entered_at": "When the person entered it, UTC.",
        "exited_at": "When the person moved on, UTC; null while still in it.",
        "next_lifecycle": "The lifecycle stage that followed; null while still in it.",
        "duration_minutes": "Minutes in the stage; null while still in it.",
        "duration_days": "duration_minutes / 1440.",
    },
    _time_in_stage,
)


def _velocity(d: SqlDialect) -> str:
    return f"""
WITH q AS (
    SELECT {d.month("qualified_at")} AS month, COUNT(*) AS qualified
    FROM people WHERE qualified_at IS NOT NULL
    GROUP BY {d.month("qualified_at")}
),
months AS (
    SELECT month FROM q
    UNION
    SELECT {d.add_months("month", 1)} FROM q
)
SELECT m.month, CAST(COALESCE(q.qualified, 0) AS BIGINT) AS qualified,
       CAST(COALESCE(prev.qualified, 0) AS BIGINT) AS previous_month_qualified,
       {_ratio("COALESCE(q.qualified, 0) - prev.qualified", "prev.qualified", "100.0 * ")}
           AS lead_velocity_rate
FROM months m
LEFT JOIN q ON q.month = m.month
LEFT JOIN q prev ON prev.month = {d.add_months("m.month", -1)}
WHERE m.month <= {d.month("CURRENT_TIMESTAMP")}
"""


V_LEAD_VELOCITY = View(
    "v_lead_velocity",
    "one row per month (UTC) with qualified people in it or in the month before",
    {
        "month": "YYYY-MM (UTC).",
        "qualified": "People who first qualified (MQL) in the month.",
        "previous_month_qualified": "The same for the month before.",
        "lead_velocity_rate": "100 * (qualified - previous_month_qualified) / "
        "previous_month_qualified: month-over-month growth of qualified leads.",
    },
    _velocity,
)

# Revision 0006's views, in creation order. Frozen: see the module docstring.
VIEWS_0006: tuple[View, ...] = (
    V_PEOPLE,
    V_FUNNEL_MONTHLY,
    V_COST_PER_LEAD,
    V_COST_PER_LEAD_MONTHLY,
    V_SLA_COMPLIANCE_WEEKLY,
    V_SPEED_TO_LEAD,
    V_SPEED_TO_LEAD_WEEKLY,
    V_TIME_IN_STAGE,
    V_LEAD_VELOCITY,
)
