"""The idempotent loader, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.leads import (
    IN_CHUNK_SIZE,
    LoadCounts,
    lead_row,
    load_batch,
    quarantine_key,
)
from leadflow.models.loading.runs import record_sync_run
from leadflow.models.loading.state import read_sync_state, save_sync_state
from leadflow.models.records.leads import Lead, Rejected
from leadflow.models.warehouse.tables import leads, people, quarantine, sync_runs
from tests.people_links import lead_person_ids, link_leads

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SOURCE, ACCOUNT = "meta", "act_1"


def make_lead(lead_id: str, **overrides: Any) -> Lead:
    values: dict[str, Any] = {
        "source": SOURCE,
        "source_lead_id": lead_id,
        "account_id": ACCOUNT,
        "created_at": T0,
        "updated_at": T0,
        "email": f"{lead_id}@example.com",
        "email_match_key": f"{lead_id}@example.com",
        "campaign_id": "c1",
        "custom_fields": {"budget": "10k"},
        "raw": {"id": lead_id},
    }
    return Lead(**(values | overrides))


def reject(key: str | None, reason: str = "invalid email", **raw: Any) -> Rejected:
    return Rejected(SOURCE, ACCOUNT, key, "email", reason, raw or {"id": key})


def load(
    engine: Engine,
    batch: Sequence[Lead] = (),
    rejected: Sequence[Rejected] = (),
    *,
    watermark: datetime | None = None,
    cursor: dict[str, Any] | None = None,
    now: datetime = T0,
) -> LoadCounts:
    with engine.begin() as conn:
        return load_batch(
            conn,
            source=SOURCE,
            account_id=ACCOUNT,
            leads=batch,
            rejected=rejected,
            watermark=watermark,
            cursor=cursor,
            now=now,
        )


def stored_leads(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(leads)).mappings()
        return {row["source_lead_id"]: dict(row) for row in rows}


def stored_quarantine(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(quarantine)).mappings()
        return {row["record_key"]: dict(row) for row in rows}


def watermark_of(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        state = read_sync_state(conn, SOURCE, ACCOUNT)
    return None if state is None else state.watermark


def test_first_load_inserts_every_lead(migrated_engine: Engine) -> None:
    counts = load(migrated_engine, [make_lead("a"), make_lead("b"), make_lead("c")])
    assert counts == LoadCounts(inserted=3, updated=0, unchanged=0, quarantined=0)
    assert set(stored_leads(migrated_engine)) == {"a", "b", "c"}


def test_loading_the_same_batch_again_writes_nothing(migrated_engine: Engine) -> None:
    batch = [make_lead("a"), make_lead("b")]
    load(migrated_engine, batch, now=T0)
    before = stored_leads(migrated_engine)
    counts = load(migrated_engine, batch, now=T0 + timedelta(hours=1))
    assert counts == LoadCounts(inserted=0, updated=0, unchanged=2, quarantined=0)
    assert stored_leads(migrated_engine) == before


def test_changing_one_field_updates_one_lead(migrated_engine: Engine) -> None:
    load(migrated_engine, [make_lead("a"), make_lead("b")], now=T0)
    later = T0 + timedelta(hours=1)
    counts = load(migrated_engine, [make_lead("a"), make_lead("b", city="Lyon")], now=later)
    assert counts == LoadCounts(inserted=0, updated=1, unchanged=1, quarantined=0)
    rows = stored_leads(migrated_engine)
    assert (rows["b"]["city"], rows["b"]["last_changed_at"]) == ("Lyon", later)
    assert (rows["b"]["first_loaded_at"], rows["a"]["last_changed_at"]) == (T0, T0)


def test_update_keeps_person_id(migrated_engine: Engine) -> None:
    load(migrated_engine, [make_lead("a")])
    with migrated_engine.begin() as conn:
        conn.execute(sa.insert(people), [{"person_id": "p1", "created_at": T0, "updated_at": T0}])
        link_leads(conn, {(SOURCE, "a"): "p1"})
    load(migrated_engine, [make_lead("a", company="Acme")])
    # The re-load rewrote the lead and left identity's lead_people row alone.
    assert stored_leads(migrated_engine)["a"]["company"] == "Acme"
    assert lead_person_ids(migrated_engine) == {(SOURCE, "a"): "p1"}


@pytest.mark.parametrize(
    ("first_updated", "second_updated", "winner"),
    [
        pytest.param(T0, T0 + timedelta(minutes=1), "second", id="newer-last"),
        pytest.param(T0 + timedelta(minutes=1), T0, "first", id="newer-first"),
        pytest.param(T0, T0, "second", id="tie-last-wins"),
    ],
)
def test_duplicate_keys_in_a_batch_keep_the_latest(
    migrated_engine: Engine, first_updated: datetime, second_updated: datetime, winner: str
) -> None:
    batch = [
        make_lead("a", updated_at=first_updated, city="first"),
        make_lead("a", updated_at=second_updated, city="second"),
    ]
    assert load(migrated_engine, batch) == LoadCounts(1, 0, 0, 0, duplicates=1)
    load(migrated_engine, [make_lead("a"), *batch])  # conflicts with a stored row too
    assert stored_leads(migrated_engine)["a"]["city"] == winner


def test_batches_larger_than_one_in_list_are_chunked(migrated_engine: Engine) -> None:
    batch = [make_lead(f"id{n}") for n in range(IN_CHUNK_SIZE * 2 + 7)]
    assert load(migrated_engine, batch).inserted == len(batch)
    assert load(migrated_engine, batch).unchanged == len(batch)


def test_a_batch_takes_a_constant_number_of_statements(migrated_engine: Engine) -> None:
    statements: list[str] = []
    sa.event.listen(migrated_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    load(migrated_engine, [make_lead(f"id{n}") for n in range(300)], [reject("x")])
    assert sum(s.lstrip().upper().startswith("INSERT INTO LEADS") for s in statements) == 1
    assert len(statements) <= 6


def test_rollback_leaves_neither_rows_nor_watermark(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        transaction = conn.begin()
        load_batch(
            conn,
            source=SOURCE,
            account_id=ACCOUNT,
            leads=[make_lead("a")],
            rejected=[reject("bad")],
            watermark=T0,
            cursor={"after": "abc"},
            now=T0,
        )
        transaction.rollback()
    assert stored_leads(migrated_engine) == {}
    assert stored_quarantine(migrated_engine) == {}
    with migrated_engine.connect() as conn:
        assert read_sync_state(conn, SOURCE, ACCOUNT) is None


@pytest.mark.parametrize(
    ("watermarks", "expected"),
    [
        pytest.param([T0, T0 - timedelta(days=1)], T0, id="earlier-ignored"),
        pytest.param([T0, T0 + timedelta(seconds=1)], T0 + timedelta(seconds=1), id="later-kept"),
        pytest.param([T0, None], T0, id="none-keeps"),
        pytest.param([None, T0], T0, id="first-from-none"),
        pytest.param([None], None, id="none-only"),
        pytest.param(
            [T0, T0.astimezone(timezone(timedelta(hours=-5))) - timedelta(microseconds=1)],
            T0,
            id="earlier-in-other-zone",
        ),
    ],
)
def test_watermark_never_moves_backwards(
    migrated_engine: Engine, watermarks: list[datetime | None], expected: datetime | None
) -> None:
    for watermark in watermarks:
        load(migrated_engine, [make_lead("a")], watermark=watermark)
    assert watermark_of(migrated_engine) == expected


def test_sync_state_round_trips_cursor_and_aware_utc(migrated_engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    with migrated_engine.begin() as conn:
        save_sync_state(conn, SOURCE, ACCOUNT, T0.astimezone(paris), {"page": ["é", 2]}, T0)
        state = read_sync_state(conn, SOURCE, ACCOUNT)
        save_sync_state(conn, SOURCE, ACCOUNT, None, None, T0)
        cleared = read_sync_state(conn, SOURCE, ACCOUNT)
    assert state is not None and cleared is not None
    assert (state.watermark, state.watermark.tzinfo, state.cursor) == (T0, UTC, {"page": ["é", 2]})
    assert (cleared.watermark, cleared.cursor) == (T0, None)


def test_quarantine_counts_times_seen_and_keeps_first_seen(migrated_engine: Engine) -> None:
    later = T0 + timedelta(days=1)
    assert load(migrated_engine, rejected=[reject("x"), reject("x")], now=T0).quarantined == 2
    load(migrated_engine, rejected=[reject("x", reason="no email")], now=later)
    row = stored_quarantine(migrated_engine)["x"]
    assert (row["times_seen"], row["first_seen_at"], row["last_seen_at"]) == (3, T0, later)
    assert (row["reason"], row["field"], row["raw"]) == ("no email", "email", {"id": "x"})


def test_quarantine_is_cleared_when_the_record_loads(migrated_engine: Engine) -> None:
    load(migrated_engine, rejected=[reject("a"), reject("b")])
    assert load(migrated_engine, [make_lead("a")]) == LoadCounts(1, 0, 0, 0)
    assert set(stored_quarantine(migrated_engine)) == {"b"}


def test_record_without_key_is_quarantined_by_content_hash(migrated_engine: Engine) -> None:
    item = reject(None, email="nope", name="Zoë")
    load(migrated_engine, rejected=[item, item])
    assert quarantine_key(item).startswith("sha256:") and len(quarantine_key(item)) == 71
    assert stored_quarantine(migrated_engine)[quarantine_key(item)]["times_seen"] == 2


def test_datetimes_read_back_aware_utc(migrated_engine: Engine) -> None:
    tokyo = timezone(timedelta(hours=9))
    created = datetime(2026, 1, 31, 23, 59, 59, 123456, tzinfo=tokyo)
    load(migrated_engine, [make_lead("a", created_at=created)], now=T0.astimezone(tokyo))
    row = stored_leads(migrated_engine)["a"]
    for name in ("created_at", "updated_at", "first_loaded_at", "last_changed_at"):
        assert row[name].tzinfo is UTC
    assert (row["created_at"], row["first_loaded_at"]) == (created, T0)


def test_json_round_trips_unicode_and_nesting(migrated_engine: Engine) -> None:
    raw = {"名前": "Zoë 🚀", "answers": [{"q": "budget", "a": [1, 2.5, None, True]}], "e": {}}
    consent = {"marketing": {"granted": True, "text": "J'accepte « oui » — ça va"}}
    load(migrated_engine, [make_lead("a", raw=raw, consent=consent, custom_fields={})])
    row = stored_leads(migrated_engine)["a"]
    assert (row["raw"], row["consent"], row["custom_fields"]) == (raw, consent, {})


def test_absent_consent_is_sql_null(migrated_engine: Engine) -> None:
    load(migrated_engine, [make_lead("a")])
    with migrated_engine.connect() as conn:
        query = sa.select(sa.func.count()).where(leads.c.consent.is_(None))
        assert conn.execute(query).scalar_one() == 1


def test_lead_row_is_json_safe_and_hashes_content() -> None:
    lead = make_lead("a", raw={"at": T0, "amount": Decimal("9.90"), "tags": {"b", "a"}})
    row = lead_row(lead)
    assert row["raw"] == {"at": "2026-03-02T09:30:00+00:00", "amount": "9.90", "tags": ["a", "b"]}
    json.dumps({k: v for k, v in row.items() if k not in ("created_at", "updated_at")})
    assert lead_row(lead)["row_hash"] == row["row_hash"] and len(row["row_hash"]) == 64
    assert lead_row(replace(lead, is_test=True))["row_hash"] != row["row_hash"]


def test_hash_is_the_same_whether_json_needed_converting() -> None:
    plain = make_lead("a", custom_fields={"tags": ["x", "y"]}, consent={"ok": True})
    wrapped = replace(
        plain,
        custom_fields=MappingProxyType({"tags": ("x", "y")}),
        consent=MappingProxyType({"ok": True}),
    )
    assert lead_row(wrapped) == lead_row(plain)


def test_quarantine_is_cleared_only_for_the_loaded_account(migrated_engine: Engine) -> None:
    other = replace(reject("a"), account_id="act_2")
    load(migrated_engine, rejected=[reject("a"), other])
    load(migrated_engine, [make_lead("a")])
    with migrated_engine.connect() as conn:
        accounts = conn.execute(sa.select(quarantine.c.account_id)).scalars().all()
    assert accounts == ["act_2"]


def test_lead_from_another_source_is_refused(migrated_engine: Engine) -> None:
    with pytest.raises(ValueError, match="hubspot"):
        load(migrated_engine, [make_lead("a", source="hubspot")])


def test_naive_now_is_refused(migrated_engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        load(migrated_engine, [make_lead("a")], now=datetime(2026, 1, 1))  # noqa: DTZ001


def test_record_sync_run_upserts_by_key(migrated_engine: Engine) -> None:
    run = {"run_id": "r1", "source": SOURCE, "account_id": ACCOUNT, "started_at": T0}
    with migrated_engine.begin() as conn:
        record_sync_run(conn, run | {"status": "failed", "error": "boom"})
        record_sync_run(conn, run | {"status": "succeeded", "error": None, "inserted": 5})
    with migrated_engine.connect() as conn:
        rows = conn.execute(sa.select(sync_runs)).mappings().all()
    assert len(rows) == 1
    assert (rows[0]["status"], rows[0]["error"], rows[0]["inserted"], rows[0]["pages"]) == (
        "succeeded",
        None,
        5,
        0,
    )


UTM = {
    "utm_source": "facebook",
    "utm_medium": "paid_social",
    "utm_campaign": "spring-2026 é",
    "utm_term": None,
    "utm_content": "video_a",
}


def test_utm_parameters_round_trip(migrated_engine: Engine) -> None:
    assert load(migrated_engine, [make_lead("a", **UTM), make_lead("b")]) == LoadCounts(2, 0, 0, 0)
    rows = stored_leads(migrated_engine)
    assert {name: rows["a"][name] for name in UTM} == UTM
    assert all(rows["b"][name] is None for name in UTM)


def test_utm_parameters_are_content(migrated_engine: Engine) -> None:
    assert {"utm_source", "utm_content"} <= set(lead_row(make_lead("a")))
    load(migrated_engine, [make_lead("a", **UTM)])
    changed = make_lead("a", **(UTM | {"utm_term": "crm"}))
    assert load(migrated_engine, [changed]) == LoadCounts(0, 1, 0, 0)
    assert stored_leads(migrated_engine)["a"]["utm_term"] == "crm"
    assert load(migrated_engine, [changed]) == LoadCounts(0, 0, 1, 0)
