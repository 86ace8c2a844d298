"""A small warehouse for the BI views and the report, with answers computed by hand.

Four people with leads (P1..P4), two more with SLA evaluations only (P5, P6); meta and
google_ads campaigns with spend; two reps on two teams. ``tests/models/test_views.py``
lists what each view must return for exactly these rows.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.warehouse.tables import (
    ad_spend_daily,
    campaigns,
    lead_people,
    leads,
    people,
    sales_reps,
    sla_evaluations,
    sla_results,
    stage_transitions,
)

EMAIL = "ann.example@acme-widgets.com"
PHONE = "+14155550123"


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


T0 = at(11, 1)


def _people() -> list[dict[str, Any]]:
    rows = [
        ("P1", at(9, 10, 10), "sql", "h1", EMAIL, PHONE),
        ("P2", at(10, 5), "mql", "h2", "bo@beta.test", None),
        ("P3", None, "lead", "h3", "cy@gamma.test", None),
        ("P4", at(10, 20), "nurture", "h4", "di@delta.test", None),
        ("P5", at(7, 15), "mql", None, None, None),
        ("P6", None, "lead", None, None, None),
    ]
    return [
        {"person_id": pid, "qualified_at": qualified, "lifecycle": lifecycle}
        | {"email_hash": email_hash, "email": email, "email_match_key": email, "phone": phone}
        | {"stage": "qualified" if qualified else "cold", "created_at": T0, "updated_at": T0}
        for pid, qualified, lifecycle, email_hash, email, phone in rows
    ]


def _leads() -> list[dict[str, Any]]:
    rows = [
        ("L1", "meta", "c1", at(9, 1, 9), "P1", False),
        ("L2", "meta", "c1", at(9, 1, 15), "P2", False),
        ("L3", "google_ads", "g1", at(9, 2, 12), "P1", False),
        ("L4", "meta", "c1", at(10, 3, 8), "P3", False),
        ("L5", "meta", "c1", at(10, 4, 8), "P3", True),
        ("L6", "google_ads", "g1", at(10, 10, 8), "P4", False),
        ("L7", "hubspot", None, at(9, 15, 8), "P2", False),
    ]
    return [
        {"source": source, "source_lead_id": lead_id, "account_id": "acct", "campaign_id": cid}
        | {"created_at": created, "updated_at": created, "person_id": pid, "is_test": test}
        | {"email": EMAIL if pid == "P1" else None, "phone": PHONE if pid == "P1" else None}
        | {"custom_fields": {}, "raw": {"email": EMAIL} if pid == "P1" else {}}
        | {"row_hash": "x" * 64, "first_loaded_at": T0, "last_changed_at": T0}
        for lead_id, source, cid, created, pid, test in rows
    ]


def _lead_people() -> list[dict[str, Any]]:
    """Each real lead's person (identity resolution leaves test leads without one)."""
    keys = ("source", "source_lead_id", "person_id")
    return [{k: lead[k] for k in keys} for lead in _leads() if not lead["is_test"]]


def _transitions() -> list[dict[str, Any]]:
    rows = [
        ("P1", "lead", at(9, 1, 9)),
        ("P1", "mql", at(9, 10, 10)),
        ("P1", "sql", at(9, 12, 10)),
        ("P2", "lead", at(9, 1, 15)),
        ("P2", "mql", at(10, 5)),
        ("P3", "lead", at(10, 3, 8)),
        ("P4", "lead", at(10, 10)),
        ("P4", "mql", at(10, 20)),
        ("P4", "sql", at(10, 21)),
        ("P4", "nurture", at(10, 25)),
    ]
    stage = {"lead": "cold", "mql": "qualified", "sql": "qualified", "nurture": "qualified"}
    return [
        {"person_id": pid, "to_lifecycle": lifecycle, "to_stage": stage[lifecycle], "at": when}
        | {"reasons": [], "run_id": "r", "recorded_at": T0}
        for pid, lifecycle, when in rows
    ]


def _spend() -> list[dict[str, Any]]:
    rows = [
        ("meta", "act1", "c1", date(2026, 9, 1), 100_500_000, "USD"),
        ("meta", "act1", "c1", date(2026, 9, 2), 50_000_000, "USD"),
        ("google_ads", "g-1", "g1", date(2026, 9, 2), 30_000_000, "EUR"),
        ("google_ads", "g-1", "g1", date(2026, 10, 10), 20_000_000, "EUR"),
    ]
    return [
        {"platform": p, "account_id": a, "campaign_id": c, "day": d, "spend_micros": micros}
        | {"spend": micros / 1e6, "currency": cur, "impressions": 0, "clicks": 0}
        | {"row_hash": "x" * 64, "first_loaded_at": T0, "last_changed_at": T0}
        for p, a, c, d, micros, cur in rows
    ]


