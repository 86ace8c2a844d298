"""Which CRM a qualification's task goes to when several CRMs are written to."""

from __future__ import annotations

from datetime import UTC, datetime

from leadflow.models.writeback.plan import Candidate, Ledger, task_key
from leadflow.pipeline.writeback import assign_crm

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
CRMS = ["hubspot", "salesforce"]


def candidates(contact_hs: str | None, contact_sf: str | None, rep_source: str | None):
    def one(contact: str | None) -> Candidate:
        return Candidate("first_touch", "p1", AT, AT, "breached", contact, "o1", rep_source)

    return [[one(contact_hs)], [one(contact_sf)]]


def test_the_reps_crm_wins_when_the_person_has_a_lead_there() -> None:
    found = candidates("101", "00Q1", "salesforce")
    assert assign_crm(found, CRMS, {}) == {("first_touch", "p1", AT): 1}


def test_else_the_first_source_holding_a_lead() -> None:
    assert assign_crm(candidates(None, "00Q1", "hubspot"), CRMS, {}) == {
        ("first_touch", "p1", AT): 1
    }
    assert assign_crm(candidates("101", "00Q1", None), CRMS, {}) == {("first_touch", "p1", AT): 0}


def test_a_task_already_asked_for_stays_in_its_crm() -> None:
    ledger = {task_key("first_touch", "p1", AT): Ledger("k", "pending", crm="hubspot")}
    found = candidates("101", "00Q1", "salesforce")
    assert assign_crm(found, CRMS, ledger) == {("first_touch", "p1", AT): 0}


def test_no_lead_anywhere_stays_with_the_first_source() -> None:
    assert assign_crm(candidates(None, None, "salesforce"), CRMS, {}) == {
        ("first_touch", "p1", AT): 0
    }
