"""The HubSpot sandbox's contacts batch read with ``propertiesWithHistory``, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.history import HISTORY_LIMIT_MESSAGE
from leadflow.sandbox.hubspot.scopes import CONTACTS

PATH = "/crm/v3/objects/contacts/batch/read"
TRACKED = ["hs_lead_status", "lifecyclestage"]
AUTH = {"Authorization": "Bearer sandbox-hubspot-token"}


def batch_read(sandbox: HubSpotSandbox, ids: list[str], history=TRACKED, **body) -> Any:
    payload = {"inputs": [{"id": i} for i in ids], "properties": [], **body}
    if history is not None:
        payload["propertiesWithHistory"] = history
    return requests.post(sandbox.base_url + PATH, json=payload, headers=AUTH, timeout=10)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_each_contact_has_a_dated_history_newest_first_ending_at_its_value():
    with HubSpotSandbox.unthrottled(hubspot_contacts(60)) as sandbox:
        ids = sandbox.contact_ids()[:50]
        reply = batch_read(sandbox, ids, properties=TRACKED)
        contacts = {c["id"]: c for c in sandbox.contacts}
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "COMPLETE" and {"startedAt", "completedAt"} <= set(body)
    assert [r["id"] for r in body["results"]] == ids
    changed = 0
    for result in body["results"]:
        props = contacts[result["id"]]["properties"]
        assert set(result["propertiesWithHistory"]) == set(TRACKED)
        for name in TRACKED:
            entries = result["propertiesWithHistory"][name]
            stamps = [when(e["timestamp"]) for e in entries]
            assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == len(stamps)
            if not props.get(name):
                assert entries == []
                continue
            assert entries[0]["value"] == props[name] == result["properties"][name]
            assert stamps[-1] == when(props["createdate"])
            assert stamps[0] <= when(props["lastmodifieddate"])
            assert all({"value", "timestamp", "sourceType"} <= set(e) for e in entries)
            changed += len(entries) > 1
    assert changed >= 10  # most statuses went somewhere before their current value


def test_the_seeded_history_is_the_same_for_the_same_seed():
    contacts = hubspot_contacts(20)
    answers = []
    for _ in range(2):
        with HubSpotSandbox.unthrottled(contacts) as sandbox:
            answers.append(batch_read(sandbox, sandbox.contact_ids()).json()["results"])
    assert answers[0] == answers[1]


def test_changing_a_status_appends_an_entry_at_the_change_time():
    with HubSpotSandbox.unthrottled(hubspot_contacts(20)) as sandbox:
        contact = next(c for c in sandbox.contacts if c["properties"]["hs_lead_status"])
        cid, status = contact["id"], contact["properties"]["hs_lead_status"]
        before = batch_read(sandbox, [cid]).json()["results"][0]["propertiesWithHistory"]
        moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        new = "UNQUALIFIED" if status != "UNQUALIFIED" else "CONNECTED"
        sandbox.upsert_contact({"hs_object_id": cid, "hs_lead_status": new}, modified_at=moment)
        sandbox.upsert_contact({"hs_object_id": cid, "city": "Lyon"})  # no status change
        after = batch_read(sandbox, [cid]).json()["results"][0]["propertiesWithHistory"]
        sandbox.upsert_contact({"hs_object_id": cid, "hs_lead_status": ""})
        cleared = batch_read(sandbox, [cid]).json()["results"][0]["propertiesWithHistory"]
    assert after["hs_lead_status"][1:] == before["hs_lead_status"]
    assert after["lifecyclestage"] == before["lifecyclestage"]
    assert after["hs_lead_status"][0]["value"] == new
    assert when(after["hs_lead_status"][0]["timestamp"]) == moment
    assert cleared["hs_lead_status"][0]["value"] == ""
    assert cleared["hs_lead_status"][1:] == after["hs_lead_status"]


def test_a_contact_created_later_has_only_the_changes_made_to_it():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5)) as sandbox:
        created = sandbox.upsert_contact({"email": "new@example.org", "hs_lead_status": "OPEN"})
        history = batch_read(sandbox, [created["id"]]).json()["results"][0]
    entries = history["propertiesWithHistory"]
    assert [e["value"] for e in entries["hs_lead_status"]] == ["OPEN"]
    assert entries["lifecyclestage"] == []


def test_history_batches_take_at_most_50_inputs_and_plain_ones_100():
    with HubSpotSandbox.unthrottled(hubspot_contacts(120)) as sandbox:
        ids = sandbox.contact_ids()
        too_many = batch_read(sandbox, ids[:51])
        plain = batch_read(sandbox, ids[:100], history=None)
        over = batch_read(sandbox, ids[:101], history=None)
    assert too_many.status_code == 400
    assert too_many.json()["category"] == "VALIDATION_ERROR"
    assert too_many.json()["message"] == HISTORY_LIMIT_MESSAGE
    assert plain.status_code == 200 and len(plain.json()["results"]) == 100
    assert "propertiesWithHistory" not in plain.json()["results"][0]
    assert over.status_code == 400 and over.json()["category"] == "VALIDATION_ERROR"


def test_unknown_and_archived_ids_are_named_in_a_207():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5)) as sandbox:
        first, second = sandbox.contact_ids()[:2]
        sandbox.archive_contact(second)
        reply = batch_read(sandbox, [first, second, "999999"])
        archived = requests.post(
            sandbox.base_url + PATH + "?archived=true",
            json={"inputs": [{"id": second}], "properties": [], "propertiesWithHistory": []},
            headers=AUTH,
            timeout=10,
        )
    assert reply.status_code == 207
    body = reply.json()
    assert [r["id"] for r in body["results"]] == [first]
    assert body["numErrors"] == 1 and body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"]["ids"] == [second, "999999"]
    assert [r["id"] for r in archived.json()["results"]] == [second]


def test_a_batch_read_without_inputs_or_without_the_contacts_scope_is_refused():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5)) as sandbox:
        empty = batch_read(sandbox, [])
        sandbox.revoke_scope(CONTACTS)
        refused = batch_read(sandbox, sandbox.contact_ids()[:1])
    assert empty.status_code == 400 and empty.json()["category"] == "VALIDATION_ERROR"
    assert refused.status_code == 403 and refused.json()["category"] == "MISSING_SCOPES"


def test_a_batch_update_of_the_status_is_in_the_history_too():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5)) as sandbox:
        cid = sandbox.contact_ids()[0]
        update = {"inputs": [{"id": cid, "properties": {"hs_lead_status": "IN_PROGRESS"}}]}
        written = requests.post(
            sandbox.base_url + "/crm/v3/objects/contacts/batch/update",
            json=update,
            headers=AUTH,
            timeout=10,
        )
        history = batch_read(sandbox, [cid]).json()["results"][0]["propertiesWithHistory"]
    assert written.status_code == 200
    assert history["hs_lead_status"][0]["value"] == "IN_PROGRESS"
