"""The BI views return the hand-computed answers on SQLite and PostgreSQL (same rows).

The warehouse is ``tests/bi_seed.py``; every expected row below is worked out from it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.bi.views import create_statements, current_views, fingerprint
from leadflow.models.bi.views_0006 import VIEWS_0006
from leadflow.models.bi.views_0014 import CHANGED_0014
from leadflow.models.bi.views_0015 import CHANGED_0015
from leadflow.models.warehouse.migrate import MIGRATIONS_DIR
from tests.bi_seed import EMAIL, PHONE, seed

N = None  # a null cell, to keep the tables below aligned


@pytest.fixture
def seeded(migrated_engine: Engine) -> Engine:
    with migrated_engine.begin() as conn:
        seed(conn)
    return migrated_engine


def _plain(value: Any) -> Any:
    """One spelling for both dialects: ISO text for dates and times, rounded floats."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value) >= 19 and value[10] == " ":
        return value[:16]  # SQLite's stored timestamp text
    if isinstance(value, float | Decimal):
        return round(float(value), 4)
    return value


def rows(engine: Engine, view: str, order: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        found = conn.execute(sa.text(f"SELECT * FROM {view} ORDER BY {order}")).all()
    return [tuple(_plain(value) for value in row) for row in found]


def test_funnel_monthly(seeded: Engine) -> None:
    # month, source, campaign, name, leads, people, qualified, sql, cohort q, cohort sql,
    # cohort q rate, cohort sql rate, period q rate, period sql rate
    assert rows(seeded, "v_funnel_monthly", "month, source, campaign_id") == [
        ("2026-09", "google_ads", "g1", "Search", 1, 1, 0, 0, 1, 1, 1.0, 1.0, 0.0, N),
        ("2026-09", "hubspot", N, N, 1, 1, 0, 0, 1, 0, 1.0, 0.0, 0.0, N),
        ("2026-09", "meta", "c1", "Spring", 2, 2, 1, 1, 2, 1, 1.0, 0.5, 0.5, 1.0),
        ("2026-10", "google_ads", "g1", "Search", 1, 1, 1, 1, 1, 1, 1.0, 1.0, 1.0, 1.0),
        ("2026-10", "meta", "c1", "Spring", 1, 1, 1, 0, 0, 0, 0.0, 0.0, 1.0, 0.0),
    ]


def test_cost_per_lead_daily(seeded: Engine) -> None:
    # day, month, platform, campaign, name, currency, micros, spend, leads, qualified, cpl, cpql
    assert rows(seeded, "v_cost_per_lead", "day, platform") == [
        (
            "2026-09-01",
            "2026-09",
            "meta",
            "c1",
            "Spring",
            "USD",
            100_500_000,
            100.5,
            2,
            2,
            50.25,
            50.25,
        ),
        (
            "2026-09-02",
            "2026-09",
            "google_ads",
            "g1",
            "Search",
            "EUR",
            30_000_000,
            30.0,
            1,
            1,
            30.0,
            30.0,
        ),
        ("2026-09-02", "2026-09", "meta", "c1", "Spring", "USD", 50_000_000, 50.0, 0, 0, N, N),
        ("2026-10-03", "2026-10", "meta", "c1", "Spring", "USD", N, N, 1, 0, N, N),
        (
            "2026-10-10",
            "2026-10",
            "google_ads",
            "g1",
            "Search",
            "EUR",
            20_000_000,
            20.0,
            1,
            1,
            20.0,
            20.0,
        ),
    ]


def test_cost_per_lead_monthly(seeded: Engine) -> None:
    assert rows(seeded, "v_cost_per_lead_monthly", "month, platform") == [
        ("2026-09", "google_ads", "g1", "Search", "EUR", 30_000_000, 30.0, 1, 1, 30.0, 30.0),
        ("2026-09", "meta", "c1", "Spring", "USD", 150_500_000, 150.5, 2, 2, 75.25, 75.25),
        ("2026-10", "google_ads", "g1", "Search", "EUR", 20_000_000, 20.0, 1, 1, 20.0, 20.0),
        ("2026-10", "meta", "c1", "Spring", "USD", N, N, 1, 0, N, N),
    ]


def test_sla_compliance_weekly(seeded: Engine) -> None:
    # week, team, rep source, rep, name, rule, evaluated, met, breached, pending, %, target
    assert rows(seeded, "v_sla_compliance_weekly", "week, team, rule") == [
        ("2026-W37", "east", "hubspot", "r1", "Ann Lee", "first_touch", 1, 1, 0, 0, 100.0, 90.0),
        ("2026-W37", "east", "hubspot", "r1", "Ann Lee", "touch_attempts", 1, 1, 0, 0, 100.0, N),
        ("2026-W41", "east", "hubspot", "r1", "Ann Lee", "accept_reject", 1, 0, 1, 0, 0.0, N),
        ("2026-W41", "east", "hubspot", "r1", "Ann Lee", "first_touch", 4, 2, 1, 1, 66.6667, 80.0),
        ("2026-W43", "west", "hubspot", "r2", "Bo Chen", "first_touch", 1, 0, 0, 1, N, 80.0),
    ]


def test_speed_to_lead(seeded: Engine) -> None:
    found = rows(seeded, "v_speed_to_lead", "qualified_at")
    assert [row[:8] for row in found] == [
        ("P1", "h1", "2026-09-10 10:00", "2026-09-10 10:30", 30.0, 30.0, "met", N),
        ("P2", "h2", "2026-10-05 00:00", "2026-10-05 15:00", 360.0, 900.0, "breached", N),
        ("P3", "h3", "2026-10-06 00:00", "2026-10-06 01:00", 60.0, 60.0, "met", N),
        ("P5", N, "2026-10-07 00:00", "2026-10-08 01:00", 120.0, 1500.0, "met", N),
        ("P6", N, "2026-10-08 00:00", N, N, N, "pending", N),
        ("P4", "h4", "2026-10-20 00:00", N, N, N, "pending", N),
    ]
    assert found[0][8:] == ("east", "hubspot", "r1", "Ann Lee", "2026-W37", "2026-09")


def test_speed_to_lead_weekly_percentiles(seeded: Engine) -> None:
    # W41 east, touched: business 60, 120, 360 and wall 60, 900, 1500 (nearest rank).
    assert rows(seeded, "v_speed_to_lead_weekly", "week, team") == [
        ("2026-W37", "east", 1, 1, 30.0, 30.0, 30.0, 30.0),
        ("2026-W41", "east", 4, 3, 120.0, 360.0, 900.0, 1500.0),
        ("2026-W43", "west", 1, 0, N, N, N, N),
    ]


def test_time_in_stage(seeded: Engine) -> None:
    found = rows(seeded, "v_time_in_stage", "person_id, entered_at")
    by_person = [row for row in found if row[0] in ("P1", "P4")]
    assert by_person == [
        (
            "P1",
            "h1",
            "lead",
            "cold",
            "2026-09-01 09:00",
            "2026-09-10 10:00",
            "mql",
            13020.0,
            9.0417,
        ),
        (
            "P1",
            "h1",
            "mql",
            "qualified",
            "2026-09-10 10:00",
            "2026-09-12 10:00",
            "sql",
            2880.0,
            2.0,
        ),
        ("P1", "h1", "sql", "qualified", "2026-09-12 10:00", N, N, N, N),
        ("P4", "h4", "lead", "cold", "2026-10-10 00:00", "2026-10-20 00:00", "mql", 14400.0, 10.0),
        (
            "P4",
            "h4",
            "mql",
            "qualified",
            "2026-10-20 00:00",
            "2026-10-21 00:00",
            "sql",
            1440.0,
            1.0,
        ),
        (
            "P4",
            "h4",
            "sql",
            "qualified",
            "2026-10-21 00:00",
            "2026-10-25 00:00",
            "nurture",
            5760.0,
            4.0,
        ),
        ("P4", "h4", "nurture", "qualified", "2026-10-25 00:00", N, N, N, N),
    ]
    assert len(found) == 10


def test_lead_velocity(seeded: Engine) -> None:
    # Qualified: P5 in July, P1 in September, P2 and P4 in October (months up to now).
    assert rows(seeded, "v_lead_velocity", "month")[:5] == [
        ("2026-07", 1, 0, N),
        ("2026-08", 0, 1, -100.0),
        ("2026-09", 1, 0, N),
        ("2026-10", 2, 1, 100.0),
        ("2026-11", 0, 2, -100.0),
    ]


def test_views_have_their_documented_columns(seeded: Engine) -> None:
    with seeded.connect() as conn:
        for view in current_views():
            result = conn.execute(sa.text(f"SELECT * FROM {view.name}"))
            assert list(result.keys()) == list(view.columns), view.name


CONTACT_COLUMNS = {"email", "email_match_key", "phone", "first_name", "last_name", "raw"}


def test_views_show_no_contact_data(seeded: Engine) -> None:
    with seeded.connect() as conn:
        for view in current_views():
            assert not CONTACT_COLUMNS & set(view.columns), view.name
            cells = {
                str(v) for row in conn.execute(sa.text(f"SELECT * FROM {view.name}")) for v in row
            }
            assert not {cell for cell in cells if EMAIL in cell or PHONE in cell}, view.name


def test_views_are_listed_by_the_database(seeded: Engine) -> None:
    names = set(sa.inspect(seeded).get_view_names())
    assert names == {view.name for view in current_views()}


@pytest.mark.parametrize(
    "warehouse_url",
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_postgresql_documents_the_views(seeded: Engine) -> None:
    inspector = sa.inspect(seeded)
    for view in current_views():
        comments = {c["name"]: c["comment"] for c in inspector.get_columns(view.name)}
        assert comments == view.columns
        assert inspector.get_table_comment(view.name)["text"].startswith("One row per")


@pytest.mark.parametrize(
    ("migration", "views"),
    [("0006_bi_views.py", VIEWS_0006), ("0014_lead_people.py", CHANGED_0014),
     ("0015_faster_views.py", CHANGED_0015)],
)  # fmt: skip
def test_released_snapshot_matches_its_migration(migration: str, views: tuple) -> None:
    text = (MIGRATIONS_DIR / "versions" / migration).read_text(encoding="utf-8")
    assert f'VIEWS_FINGERPRINT = "{fingerprint(views)}"' in text


def test_view_sql_has_no_bind_parameter_lookalikes() -> None:
    # op.execute() wraps the text in sa.text(), where ":name" would be a bind parameter.
    for dialect in ("sqlite", "postgresql"):
        for statement in create_statements(current_views(), dialect):
            assert not re.search(r"(?<![:\w]):\w", statement), statement[:80]
