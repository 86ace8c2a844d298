"""The LinkedIn sandbox's test leads (``testLead: true``) and unreadable lead forms (404/403)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.helpers import CONTACT_FIELDS
from tests.sandbox.linkedin.restli_client import ORG, RESPONSES, Client, leads_query


def test_a_test_lead_without_answers_is_served_and_filtered(sandbox: LinkedInSandbox) -> None:
    added = sandbox.add_test_lead(7100304, submitted_at=DEFAULT_ANCHOR - timedelta(minutes=1))
    client = Client(sandbox)
    newest = client.get(RESPONSES, leads_query(ORG, "COMPANY", count=1)).json()["elements"]
    assert newest == [added]
    assert added["testLead"] is True and added["formResponse"]["answers"] == []
    only_tests = client.all_leads(ORG, "COMPANY", limitedToTestLeads="true")
    assert added in only_tests and all(lead["testLead"] for lead in only_tests)


def test_a_test_lead_can_leave_out_only_the_contact_questions(sandbox: LinkedInSandbox) -> None:
    lead = sandbox.add_test_lead(7100304, answers="no_contact")
    fields = sandbox.dataset.answers_by_field(lead)
    assert fields and not set(fields) & CONTACT_FIELDS
    assert "FIRST_NAME" in fields
    other = sandbox.add_response(7100304)
    assert other["id"] != lead["id"]  # two added leads never share an id


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (404, "NOT_FOUND", "Lead form 7100304 does not exist"),
        (403, "ACCESS_DENIED", "Not enough permissions to access: leadForms.GET"),
    ],
)
def test_an_unreadable_form_refuses_only_its_own_lookup(
    sandbox: LinkedInSandbox, status: int, code: str, message: str
) -> None:
    client = Client(sandbox)
    before = client.all_leads(ORG, "COMPANY")
    sandbox.make_form_unreadable(7100304, status)
    refused = client.get("/rest/leadForms/7100304")
    assert refused.status_code == status
    assert refused.json()["code"] == code and refused.json()["message"] == message
    assert client.get("/rest/leadForms/7100305").status_code == 200
    assert client.all_leads(ORG, "COMPANY") == before  # its responses are still listed
    with pytest.raises(ValueError, match="404 or 403"):
        sandbox.make_form_unreadable(7100305, 500)  # type: ignore[arg-type]
