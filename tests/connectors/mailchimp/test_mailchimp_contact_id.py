"""Mailchimp's ``contact_id`` (issue 19): a member's ``id`` is the MD5 of its lowercased
address, so a subscriber who changes address is a new member id (a new lead), while its
``contact_id`` stays; the lead carries it as a column and identity joins the two leads."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.connectors.base import LeadContext
from leadflow.connectors.mailchimp.connector import CONNECTOR, MailchimpConfig
from leadflow.connectors.mailchimp.fields import to_lead
from leadflow.models.loading.lead_rows import encode_lead, lead_row
from leadflow.models.people.identity import resolve
from leadflow.models.people.identity_store import (
    read_lead_keys,
    read_previous_person_ids,
    save_identity,
)
from leadflow.models.warehouse.person_links import LEAD_PERSON, leads_with_people
from leadflow.models.warehouse.tables import leads, person_merges
from leadflow.pipeline.source_sync import RunContext, sync_account
from leadflow.sandbox.mailchimp.app import MailchimpSandbox
from leadflow.sandbox.mailchimp.data import mailchimp_dataset

NOW = datetime.now(UTC).replace(microsecond=0)
LIST_ID = "57afe96172"
EMAIL = "Urist.McVankab@Freddiesjokes.com"
CONTACT_ID = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
# Its member id (MD5) sorts first: the new lead anchors the person (both were created at
# the member's signup), so the first run's person id is retired through contact_id.
NEW_ADDRESS = "changed.address.121@example.com"
NOWHERE = {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0, "country_code": "",
           "timezone": "", "region": ""}  # fmt: skip


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def member_body(**changes: Any) -> dict[str, Any]:
    """A list member as ``GET /lists/{list_id}/members`` returns it (the documented fields,
    unset strings as "")."""
    body: dict[str, Any] = {
        "id": md5(EMAIL),
        "email_address": EMAIL,
        "unique_email_id": "a7c9e2f1b3",
        "contact_id": CONTACT_ID,
        "full_name": "Urist McVankab",
        "web_id": 123456789,
        "email_type": "html",
        "status": "subscribed",
        "consents_to_one_to_one_messaging": True,
        "merge_fields": {"FNAME": "Urist", "LNAME": "McVankab", "ADDRESS": "", "PHONE": ""},
        "interests": {"9143cf3bd1": True, "3a2a927344": False},
        "stats": {"avg_open_rate": 0.5, "avg_click_rate": 0.25},
        "ip_signup": "",
        "timestamp_signup": "",
        "ip_opt": "198.51.100.23",
        "timestamp_opt": "2026-10-02T15:13:04+00:00",
        "member_rating": 2,
        "last_changed": "2026-11-20T14:50:56+00:00",
        "language": "",
        "vip": False,
        "email_client": "",
        "location": NOWHERE,
        "marketing_permissions": [],
        "source": "Admin Add",
        "tags_count": 0,
        "tags": [],
        "list_id": LIST_ID,
    }
    return body | changes


def test_a_member_body_maps_contact_id_to_its_column_and_keeps_it_in_custom_fields():
    lead = to_lead(member_body(), LeadContext("mailchimp", LIST_ID, "US"))
    assert lead.source_lead_id == f"{LIST_ID}:{md5(EMAIL)}" and lead.account_id == LIST_ID
    assert lead.contact_id == CONTACT_ID
    assert lead.custom_fields["contact_id"] == CONTACT_ID
    assert lead_row(lead)["contact_id"] == CONTACT_ID
    no_contact = to_lead(member_body(contact_id=""), LeadContext("mailchimp", LIST_ID, "US"))
    assert no_contact.contact_id is None and "contact_id" not in no_contact.custom_fields


def test_the_new_address_is_a_new_lead_of_the_same_contact():
    context = LeadContext("mailchimp", LIST_ID, "US")
    before = to_lead(member_body(), context)
    new = "urist.new@freddiesjokes.com"
    after = to_lead(member_body(id=md5(new), email_address=new), context)
    assert after.source_lead_id != before.source_lead_id
    assert (after.contact_id, after.email_match_key) == (CONTACT_ID, new)


def test_contact_id_leaves_row_hash_as_it_was():
    """The column is read from ``raw`` (hashed): hashes loaded before the column stay."""
    lead = to_lead(member_body(), LeadContext("mailchimp", LIST_ID, "US"))
    assert encode_lead(replace(lead, contact_id=None))[-1] == encode_lead(lead)[-1]
    assert encode_lead(replace(lead, raw={}))[-1] != encode_lead(lead)[-1]


def test_the_sandbox_changes_the_member_id_with_the_address_and_keeps_contact_id():
    with MailchimpSandbox(mailchimp_dataset(40, anchor=NOW), api_key="cid-key-us21") as sandbox:
        list_id = sandbox.dataset.lists[0]["id"]
        before = sandbox.dataset.members(list_id)[0]
        new = "changed.address.19@example.com"
        changed = sandbox.change_email(list_id, before["email_address"], new, last_changed=NOW)
        auth = ("anystring", sandbox.api_key)
        path = f"/lists/{list_id}/members"
        moved = requests.get(sandbox.url(f"{path}/{md5(new)}"), auth=auth, timeout=10)
        gone = requests.get(sandbox.url(f"{path}/{before['id']}"), auth=auth, timeout=10)
    assert moved.status_code == 200 and gone.status_code == 404
    found = moved.json()
    assert (found["id"], found["email_address"]) == (md5(new), new) == (changed["id"], new)
    assert (found["contact_id"], found["web_id"]) == (before["contact_id"], before["web_id"])
    assert found["unique_email_id"] != before["unique_email_id"]


def identify(engine: Engine, run_id: str, now: datetime) -> None:
    with engine.begin() as conn:
        keys, previous = read_lead_keys(conn), read_previous_person_ids(conn)
        save_identity(conn, resolve(keys, previous), now, run_id)


def test_a_member_whose_email_changed_loads_as_two_leads_of_one_person(migrated_engine):
    with MailchimpSandbox(mailchimp_dataset(60, anchor=NOW), api_key="cid-key-us21") as sandbox:
        list_id = sandbox.dataset.lists[0]["id"]
        before = next(m for m in sandbox.dataset.members(list_id) if m["status"] == "subscribed")
        source = MailchimpConfig(
            base_url=sandbox.base_url, api_key=sandbox.api_key, backoff_seconds=0.01,
            list_ids=[list_id], page_size=50,
        )  # fmt: skip
        first_at, second_at = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
        first = sync_account(
            CONNECTOR, source, list_id, RunContext(migrated_engine, "r1", clock=lambda: first_at)
        )
        identify(migrated_engine, "r1", first_at)
        new = NEW_ADDRESS
        sandbox.change_email(list_id, before["email_address"], new, last_changed=NOW)
        second = sync_account(
            CONNECTOR, source, list_id, RunContext(migrated_engine, "r2", clock=lambda: second_at)
        )
        members = len(sandbox.dataset.members(list_id))
    assert (first.status, first.inserted, second.status, second.inserted) == (
        "succeeded", members, "succeeded", 1,
    )  # fmt: skip
    identify(migrated_engine, "r2", second_at)
    with migrated_engine.connect() as conn:
        query = sa.select(leads.c.source_lead_id, leads.c.email, LEAD_PERSON.label("person_id"))
        query = query.select_from(leads_with_people(outer=True))
        rows = conn.execute(query.where(leads.c.contact_id == before["contact_id"])).all()
        stored = conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one()
        blank = conn.execute(
            sa.select(sa.func.count()).select_from(leads).where(leads.c.contact_id.is_(None))
        ).scalar_one()
        merges = conn.execute(sa.select(person_merges.c.reason, person_merges.c.bridging_key)).all()
    assert stored == members + 1 and blank == 0  # the old member's lead stays
    assert sorted(r.source_lead_id for r in rows) == sorted(
        [f"{list_id}:{before['id']}", f"{list_id}:{md5(new)}"]
    )
    assert {r.email for r in rows} == {before["email_address"].lower(), new}
    assert len({r.person_id for r in rows}) == 1 and rows[0].person_id is not None
    assert md5(new) < before["id"]
    assert [tuple(m) for m in merges] == [
        ("contact_id", f"mailchimp:{list_id}:{before['contact_id']}")
    ]
