"""A lead's form name reaches classification whatever connector loaded it: Meta attaches the
form as ``leadflow_form``, LinkedIn as ``form``; both must make a "Contact Sales" form a
hand-raiser, read from the lead itself and from the warehouse's columns alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.meta.fields import FORM_KEY
from leadflow.connectors.meta.fields import to_lead as meta_lead
from leadflow.models.loading.leads import load_batch
from leadflow.models.people.classification_store import read_person_facts
from leadflow.models.people.facts import LeadFacts
from leadflow.models.people.rules import default_rules
from leadflow.pipeline.people import resolve_and_classify

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _meta_record() -> dict:
    return {
        "id": "120211111111111111",
        "created_time": "2026-11-19T10:00:00+0000",
        "form_id": "1159645237490817",
        "field_data": [
            {"name": "email", "values": ["ana.lopez@example.com"]},
            {"name": "full_name", "values": ["Ana Lopez"]},
        ],
        FORM_KEY: {"id": "1159645237490817", "name": "Contact Sales - Q4 2026"},
    }


def test_a_meta_lead_carries_its_form_name_to_classification():
    lead = meta_lead(_meta_record(), LeadContext("meta", "page-1", "US"))
    assert LeadFacts.from_lead(lead).form_name == "Contact Sales - Q4 2026"


@pytest.mark.usefixtures("warehouse_url")
def test_a_meta_contact_sales_lead_is_qualified_from_the_warehouse(migrated_engine):
    lead = meta_lead(_meta_record(), LeadContext("meta", "page-1", "US"))
    with migrated_engine.begin() as conn:
        load_batch(conn, source="meta", account_id="page-1", leads=[lead], rejected=(),
                   watermark=lead.created_at, cursor=None, now=NOW)  # fmt: skip
    resolve_and_classify(migrated_engine, rules=default_rules(), now=NOW, run_id="r1")
    with migrated_engine.connect() as conn:
        from leadflow.models.warehouse.tables import people

        [(pid, lifecycle, reasons)] = conn.execute(
            people.select().with_only_columns(
                people.c.person_id, people.c.lifecycle, people.c.reasons
            )
        ).all()
        [facts] = read_person_facts(conn, [pid])
    assert facts.leads[0].form_name == "Contact Sales - Q4 2026"
    assert lifecycle == "mql"
    assert "signal:contact_sales" in reasons
