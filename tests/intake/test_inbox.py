"""The inbox store and the webhook load, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command

from leadflow.models.loading.inbox import (
    Notification,
    due,
    load_leads,
    mark_loaded,
    mark_retry,
    receive,
    retry_delay,
)
from leadflow.models.loading.state import read_sync_state, save_sync_state
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.migrate import alembic_config, current_revision, upgrade
from tests.intake.support import inbox, stored_leads
from tests.models.warehouse.schema_check import describe, schema_diff
from tests.models.warehouse.test_migration_steps import (
    ROLLUP_INDEX_DIFF,
    TRANSITIONS_INDEX_DIFF,
    _narrow_diff,
)

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _note(key: str, platform: str = "meta") -> Notification:
    return Notification(platform, key, "page-1", {"leadgen_id": key})


def test_receive_is_idempotent_by_platform_and_id(migrated_engine):
    with migrated_engine.begin() as conn:
        assert receive(conn, [_note("1"), _note("2"), _note("1", "linkedin")], T0) == 3
    with migrated_engine.begin() as conn:
        later = T0 + timedelta(minutes=5)
        assert receive(conn, [_note("1"), _note("2"), _note("3")], later) == 1
    rows = inbox(migrated_engine)
    assert [(r["platform"], r["notification_id"]) for r in rows] == [
        ("linkedin", "1"), ("meta", "1"), ("meta", "2"), ("meta", "3")]  # fmt: skip
    assert {r["notification_id"]: r["received_at"] for r in rows if r["platform"] == "meta"} == {
        "1": T0, "2": T0, "3": T0 + timedelta(minutes=5)}  # fmt: skip


def test_due_rows_are_oldest_first_and_retries_wait(migrated_engine):
    with migrated_engine.begin() as conn:
        receive(conn, [_note("old")], T0)
        receive(conn, [_note("new")], T0 + timedelta(seconds=1))
        mark_retry(conn, "meta", {"old": "fetch failed: code 100"}, T0, max_attempts=5,
                   base_seconds=10)  # fmt: skip
        mark_loaded(conn, "meta", [], T0)  # nothing to mark is fine
    with migrated_engine.connect() as conn:
        assert [r.notification_id for r in due(conn, T0 + timedelta(seconds=5))] == ["new"]
        later = [r.notification_id for r in due(conn, T0 + timedelta(seconds=10))]
        assert later == ["old", "new"]
        assert [r.notification_id for r in due(conn, T0, limit=1)] == ["new"]
    [old] = [r for r in inbox(migrated_engine) if r["notification_id"] == "old"]
    assert (old["status"], old["attempts"], old["last_error"]) == (
        "pending", 1, "fetch failed: code 100")  # fmt: skip


def test_retry_delays_double_up_to_the_cap():
    delays = [retry_delay(n, 5, 60).total_seconds() for n in range(1, 7)]
    assert delays == [5, 10, 20, 40, 60, 60]


def test_a_reason_naming_an_email_is_stored_masked(migrated_engine):
    with migrated_engine.begin() as conn:
        receive(conn, [_note("1")], T0)
        mark_retry(conn, "meta", {"1": "bad answer ada@example.com"}, T0, max_attempts=3)
    assert "ada@example.com" not in inbox(migrated_engine)[0]["last_error"]


def test_load_leads_leaves_the_polls_sync_state_alone(migrated_engine):
    cursor = {"after": "resume-here"}
    with migrated_engine.begin() as conn:
        save_sync_state(conn, "meta", "page-1", T0, cursor, T0)
    lead = Lead(source="meta", source_lead_id="L1", account_id="page-1", created_at=T0,
                updated_at=T0, email="ada@example.com", email_match_key="ada@example.com")  # fmt: skip
    with migrated_engine.begin() as conn:
        first = load_leads(conn, "meta", [lead], [], T0 + timedelta(hours=1))
        again = load_leads(conn, "meta", [lead], [], T0 + timedelta(hours=2))
        state = read_sync_state(conn, "meta", "page-1")
    assert (first.inserted, again.inserted, again.unchanged) == (1, 0, 1)
    assert (state.watermark, state.cursor) == (T0, cursor)
    assert [r["source_lead_id"] for r in stored_leads(migrated_engine, "meta")] == ["L1"]


def test_downgrade_0011_drops_the_inbox_and_upgrade_restores_it(migrated_engine):
    with migrated_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    assert current_revision(migrated_engine) == "0010"
    found = sorted(describe(op) for op in schema_diff(migrated_engine))
    mine = [op for op in found if op[1] == "intake_inbox"]
    assert mine == [
        ("add_index", "intake_inbox", "ix_intake_inbox_status"),
        ("add_table", "intake_inbox", None),
    ]
    # 0014, 0015 and 0016 went too
    narrow = [*_narrow_diff(events=True), *ROLLUP_INDEX_DIFF, *TRANSITIONS_INDEX_DIFF]
    assert set(narrow) <= set(found)
    after = {"intake_inbox", "writebacks", "crm_status_changes", "sales_decisions"}
    assert {op[1] for op in found if op not in narrow} <= after  # 0012 and 0013 went too
    upgrade(migrated_engine)
    assert schema_diff(migrated_engine) == []
