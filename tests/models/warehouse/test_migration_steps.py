"""Each migration step: downgrading one removes exactly what it added, upgrading again
restores it with the rows kept, and its comments and foreign keys are in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.lead_tables import campaigns, leads
from leadflow.models.warehouse.migrate import alembic_config, current_revision, upgrade
from leadflow.models.warehouse.tables import metadata
from tests.models.warehouse.schema_check import HEAD, ONLY_POSTGRESQL, TABLES, describe, schema_diff

ACTIVITY_TABLES = {"engagement_events", "sales_touches", "sales_reps"}
PEOPLE_STAGES_TABLES = {"person_merges", "stage_transitions"}
SLA_TABLES = {"sla_evaluations", "sla_results"}
BI_TABLES = {"suppression_list"}
STATE_TABLES = {"step_state"}  # 0007
ID_MAP_TABLES = {"person_id_map", "person_milestones"}  # 0009
NARROW_TABLES = {"lead_people", "email_people"}  # 0014
INBOX_TABLES = {"intake_inbox", "writebacks", "crm_status_changes", "sales_decisions"}
# What 0011, 0012 and 0013 add, as schema_diff reports it missing.
INBOX_DIFF = [
    ("add_index", "crm_status_changes", "ix_crm_status_changes_source_lead_id_occurred_at"),
    ("add_table", "crm_status_changes", None),
    ("add_table", "sales_decisions", None),
    ("add_index", "intake_inbox", "ix_intake_inbox_status"),
    ("add_table", "intake_inbox", None),
    ("add_index", "writebacks", "ix_writebacks_person_id"),
    ("add_index", "writebacks", "ix_writebacks_status"),
    ("add_table", "writebacks", None),
]


def _narrow_diff(*, events: bool) -> list[tuple[str, str, str | None]]:
    """What 0014 changes, as schema_diff reports it: the narrow person tables missing, the
    person_id columns of leads and (from 0003) engagement_events still there."""
    diff: list[tuple[str, str, str | None]] = [
        ("add_index", "email_people", "ix_email_people_person_id"),
        ("add_index", "lead_people", "ix_lead_people_person_id"),
        ("add_table", "email_people", None),
        ("add_table", "lead_people", None),
    ]
    for table in ("leads", "engagement_events") if events else ("leads",):
        diff += [
            ("remove_column", table, "person_id"),
            ("remove_fk", table, f"fk_{table}_person_id_people"),
            ("remove_index", table, f"ix_{table}_person_id"),
        ]
    return diff


def test_downgrade_0002_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    assert current_revision(migrated_engine) == "0001"
    # Exactly what 0002 adds is missing (so leads kept its indexes through batch mode).
    assert sorted(describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [
            *_people_stages_diff(migrated_engine),
            *ADD_0002_DIFF,
            *ACTIVITY_DIFF,
            *SLA_DIFF,
            *BI_DIFF,
            *STATE_DIFF,
            *COUNTS_DIFF,
            *_id_map_diff(migrated_engine, merges=False),
            *_contact_diff(migrated_engine, merges=False),
            *INBOX_DIFF,
            *_narrow_diff(events=False),
        ]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


# What 0002 adds, as schema_diff reports it missing.
ADD_0002_DIFF = [
    ("add_column", "leads", "utm_campaign"),
    ("add_column", "leads", "utm_content"),
    ("add_column", "leads", "utm_medium"),
    ("add_column", "leads", "utm_source"),
    ("add_column", "leads", "utm_term"),
    ("add_column", "sync_runs", "warnings"),
    ("add_index", "ad_spend_daily", "ix_ad_spend_daily_platform_campaign_id_day"),
    ("add_table", "ad_spend_daily", None),
    ("add_table", "campaigns", None),
]


# What 0005 adds, as schema_diff reports it missing.
SLA_DIFF = [
    ("add_index", "sla_evaluations", "ix_sla_evaluations_period_month"),
    ("add_index", "sla_evaluations", "ix_sla_evaluations_period_week"),
    ("add_index", "sla_evaluations", "ix_sla_evaluations_person_id"),
    ("add_index", "sla_evaluations", "ix_sla_evaluations_rollups"),  # (rule, status) until 0015
    ("add_index", "sla_results", "ix_sla_results_rule_period"),
    ("add_table", "sla_evaluations", None),
    ("add_table", "sla_results", None),
]


# What 0015 changes on a warehouse that has the SLA tables (0005 to 0014).
ROLLUP_INDEX_DIFF = [
    ("add_index", "sla_evaluations", "ix_sla_evaluations_rollups"),
    ("remove_index", "sla_evaluations", "ix_sla_evaluations_rule_status"),
]


# What 0016 changes on a warehouse that has stage_transitions (0004 to 0015).
TRANSITIONS_INDEX_DIFF = [("remove_index", "stage_transitions", "ix_stage_transitions_person_id")]


# What 0007 adds, as schema_diff reports it missing.
STATE_DIFF = [("add_table", "step_state", None)]

# What 0008 adds, as schema_diff reports it missing.
COUNTS_DIFF = [
    ("add_column", "sync_runs", "duplicates"),
    ("add_column", "sync_runs", "suppressed"),
]


def _id_map_diff(engine: Engine, merges: bool = True) -> list[tuple[str, str, str | None]]:
    """What 0009 adds, as schema_diff reports it missing (a comment only on PostgreSQL,
    when person_merges, from 0004, is there)."""
    diff = [
        ("add_index", "person_id_map", "ix_person_id_map_person_id"),
        ("add_table", "person_id_map", None),
        ("add_table", "person_milestones", None),
    ]
    if merges and engine.dialect.name == "postgresql":
        diff.append(("modify_comment", "person_merges", "reason"))
    return diff


def _contact_diff(
    engine: Engine, merges: bool = True, reason: bool = False
) -> list[tuple[str, str, str | None]]:
    """What 0010 adds, as schema_diff reports it missing (comments only on PostgreSQL, when
    person_merges is there; the reason comment is 0009's too, so counted there unless
    ``reason``)."""
    diff: list[tuple[str, str, str | None]] = [("add_column", "leads", "contact_id")]
    if merges and engine.dialect.name == "postgresql":
        diff.append(("modify_comment", "person_merges", "bridging_key"))
        if reason:
            diff.append(("modify_comment", "person_merges", "reason"))
    return diff


def test_downgrade_0010_and_upgrade_again_fills_mailchimp_contact_ids(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0009")
    assert current_revision(migrated_engine) == "0009"
    found = sorted(describe(op) for op in schema_diff(migrated_engine))
    assert found == sorted(
        [
            *_contact_diff(migrated_engine, reason=True),
            *INBOX_DIFF,
            *_narrow_diff(events=True),
            *ROLLUP_INDEX_DIFF,
            *TRANSITIONS_INDEX_DIFF,
        ]
    )
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    base = {"account_id": "list1", "created_at": t0, "updated_at": t0, "is_test": False}
    base |= {"raw": {}, "row_hash": "x" * 64, "first_loaded_at": t0, "last_changed_at": t0}
    rows = [
        ("mailchimp", "list1:aaa", {"contact_id": "c1"}),
        ("mailchimp", "list1:bbb", {"contact_id": "c1", "tags": ["x"]}),
        ("mailchimp", "list1:ccc", {}),
        ("mailchimp", "list1:ddd", {"contact_id": ""}),
        ("hubspot", "42", {"contact_id": "c9"}),  # not Mailchimp's: left null
    ]
    columns = [c for c in leads.c if c.name != "contact_id"]  # 0009 has no such column
    with migrated_engine.begin() as conn:
        conn.execute(
            sa.insert(sa.table("leads", *(sa.column(c.name, c.type) for c in columns))),
            [base | {"source": s, "source_lead_id": i, "custom_fields": cf} for s, i, cf in rows],
        )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []
    with migrated_engine.connect() as conn:
        query = sa.select(leads.c.source_lead_id, leads.c.contact_id).order_by(
            leads.c.source_lead_id
        )
        stored = [tuple(row) for row in conn.execute(query)]
    assert stored == [
        ("42", None),
        ("list1:aaa", "c1"),
        ("list1:bbb", "c1"),
        ("list1:ccc", None),
        ("list1:ddd", None),
    ]


def test_downgrade_0009_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0008")
    assert current_revision(migrated_engine) == "0008"
    found = sorted(describe(op) for op in schema_diff(migrated_engine))
    assert found == sorted(
        [
            *_id_map_diff(migrated_engine),
            *_contact_diff(migrated_engine),
            *INBOX_DIFF,
            *_narrow_diff(events=True),
            *ROLLUP_INDEX_DIFF,
            *TRANSITIONS_INDEX_DIFF,
        ]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


def test_downgrade_0008_and_upgrade_again_keeps_runs_with_zero_counts(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0007")
    assert current_revision(migrated_engine) == "0007"
    found = sorted(describe(op) for op in schema_diff(migrated_engine))
    assert found == sorted(
        [
            *COUNTS_DIFF,
            *_id_map_diff(migrated_engine),
            *_contact_diff(migrated_engine),
            *INBOX_DIFF,
            *_narrow_diff(events=True),
            *ROLLUP_INDEX_DIFF,
            *TRANSITIONS_INDEX_DIFF,
        ]
    )
    with migrated_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sync_runs (run_id, source, account_id, started_at, status, records)"
                " VALUES ('r1', 'meta', 'a1', :t, 'succeeded', 3)"
            ),
            {"t": datetime(2026, 3, 1, tzinfo=UTC)},
        )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []
    with migrated_engine.connect() as conn:
        found = conn.execute(sa.text("SELECT records, suppressed, duplicates FROM sync_runs"))
        assert [tuple(row) for row in found] == [(3, 0, 0)]


# What 0006 adds, as schema_diff reports it missing (the views are not in the metadata).
BI_DIFF = [
    ("add_column", "people", "email_hash"),
    ("add_table", "suppression_list", None),
]


def test_downgrade_0006_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0005")
    assert current_revision(migrated_engine) == "0005"
    inspector = sa.inspect(migrated_engine)
    assert set(inspector.get_table_names()) == (
        TABLES - BI_TABLES - STATE_TABLES - ID_MAP_TABLES - INBOX_TABLES - NARROW_TABLES
    ) | {"alembic_version"}
    assert inspector.get_view_names() == []
    assert sorted(describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [
            *BI_DIFF,
            *STATE_DIFF,
            *COUNTS_DIFF,
            *_id_map_diff(migrated_engine),
            *_contact_diff(migrated_engine),
            *INBOX_DIFF,
            *_narrow_diff(events=True),
            *ROLLUP_INDEX_DIFF,
            *TRANSITIONS_INDEX_DIFF,
        ]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []
    assert len(sa.inspect(migrated_engine).get_view_names()) == 9


def test_upgrade_from_0005_keeps_rows_and_adds_views(warehouse_url: str) -> None:
    engine = create_engine(warehouse_url)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO people (person_id, created_at, updated_at, lifecycle) "
                    "VALUES ('p1', :t, :t, 'mql')"
                ),
                {"t": t0},
            )
        upgrade(engine)
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT person_id, email_hash, lifecycle FROM v_people"))
            assert [tuple(row) for row in found] == [("p1", None, "mql")]
    finally:
        engine.dispose()


def test_downgrade_0005_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")
    assert current_revision(migrated_engine) == "0004"
    assert set(sa.inspect(migrated_engine).get_table_names()) == (
        TABLES
        - SLA_TABLES
        - BI_TABLES
        - STATE_TABLES
        - ID_MAP_TABLES
        - INBOX_TABLES
        - NARROW_TABLES
    ) | {"alembic_version"}
    assert sorted(describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [
            *SLA_DIFF,
            *TRANSITIONS_INDEX_DIFF,
            *BI_DIFF,
            *STATE_DIFF,
            *COUNTS_DIFF,
            *_id_map_diff(migrated_engine),
            *_contact_diff(migrated_engine),
            *INBOX_DIFF,
            *_narrow_diff(events=True),
        ]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


@ONLY_POSTGRESQL
def test_postgresql_keeps_sla_comments(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    for name in sorted(SLA_TABLES):
        table = metadata.tables[name]
        assert inspector.get_table_comment(name)["text"] == table.comment
        columns = {c["name"]: c["comment"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.comment for c in table.columns}


# What 0003 adds, as schema_diff reports it missing (sorted).
ACTIVITY_DIFF = [
    ("add_index", "engagement_events", "ix_engagement_events_email_match_key"),
    ("add_index", "engagement_events", "ix_engagement_events_event_type_occurred_at"),
    ("add_index", "sales_touches", "ix_sales_touches_owner_id"),
    ("add_index", "sales_touches", "ix_sales_touches_person_id"),
    ("add_index", "sales_touches", "ix_sales_touches_source_lead_id_occurred_at"),
    ("add_table", "engagement_events", None),
    ("add_table", "sales_reps", None),
    ("add_table", "sales_touches", None),
]


def test_downgrade_0003_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0002")
    assert current_revision(migrated_engine) == "0002"
    assert set(sa.inspect(migrated_engine).get_table_names()) == (
        TABLES
        - ACTIVITY_TABLES
        - PEOPLE_STAGES_TABLES
        - SLA_TABLES
        - BI_TABLES
        - STATE_TABLES
        - ID_MAP_TABLES
        - INBOX_TABLES
        - NARROW_TABLES
        - NARROW_TABLES
    ) | {"alembic_version"}
    # Exactly the activity tables and their indexes are missing; nothing else changed.
    assert sorted(describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [
            *ACTIVITY_DIFF,
            *_people_stages_diff(migrated_engine),
            *SLA_DIFF,
            *BI_DIFF,
            *STATE_DIFF,
            *COUNTS_DIFF,
            *_id_map_diff(migrated_engine, merges=False),
            *_contact_diff(migrated_engine, merges=False),
            *INBOX_DIFF,
            *_narrow_diff(events=False),
        ]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


@ONLY_POSTGRESQL
def test_postgresql_keeps_activity_comments(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    for name in sorted(ACTIVITY_TABLES):
        table = metadata.tables[name]
        assert inspector.get_table_comment(name)["text"] == table.comment
        columns = {c["name"]: c["comment"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.comment for c in table.columns}


def test_person_ids_follow_people(migrated_engine: Engine) -> None:
    """Touches lose their person when it goes (SET NULL); events have no person column
    and the narrow person tables no foreign key (identity and erasure keep them)."""
    inspector = sa.inspect(migrated_engine)
    (fk,) = inspector.get_foreign_keys("sales_touches")
    assert (fk["constrained_columns"], fk["referred_table"]) == (["person_id"], "people")
    assert fk["options"].get("ondelete") == "SET NULL"
    for name in ("engagement_events", "lead_people", "email_people"):
        assert inspector.get_foreign_keys(name) == []


PEOPLE_STAGES_COLUMNS = (
    "email",
    "job_title",
    "country",
    "city",
    "lifecycle",
    "raw_stage",
    "fit",
    "engagement",
    "reasons",
    "qualified_at",
    "lifecycle_at",
    "classified_at",
)


def _people_stages_diff(engine: Engine) -> list[tuple[str, str, str | None]]:
    """What 0004 adds, as schema_diff reports it missing (comments only on PostgreSQL)."""
    diff = [("add_column", "people", name) for name in PEOPLE_STAGES_COLUMNS]
    diff += [
        ("add_index", "people", "ix_people_lifecycle"),
        ("add_index", "person_merges", "ix_person_merges_into_person"),
        ("add_index", "stage_transitions", "ix_stage_transitions_run_id"),
        ("add_table", "person_merges", None),
        ("add_table", "stage_transitions", None),
    ]
    if engine.dialect.name == "postgresql":
        diff += [("modify_comment", "people", "stage"), ("modify_comment", "people", "updated_at")]
    return diff


def test_downgrade_0004_and_upgrade_again(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0003")
    assert current_revision(migrated_engine) == "0003"
    assert set(sa.inspect(migrated_engine).get_table_names()) == (
        TABLES
        - PEOPLE_STAGES_TABLES
        - SLA_TABLES
        - BI_TABLES
        - STATE_TABLES
        - ID_MAP_TABLES
        - INBOX_TABLES
        - NARROW_TABLES
        - NARROW_TABLES
    ) | {"alembic_version"}
    assert sorted(describe(op) for op in schema_diff(migrated_engine)) == sorted(
        [
            *_people_stages_diff(migrated_engine),
            *SLA_DIFF,
            *BI_DIFF,
            *STATE_DIFF,
            *COUNTS_DIFF,
            *_id_map_diff(migrated_engine, merges=False),
            *_contact_diff(migrated_engine, merges=False),
            *INBOX_DIFF,
            *_narrow_diff(events=True),
        ]
    )
    upgrade(migrated_engine)
    assert current_revision(migrated_engine) == HEAD
    assert schema_diff(migrated_engine) == []


@ONLY_POSTGRESQL
def test_postgresql_keeps_people_stages_comments(migrated_engine: Engine) -> None:
    inspector = sa.inspect(migrated_engine)
    for name in sorted(PEOPLE_STAGES_TABLES | {"people"}):
        table = metadata.tables[name]
        assert inspector.get_table_comment(name)["text"] == table.comment
        columns = {c["name"]: c["comment"] for c in inspector.get_columns(name)}
        assert columns == {c.name: c.comment for c in table.columns}


def test_stage_transitions_are_unique_per_person_lifecycle_and_time(
    migrated_engine: Engine,
) -> None:
    inspector = sa.inspect(migrated_engine)
    uniques = {
        tuple(u["column_names"]) for u in inspector.get_unique_constraints("stage_transitions")
    }
    assert uniques == {("person_id", "to_lifecycle", "at")}
    (fk,) = inspector.get_foreign_keys("stage_transitions")
    assert (fk["referred_table"], fk["options"].get("ondelete")) == ("people", "CASCADE")


def test_0002_fills_campaigns_from_existing_leads(warehouse_url: str) -> None:
    engine = create_engine(warehouse_url)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    base = {"account_id": "page_1", "created_at": t0, "is_test": False}
    base |= {"custom_fields": {}, "raw": {}, "row_hash": "x" * 64, "source": "meta"}
    rows = [
        ("1", "c1", "Spring", t0, t0),
        ("2", "c1", "Spring v2", t0 + timedelta(hours=1), t0 + timedelta(days=2)),
        ("3", "c1", None, t0 + timedelta(hours=2), t0 + timedelta(days=1)),
        ("4", "c2", None, t0, t0),
        ("5", None, "No id", t0, t0),
    ]
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(
                leads.insert(),  # without utm_*: only the given columns are inserted
                [
                    base
                    | {"source_lead_id": lead_id, "campaign_id": campaign_id}
                    | {"campaign_name": name, "updated_at": updated, "first_loaded_at": t0}
                    | {"last_changed_at": changed}
                    for lead_id, campaign_id, name, updated, changed in rows
                ],
            )
        upgrade(engine)
        with engine.connect() as conn:
            stored = conn.execute(sa.select(campaigns).order_by(campaigns.c.campaign_id)).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in stored] == [
        ("meta", "c1", None, "Spring v2", None, t0, t0 + timedelta(days=2)),
        ("meta", "c2", None, None, None, t0, t0),
    ]


def test_0014_moves_person_ids_into_the_narrow_tables_and_back(migrated_engine: Engine) -> None:
    """Upgrading to 0014 fills lead_people from leads.person_id (test leads' too, which
    identity then releases) and email_people from the real leads' keys that belong to one
    person; downgrading puts both columns back, filled from them."""
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0013")
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    with migrated_engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO people (person_id, created_at, updated_at) VALUES (:p, :t, :t)"),
            [{"p": p, "t": t0} for p in ("p1", "p2")],
        )
        leads_0013 = sa.table(
            "leads",
            *(sa.column(c.name, c.type) for c in leads.c),
            sa.column("person_id", sa.String()),
        )
        base = {"account_id": "a", "created_at": t0, "updated_at": t0, "raw": {}}
        base |= {"custom_fields": {}, "row_hash": "x" * 64, "first_loaded_at": t0}
        base |= {"last_changed_at": t0, "source": "meta"}
        rows = [
            ("l1", "ann@example.com", "p1", False),
            ("l2", "ann@example.com", "p1", False),
            ("l3", "info@example.com", "p1", False),
            ("l4", "info@example.com", "p2", False),  # a key on two people: no row
            ("l5", "bo@example.com", None, False),  # not resolved yet
            ("l6", "cy@example.com", "p2", True),  # a test lead still holding a person
        ]
        conn.execute(
            sa.insert(leads_0013),
            [
                base | {"source_lead_id": i, "email_match_key": k, "person_id": p, "is_test": t}
                for i, k, p, t in rows
            ],
        )
    upgrade(migrated_engine)
    with migrated_engine.connect() as conn:
        linked = set(conn.execute(sa.text("SELECT source_lead_id, person_id FROM lead_people")))
        emails = set(conn.execute(sa.text("SELECT email_match_key, person_id FROM email_people")))
    assert linked == {("l1", "p1"), ("l2", "p1"), ("l3", "p1"), ("l4", "p2"), ("l6", "p2")}
    assert emails == {("ann@example.com", "p1")}
    with migrated_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0013")
    with migrated_engine.connect() as conn:
        query = "SELECT source_lead_id, person_id FROM leads ORDER BY source_lead_id"
        back = list(conn.execute(sa.text(query)))
    assert back == [(i, p) for i, _, p, _ in rows]
    upgrade(migrated_engine)
    assert schema_diff(migrated_engine) == []
