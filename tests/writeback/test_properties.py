"""Stage and scores written to HubSpot contact properties: created on first use, batched,
and only for people whose values changed; a 5xx on the batch update is retried."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.warehouse.tables import people
from leadflow.pipeline.writeback import run_writeback
from tests.writeback.support import NOW, ledger, portal, seed_people, settings, writes

BATCH = "/crm/v3/objects/contacts/batch/update"
NAMES = ["leadflow_engagement_score", "leadflow_fit_score", "leadflow_reasons", "leadflow_stage"]


def test_properties_only_for_changed_people(migrated_engine: Engine, warehouse_url: str) -> None:
    with portal() as hs:
        seeded = seed_people(migrated_engine, hs, 3)
        config = settings(hs, warehouse_url, properties=True)

        first = run_writeback(config, now=NOW, engine=migrated_engine)
        assert first.contacts_updated == 3 and sorted(first.properties_created) == NAMES
        assert hs.writes.created_properties == NAMES
        updates = {u["id"]: u["properties"] for u in hs.writes.contact_updates}
        assert updates[seeded[0]["contact_id"]] == {
            "leadflow_stage": "qualified",
            "leadflow_fit_score": "41",
            "leadflow_engagement_score": "12.5",
            "leadflow_reasons": "form;fit",
        }
        contact = next(c for c in hs.contacts if c["id"] == seeded[0]["contact_id"])
        assert contact["properties"]["leadflow_stage"] == "qualified"

        again = run_writeback(config, now=NOW, engine=migrated_engine)
        assert again.contacts_updated == 0 and len(hs.writes.contact_updates) == 3
        assert writes(hs).count(("POST", BATCH)) == 1

        with migrated_engine.begin() as conn:
            conn.execute(sa.update(people).where(people.c.person_id == "p2").values(fit=77))
        third = run_writeback(config, now=NOW, engine=migrated_engine)
        assert third.contacts_updated == 1 and third.properties_created == []
        assert hs.writes.contact_updates[-1] == {
            "id": seeded[1]["contact_id"],
            "properties": updates[seeded[1]["contact_id"]] | {"leadflow_fit_score": "77"},
        }
        rows = ledger(migrated_engine, "properties")
        assert [(r["key"], r["status"], r["object_id"]) for r in rows] == [
            (s["person_id"], "created", s["contact_id"]) for s in seeded
        ]


def test_batch_update_retried_after_a_5xx(migrated_engine: Engine, warehouse_url: str) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        hs.faults.push(502, {"status": "error", "message": "Bad Gateway"}, path=BATCH)
        summary = run_writeback(
            settings(hs, warehouse_url, properties=True), now=NOW, engine=migrated_engine
        )
        assert summary.contacts_updated == 2 and summary.failed == 0
        assert writes(hs).count(("POST", BATCH)) == 2  # the 502, then the retry
        assert len(hs.writes.contact_updates) == 2


def test_a_missing_contact_is_recorded_failed(migrated_engine: Engine, warehouse_url: str) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        with migrated_engine.begin() as conn:  # p1's contact id unknown to HubSpot
            p1_lead = "(SELECT source_lead_id FROM lead_people WHERE person_id = 'p1')"
            for table in ("leads", "lead_people"):  # the lead, then its person's row
                conn.execute(
                    sa.text(
                        f"UPDATE {table} SET source_lead_id = '999999' "
                        f"WHERE source = 'hubspot' AND source_lead_id IN {p1_lead}"
                    )
                )
        summary = run_writeback(
            settings(hs, warehouse_url, properties=True), now=NOW, engine=migrated_engine
        )
        assert summary.contacts_updated == 1 and summary.failed == 1
        failed = next(r for r in ledger(migrated_engine, "properties") if r["key"] == "p1")
        assert failed["status"] == "failed" and "OBJECT_NOT_FOUND" in failed["last_error"]
        assert failed["payload_hash"] is None  # written again next run
