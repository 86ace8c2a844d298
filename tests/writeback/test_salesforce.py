"""Write-back to Salesforce: a Task per breach on the lead, once; leadflow's fields on leads;
and, with HubSpot beside it, one task per qualification in one CRM."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.config.settings import Settings
from leadflow.config.writeback import WritebackSettings
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.models.warehouse.tables import leads, people
from leadflow.pipeline.writeback import run_writeback
from leadflow.sandbox.salesforce.app import CLIENT_ID, SalesforceSandbox
from leadflow.sandbox.salesforce.keys import shared_key_pair
from tests.people_links import link_leads
from tests.writeback.support import NOW, evaluation, ledger, portal, seed_people
from tests.writeback.support import settings as hubspot_settings

ORG = "00D5g0000000001EAA"
TASK = "/sobjects/Task"


@contextmanager
def org(**kw: Any) -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox.unthrottled(20, activities=False, **kw) as sf:
        yield sf


def source(sf: SalesforceSandbox) -> SalesforceConfig:
    return SalesforceConfig(
        base_url=sf.url, client_id=CLIENT_ID, username=sf.username,
        private_key=shared_key_pair().private_pem, org_id=ORG, max_attempts=3,
        backoff_seconds=0,
    )  # fmt: skip


def settings(sf: SalesforceSandbox, url: str, hs: Any = None, **writeback: Any) -> Settings:
    sources: dict[str, Any] = {"salesforce": source(sf)}
    if hs is not None:
        sources = {"hubspot": hubspot_settings(hs, url).sources["hubspot"], **sources}
    options = {"enabled": True} | writeback
    return Settings(warehouse_url=url, sources=sources, writeback=WritebackSettings(**options))


def seed_leads(engine: Engine, sf: SalesforceSandbox, count: int = 2) -> list[dict[str, Any]]:
    """People p1.. each with a Salesforce lead of the sandbox org, owned by its owner."""
    found = sf.records("Lead")[:count]
    t0 = NOW - timedelta(days=2)
    with engine.begin() as conn:
        for index, lead in enumerate(found, 1):
            pid = f"p{index}"
            exists = conn.execute(sa.select(people.c.person_id).where(people.c.person_id == pid))
            if exists.first() is None:
                conn.execute(people.insert().values(
                    person_id=pid, created_at=t0, updated_at=t0, stage="qualified",
                    lifecycle="mql", fit=40 + index, engagement=12.5, reasons=["form"],
                ))  # fmt: skip
            conn.execute(leads.insert().values(
                source="salesforce", source_lead_id=lead["Id"], account_id=ORG, created_at=t0,
                updated_at=t0, is_test=False, custom_fields={}, raw={}, row_hash="x" * 64,
                owner_id=lead["OwnerId"], first_loaded_at=t0, last_changed_at=t0,
            ))  # fmt: skip
            link_leads(conn, [("salesforce", lead["Id"], pid)])
    return found


def tasks(sf: SalesforceSandbox) -> list[Any]:
    return [w for w in sf.writes if w.object_name == "Task"]


def posts(sf: SalesforceSandbox) -> int:
    return sum(1 for r in sf.requests if r.method == "POST" and r.path.endswith(TASK))


def test_a_breach_becomes_one_task_on_the_lead_across_reruns(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with org() as sf:
        lead = seed_leads(migrated_engine, sf, 1)[0]
        evaluation(migrated_engine, "p1", "breached")
        config = settings(sf, warehouse_url)
        first = run_writeback(config, now=NOW, engine=migrated_engine)
        again = run_writeback(config, now=NOW + timedelta(hours=1), engine=migrated_engine)
        assert len(tasks(sf)) == 1 and posts(sf) == 1
        assert first.created[0][3] == "salesforce" and again.created == []
        written = tasks(sf)[0].fields
        assert written["WhoId"] == lead["Id"] and written["OwnerId"] == lead["OwnerId"]
        assert written["ActivityDate"] == (NOW - timedelta(minutes=30)).date().isoformat()
        assert written["Priority"] == "High" and written["TaskSubtype"] == "Call"
        assert written["Subject"].startswith("leadflow SLA: First touch overdue [lfwb")
        row = ledger(migrated_engine)[0]
        assert (row["crm"], row["status"], row["object_id"]) == (
            "salesforce", "created", tasks(sf)[0].id,
        )  # fmt: skip


def test_a_5xx_on_create_is_found_by_search_not_created_twice(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with org() as sf:
        seed_leads(migrated_engine, sf, 1)
        evaluation(migrated_engine, "p1", "breached")
        config = settings(sf, warehouse_url)

        def stored_then_500(response: Any) -> Any:
            response.status = 500  # Salesforce stored the task, then the answer failed
            return response

        sf.faults.push_transform(stored_then_500, method="POST", path=f"{TASK}$")
        first = run_writeback(config, now=NOW, engine=migrated_engine)
        assert first.created == [] and ledger(migrated_engine)[0]["status"] == "pending"
        later = run_writeback(config, now=NOW + timedelta(minutes=10), engine=migrated_engine)
        assert later.found == 1 and later.created == []
        assert len(tasks(sf)) == 1 and posts(sf) == 1
        assert ledger(migrated_engine)[0]["object_id"] == tasks(sf)[0].id


def test_a_refused_task_is_recorded_failed_naming_the_field(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with org() as sf:
        seed_leads(migrated_engine, sf, 1)
        evaluation(migrated_engine, "p1", "breached", rep_id="005NOSUCHUSER0000")
        with migrated_engine.begin() as conn:  # the evaluation's rep is Salesforce's: used
            conn.execute(sa.text("UPDATE sla_evaluations SET rep_source = 'salesforce'"))
        summary = run_writeback(settings(sf, warehouse_url), now=NOW, engine=migrated_engine)
        row = ledger(migrated_engine)[0]
        assert summary.failed == 1 and row["status"] == "failed"
        assert row["last_error"].startswith("HTTP 400 MALFORMED_ID on POST ")
        assert row["last_error"].endswith(": OwnerId")


def test_properties_are_written_to_the_leads_once(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with org() as sf:
        found = seed_leads(migrated_engine, sf, 2)
        config = settings(sf, warehouse_url, properties=True)
        first = run_writeback(config, now=NOW, engine=migrated_engine)
        assert first.contacts_updated == 2
        values = {row["Id"]: row for row in sf.records("Lead")}
        lead = values[found[0]["Id"]]
        assert (lead["Leadflow_Stage__c"], lead["Leadflow_Fit_Score__c"]) == ("qualified", "41")
        again = run_writeback(config, now=NOW, engine=migrated_engine)
        assert again.contacts_updated == 0 and len(sf.updates.updates) == 2


def test_missing_lead_fields_are_named_and_nothing_is_written(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with org(leadflow_fields=False) as sf:
        seed_leads(migrated_engine, sf, 1)
        config = settings(sf, warehouse_url, properties=True)
        summary = run_writeback(config, now=NOW, engine=migrated_engine)
        row = ledger(migrated_engine, "properties")[0]
        assert summary.failed == 1 and sf.updates.updates == []
        assert "Leadflow_Stage__c" in row["last_error"] and "Setup" in row["last_error"]


@pytest.mark.parametrize(("rep_source", "crm"), [("salesforce", "salesforce"),
                                                 ("hubspot", "hubspot")])  # fmt: skip
def test_a_person_in_both_crms_gets_one_task_in_the_reps_crm(
    migrated_engine: Engine, warehouse_url: str, rep_source: str, crm: str
) -> None:
    with org() as sf, portal() as hs:
        hubspot_owner = seed_people(migrated_engine, hs, 1)[0]["owner_id"]
        salesforce_owner = seed_leads(migrated_engine, sf, 1)[0]["OwnerId"]
        rep = salesforce_owner if rep_source == "salesforce" else hubspot_owner
        evaluation(migrated_engine, "p1", "breached", rep_id=rep)
        with migrated_engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE sla_evaluations SET rep_source = '{rep_source}'"))
        config = settings(sf, warehouse_url, hs)
        for hours in (0, 1):
            run_writeback(config, now=NOW + timedelta(hours=hours), engine=migrated_engine)
        assert (len(tasks(sf)), len(hs.writes.tasks)) == ((1, 0) if crm == "salesforce" else (0, 1))
        assert [row["crm"] for row in ledger(migrated_engine)] == [crm]
