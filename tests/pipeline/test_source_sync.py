"""One source's sync without Prefect: checkpoints, resume, watermark rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadflow.connectors.errors import TransientError
from leadflow.connectors.hubspot.connector import CONNECTOR, HubSpotConfig
from leadflow.models.warehouse.tables import leads, sync_runs, sync_state
from leadflow.pipeline.source_sync import RunContext, sync_account
from leadflow.pipeline.windows import extraction_start, watermark_for
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

TOKEN = "source-sync-token-789"
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def source(sandbox: HubSpotSandbox, **overrides) -> HubSpotConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "portal_id": "p1",
        "page_size": 100,
        "max_attempts": 1,
        "search_requests_per_second": 500,
        "discover_properties": False,
        **overrides,
    }
    return HubSpotConfig(**values)


def sync(config: HubSpotConfig, engine: sa.Engine, run_id: str, now: datetime):
    run = RunContext(engine=engine, run_id=run_id, clock=lambda: now)
    return sync_account(CONNECTOR, config, config.portal_id, run)


def lead_keys(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(leads.c.source_lead_id)).scalars())


def test_a_run_killed_mid_extract_keeps_its_pages_and_the_rerun_completes(migrated_engine):
    contacts = hubspot_contacts(650)
    valid = {
        c["id"] for c in contacts if c["properties"].get("email") or c["properties"].get("phone")
    }
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        # Pages 1-3 answer normally (a zero delay); the 4th request's connection is reset.
        sandbox.faults.push_delay(0, times=3)
        sandbox.faults.push_reset(times=1)
        with pytest.raises(TransientError, match="hubspot: network failure"):
            sync(source(sandbox), migrated_engine, "r1", NOW)
        partial = lead_keys(migrated_engine)
        with migrated_engine.connect() as conn:
            mark = conn.execute(sa.select(sync_state.c.watermark)).scalar_one()
            failed = conn.execute(sa.select(sync_runs)).mappings().one()
        assert 0 < len(partial) <= 300
        assert failed["status"] == "failed" and failed["pages"] == 3
        assert mark == failed["watermark"]
        summary = sync(source(sandbox), migrated_engine, "r2", NOW)
    final = lead_keys(migrated_engine)
    assert len(final) == len(set(final))
    assert set(partial) <= set(final) <= valid
    assert summary.status == "succeeded"
    with migrated_engine.connect() as conn:
        quarantined = conn.execute(sa.text("select count(*) from quarantine")).scalar_one()
    assert len(final) + quarantined == len(contacts)


def test_watermark_never_passes_run_start_minus_lag():
    ceiling = NOW - timedelta(minutes=5)
    assert watermark_for(NOW, ceiling) == ceiling
    assert watermark_for(NOW - timedelta(hours=1), ceiling) == NOW - timedelta(hours=1)
    assert watermark_for(None, ceiling) is None


def test_extraction_starts_lookback_before_the_watermark_or_at_start_date():
    config = HubSpotConfig(
        base_url="http://x", access_token="t" * 8, portal_id="1", lookback_minutes=30,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert extraction_start(NOW, config) == NOW - timedelta(minutes=30)
    assert extraction_start(None, config) == datetime(2026, 1, 1, tzinfo=UTC)


def test_records_modified_during_the_run_are_read_again_next_time(migrated_engine):
    contacts = hubspot_contacts(50)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        # A contact whose modification time is after the run started (clock skew or a
        # write during the run) must not push the watermark past the ceiling.
        late = sandbox.upsert_contact(
            {"email": "late@example.com"}, modified_at=NOW + timedelta(minutes=1)
        )
        first = sync(source(sandbox), migrated_engine, "a", NOW)
        assert first.watermark == NOW - timedelta(minutes=5)
        sandbox.upsert_contact(
            {"hs_object_id": late["id"], "jobtitle": "Buyer"},
            modified_at=NOW + timedelta(minutes=2),
        )
        later = NOW + timedelta(hours=1)
        second = sync(source(sandbox), migrated_engine, "b", later)
    assert second.updated == 1


def test_a_page_whose_transaction_is_rolled_back_as_a_deadlock_victim_is_written_again(
    migrated_engine, monkeypatch
):
    import leadflow.pipeline.page_loop as page_loop
    import leadflow.pipeline.source_sync as source_sync

    real_load_batch = source_sync.load_batch
    calls: list[int] = []

    class Deadlock(Exception):
        sqlstate = "40P01"

    def load_batch_failing_once(conn, **kwargs):
        counts = real_load_batch(conn, **kwargs)  # written, then rolled back
        calls.append(1)
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT INTO campaigns", {}, Deadlock())
        return counts

    monkeypatch.setattr(source_sync, "load_batch", load_batch_failing_once)
    monkeypatch.setattr(page_loop, "COMMIT_RECORDS", 1)  # a transaction per page, as counted
    contacts = hubspot_contacts(250)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        summary = sync(source(sandbox), migrated_engine, "r1", NOW)
    assert summary.status == "succeeded"
    assert len(calls) == 4  # three pages, the second twice
    with migrated_engine.connect() as conn:
        quarantined = conn.execute(sa.text("select count(*) from quarantine")).scalar_one()
    assert len(lead_keys(migrated_engine)) + quarantined == len(contacts)
    assert summary.inserted + quarantined == len(contacts)  # the retried page counted once
