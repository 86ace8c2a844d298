"""Issue 19, LinkedIn: test leads without contact answers, and lead forms that cannot be read.

Against the LinkedIn sandbox over real HTTP (``testLead: true`` responses, a form whose
``GET /rest/leadForms/{id}`` answers 404 or 403), then through the lead sync into a warehouse.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadflow.connectors.base import LeadContext
from leadflow.connectors.linkedin.connector import (
    CONNECTOR,
    LinkedInConfig,
    open_session,
    pages,
    to_lead,
)
from leadflow.models.records.leads import InvalidRecord, Lead
from leadflow.models.warehouse.tables import leads, quarantine
from leadflow.pipeline.source_sync import RunContext, sync_account
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset

TOKEN = "test-linkedin-token-19"
AMERICAS, ORG = "510000101", "2414183"
ACCOUNT = f"sponsoredAccount:{AMERICAS}"
DEMO, EBOOK = 7100101, 7100102  # the Americas account's two forms (sandbox data)
CONTEXT = LeadContext("linkedin", ACCOUNT, "US")


def config(sandbox: LinkedInSandbox, **overrides: object) -> LinkedInConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "sponsored_account_ids": [AMERICAS],
        "organization_ids": [ORG],
        "backoff_seconds": 0.01,
        **overrides,
    }
    return LinkedInConfig(**values)


def read(sandbox: LinkedInSandbox, account: str = ACCOUNT, **overrides: object) -> list:
    client = open_session(config(sandbox, **overrides))
    try:
        return list(pages(client, account, lambda _: None))
    finally:
        client.close()


def mapped(found_pages: list) -> tuple[dict[str, Lead], dict[str, InvalidRecord]]:
    loaded, rejected = {}, {}
    for page in found_pages:
        for record in page.records:
            try:
                lead = to_lead(record, CONTEXT)
            except InvalidRecord as error:
                rejected[str(record["id"])] = error
            else:
                loaded[lead.source_lead_id] = lead
    return loaded, rejected


def recent(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


@pytest.fixture
def sandbox():
    with LinkedInSandbox(linkedin_dataset(80, seed=19), token=TOKEN) as li:
        yield li


def test_a_test_lead_without_answers_loads_flagged_and_a_real_one_is_still_rejected(sandbox):
    test = sandbox.add_test_lead(DEMO, submitted_at=recent(5))
    partial = sandbox.add_test_lead(EBOOK, answers="no_contact", submitted_at=recent(6), seed=2)
    real = sandbox.add_response(DEMO, answers="none", submitted_at=recent(7))
    assert test["testLead"] is True and test["formResponse"]["answers"] == []
    loaded, rejected = mapped(read(sandbox))
    lead = loaded[test["id"]]
    assert lead.is_test is True and (lead.email, lead.phone) == (None, None)
    assert lead.form_id == str(DEMO) and lead.campaign_id is not None
    assert loaded[partial["id"]].is_test and loaded[partial["id"]].first_name
    assert loaded[partial["id"]].email is None
    assert real["id"] not in loaded
    assert rejected[real["id"]].field_name == "email"
    assert "no way to reach this lead" in rejected[real["id"]].reason
    assert set(rejected) == {real["id"]}


def test_an_excluded_test_lead_is_not_read_at_all(sandbox):
    test = sandbox.add_test_lead(DEMO, submitted_at=recent(5))
    loaded, rejected = mapped(read(sandbox, include_test_leads=False))
    assert test["id"] not in loaded and test["id"] not in rejected


@pytest.mark.parametrize("status", [404, 403])
def test_an_unreadable_form_does_not_stop_the_other_forms(sandbox, status):
    contactless = sandbox.add_response(DEMO, answers="no_contact", submitted_at=recent(3))
    sandbox.make_form_unreadable(DEMO, status)
    found = read(sandbox, count=7)  # several pages: the warning must come once
    loaded, rejected = mapped(found)

    owner = f"urn:li:sponsoredAccount:{AMERICAS}"
    every = {lead["id"]: lead for lead in sandbox.dataset.responses(owner, "SPONSORED")}
    ebook = {i for i, lead in every.items() if f"leadGenForm:{EBOOK}," in lead["versionedLeadGenFormUrn"]}  # fmt: skip
    demo = set(every) - ebook
    assert ebook and demo
    # The readable form's leads load completely and labeled as before.
    assert ebook <= set(loaded)
    for lead_id in ebook:
        who = sandbox.dataset.people[lead_id]
        assert loaded[lead_id].email == who.email.lower()
        assert "unreadable" not in str(loaded[lead_id].custom_fields)
    # The unreadable form's leads load with answers keyed by question id, email by its shape.
    assert set(loaded) | set(rejected) == set(every)
    assert set(rejected) == {contactless["id"]}
    error = rejected[contactless["id"]]
    assert (error.field_name, error.reason) == ("form", f"form {DEMO} unreadable (HTTP {status})")  # fmt: skip
    for lead_id in demo - {contactless["id"]}:
        lead, who = loaded[lead_id], sandbox.dataset.people[lead_id]
        assert lead.email == who.email.lower() and lead.form_id == str(DEMO)
        keys = {k for k in lead.custom_fields if not k.startswith("_")}
        assert keys and all(k.startswith("question_") for k in keys)
        assert lead.custom_fields["_invalid"]["form"].startswith(f"unreadable (HTTP {status}")
    # One warning naming the form and the status, and no token; the form asked once.
    notes = [note for page in found for note in page.notes]
    assert notes == [
        f"linkedin: lead form {DEMO} unreadable (HTTP {status}); its leads load with "
        "their answers keyed by question id"
    ]
    assert TOKEN not in str(notes)
    asked = Counter(r.path for r in sandbox.requests)
    assert asked[f"/rest/leadForms/{DEMO}"] == 1 and asked[f"/rest/leadForms/{EBOOK}"] == 1
    pages_needed = -(-len(every) // 7)
    test_pages = -(-sum(lead["testLead"] for lead in every.values()) // 7) or 1
    assert asked["/rest/leadFormResponses"] == pages_needed + test_pages  # no loops
    assert sum(asked.values()) == pages_needed + test_pages + 2


def test_an_unreadable_form_through_the_lead_sync(sandbox, migrated_engine):
    test = sandbox.add_test_lead(DEMO, submitted_at=recent(4))
    real = sandbox.add_response(DEMO, answers="none", submitted_at=recent(5))
    sandbox.make_form_unreadable(DEMO, 404)
    now = datetime.now(UTC)
    run = RunContext(engine=migrated_engine, run_id="li-19", clock=lambda: now)
    summary = sync_account(CONNECTOR, config(sandbox), ACCOUNT, run)
    owner = f"urn:li:sponsoredAccount:{AMERICAS}"
    every = sandbox.dataset.responses(owner, "SPONSORED")
    assert summary.status == "succeeded"
    assert (summary.records, summary.quarantined) == (len(every), 1)
    assert [w for w in summary.warnings if "unreadable (HTTP" in w and "lead form" in w] == [
        f"linkedin: lead form {DEMO} unreadable (HTTP 404); its leads load with "
        "their answers keyed by question id"
    ]
    with migrated_engine.connect() as conn:
        stored = dict(conn.execute(sa.select(leads.c.source_lead_id, leads.c.is_test)).all())
        held = conn.execute(sa.select(quarantine.c.record_key, quarantine.c.reason)).all()
    assert stored[test["id"]] is True
    assert len(stored) == len(every) - 1
    assert [(key, reason) for key, reason in held] == [
        (real["id"], f"form {DEMO} unreadable (HTTP 404)")
    ]


def test_to_lead_exempts_only_test_leads_from_needing_a_contact():
    record = {
        "id": "b1-2",
        "leadType": "SPONSORED",
        "submittedAt": 1764000000000,
        "testLead": True,
        "versionedLeadGenFormUrn": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:3162,1)",
        "formResponse": {"answers": [], "consentResponses": []},
        "form": {"id": 3162, "content": {"questions": []}},
    }
    lead = to_lead(record, CONTEXT)
    assert lead.is_test and lead.email is None and lead.phone is None
    with pytest.raises(InvalidRecord, match="no way to reach this lead"):
        to_lead({**record, "testLead": False}, CONTEXT)


def test_to_lead_of_an_unreadable_form_keeps_answers_by_question_id():
    answers = [
        {"questionId": 11, "answerDetails": {"textQuestionAnswer": {"answer": "Ann"}}},
        {"questionId": 12, "answerDetails": {"textQuestionAnswer": {"answer": "Ann@Example.com"}}},
        {"questionId": 13, "answerDetails": {"multipleChoiceAnswer": {"options": [2]}}},
    ]
    record = {
        "id": "c3-4",
        "submittedAt": 1764000000000,
        "testLead": False,
        "versionedLeadGenFormUrn": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:77,1)",
        "formResponse": {"answers": answers},
        "form": {"id": "77", "unreadable": "HTTP 403"},
    }
    lead = to_lead(record, CONTEXT)
    assert lead.email == "ann@example.com" and lead.is_test is False
    assert lead.custom_fields["question_11"] == "Ann"
    assert lead.custom_fields["question_13"] == "2"
    assert "question_12" not in lead.custom_fields
    no_email = {**record, "formResponse": {"answers": answers[:1]}}
    with pytest.raises(InvalidRecord) as caught:
        to_lead(no_email, CONTEXT)
    assert caught.value.reason == "form 77 unreadable (HTTP 403)"
    assert to_lead({**no_email, "testLead": True}, CONTEXT).is_test
