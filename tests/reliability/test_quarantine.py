"""Quarantine is where a bad record goes, with everything needed to fix it, and fixing the
record at the source then re-syncing takes it out again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from leadflow.connectors.hubspot.connector import CONNECTOR, HubSpotConfig
from leadflow.models.warehouse.tables import leads, quarantine
from leadflow.pipeline.source_sync import RunContext, sync_account
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from tests.reliability.platforms import fresh_warehouse

TOKEN = "quarantine-test-token-31"


def test_a_fixed_record_leaves_quarantine_on_the_next_sync(tmp_path):
    engine = fresh_warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    with HubSpotSandbox.unthrottled(hubspot_contacts(300), token=TOKEN) as box:
        source = HubSpotConfig(base_url=box.base_url, access_token=TOKEN, portal_id="p1",
                               lookback_minutes=0, discover_properties=False,
                               search_requests_per_second=100, sales_reps=False,
                               sales_touches=False)  # fmt: skip
        run = RunContext(engine=engine, run_id="first")
        first = sync_account(CONNECTOR, source, "p1", run)
        with engine.connect() as conn:
            held = conn.execute(sa.select(quarantine)).mappings().all()
        assert first.quarantined == len(held) > 0
        bad = held[0]
        assert bad["source"] == "hubspot" and bad["account_id"] == "p1" and bad["record_key"]
        assert bad["field"] and bad["reason"] and bad["raw"]["id"] == bad["record_key"]
        assert bad["first_seen_at"] and bad["last_seen_at"] and bad["times_seen"] == 1
        # Someone adds the missing email in HubSpot: the contact's lastmodifieddate moves.
        later = datetime.now(UTC) - timedelta(minutes=30)
        box.upsert_contact({"hs_object_id": bad["record_key"], "email": "fixed.lead@example.com"},
                           modified_at=later)  # fmt: skip
        second = sync_account(CONNECTOR, source, "p1", RunContext(engine=engine, run_id="second"))
    with engine.connect() as conn:
        keys = set(conn.execute(sa.select(quarantine.c.record_key)).scalars())
        email = conn.execute(
            sa.select(leads.c.email).where(leads.c.source_lead_id == bad["record_key"])
        ).scalar_one()
    engine.dispose()
    assert second.inserted == 1 and bad["record_key"] not in keys
    assert keys == {row["record_key"] for row in held[1:]}
    assert email == "fixed.lead@example.com"