def _evaluations() -> list[dict[str, Any]]:
    week = {9: "2026-W37", 10: "2026-W41"}
    rows = [  # rule, person, clock start, event, business, wall, status, team, rep
        ("first_touch", "P1", at(9, 10, 10), at(9, 10, 10, 30), 30, 30, "met", "east", "r1"),
        ("touch_attempts", "P1", at(9, 10, 10), at(9, 11), 60, 840, "met", "east", "r1"),
        ("first_touch", "P2", at(10, 5), at(10, 5, 15), 360, 900, "breached", "east", "r1"),
        ("accept_reject", "P2", at(10, 5), None, 2000, 2000, "breached", "east", "r1"),
        ("first_touch", "P3", at(10, 6), at(10, 6, 1), 60, 60, "met", "east", "r1"),
        ("first_touch", "P5", at(10, 7), at(10, 8, 1), 120, 1500, "met", "east", "r1"),
        ("first_touch", "P6", at(10, 8), None, 30, 30, "pending", "east", "r1"),
        ("first_touch", "P4", at(10, 20), None, 100, 100, "pending", "west", "r2"),
    ]
    return [
        {"rule": rule, "person_id": pid, "clock_start": start, "event_at": event}
        | {"business_minutes": bm, "wall_minutes": wm, "status": status, "team": team}
        | {"rep_id": rep, "rep_source": "hubspot", "severity": "critical", "run_id": "r"}
        | {"period_month": f"2026-{start.month:02d}", "period_week": week.get(start.month)}
        | {"first_evaluated_at": T0, "evaluated_at": T0}
        | ({"period_week": "2026-W43"} if start.day == 20 else {})
        for rule, pid, start, event, bm, wm, status, team, rep in rows
    ]


def _results() -> list[dict[str, Any]]:
    rows = [("2026-W37", "week", 90.0, at(9, 20)), ("2026-09", "month", 80.0, at(10, 1))]
    return [
        {"run_id": f"run-{period}", "rule": "first_touch", "period": period, "target": target}
        | {"group_key": "overall", "period_kind": kind, "scope": "overall", "numerator": 1}
        | {"denominator": 1, "pending": 0, "percentage": 100.0, "status": "passed"}
        | {"severity": "critical", "evaluated_at": evaluated}
        for period, kind, target, evaluated in rows
    ]


def _reps() -> list[dict[str, Any]]:
    return [
        {"source": "hubspot", "rep_id": rep, "first_name": first, "last_name": last}
        | {"team": team, "archived": False, "updated_at": T0, "raw": {}, "row_hash": "x" * 64}
        | {"first_loaded_at": T0, "last_changed_at": T0, "email": f"{rep}@seller.test"}
        for rep, first, last, team in [("r1", "Ann", "Lee", "east"), ("r2", "Bo", "Chen", "west")]
    ]


def _campaigns() -> list[dict[str, Any]]:
    return [
        {"platform": "meta", "campaign_id": "c1", "campaign_name": "Spring", "currency": "USD"}
        | {"first_seen_at": T0, "updated_at": T0},
        {"platform": "google_ads", "campaign_id": "g1", "campaign_name": "Search"}
        | {"currency": "EUR", "first_seen_at": T0, "updated_at": T0},
    ]


def seed(conn: Connection) -> None:
    """Insert the sample rows (into a freshly migrated warehouse)."""
    for table, rows in [
        (people, _people()),
        (leads, [{k: v for k, v in lead.items() if k != "person_id"} for lead in _leads()]),
        (lead_people, _lead_people()),
        (stage_transitions, _transitions()),
        (campaigns, _campaigns()),
        (ad_spend_daily, _spend()),
        (sales_reps, _reps()),
        (sla_evaluations, _evaluations()),
        (sla_results, _results()),
    ]:
        conn.execute(sa.insert(table), rows)


def traces(conn: Connection, needles: list[str]) -> list[tuple[str, str]]:
    """(table, column) of every cell, in every table, whose text contains one of ``needles``
    (case-insensitive; JSON is searched as its text)."""
    from leadflow.models.warehouse.tables import metadata

    wanted = [needle.lower() for needle in needles]
    found = []
    for table in metadata.sorted_tables:
        for row in conn.execute(sa.select(table)).mappings():
            for column, value in row.items():
                text = json.dumps(value, default=str) if not isinstance(value, str) else value
                if any(needle in text.lower() for needle in wanted):
                    found.append((table.name, column))
    return found
