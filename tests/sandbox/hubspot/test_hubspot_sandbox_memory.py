"""What keeps the HubSpot sandbox small at a million contacts, without changing its answers:
handed-over contacts kept as they are (writes copy first), reads with history not held,
search through a typed view of the stored properties instead of a typed copy."""

from __future__ import annotations

import copy

import requests

from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.search import RAW, Typed

AUTH = {"Authorization": "Bearer sandbox-hubspot-token"}
BATCH_READ = "/crm/v3/objects/contacts/batch/read"
TRACKED = ["hs_lead_status", "lifecyclestage"]


def _history(sandbox: HubSpotSandbox, ids: list[str]) -> dict[str, dict]:
    payload = {"inputs": [{"id": i} for i in ids], "propertiesWithHistory": TRACKED}
    reply = requests.post(sandbox.base_url + BATCH_READ, json=payload, headers=AUTH, timeout=10)
    assert reply.status_code == 200
    return {r["id"]: r["propertiesWithHistory"] for r in reply.json()["results"]}


def _patch(sandbox: HubSpotSandbox, contact_id: str, properties: dict) -> None:
    sandbox.upsert_contact({"hs_object_id": contact_id, **properties})


def test_handed_over_contacts_are_never_changed_by_writes():
    contacts = hubspot_contacts(30)
    before = copy.deepcopy(contacts)
    with HubSpotSandbox.unthrottled(contacts, handed_over=True) as sandbox:
        target = contacts[3]["id"]
        _patch(sandbox, target, {"hs_lead_status": "CONNECTED", "jobtitle": "Buyer"})
        stored = {c["id"]: c for c in sandbox.contacts}
    assert contacts == before  # the caller's dicts: as handed over
    assert stored[target]["properties"]["jobtitle"] == "Buyer"
    assert stored[contacts[4]["id"]]["properties"] == before[4]["properties"]


def test_history_read_again_is_the_same_and_not_held():
    with HubSpotSandbox.unthrottled(hubspot_contacts(60)) as sandbox:
        ids = sandbox.contact_ids()[:50]
        first, again = _history(sandbox, ids), _history(sandbox, ids)
        held = len(sandbox.history._entries)
        _patch(sandbox, ids[0], {"hs_lead_status": "UNQUALIFIED"})
        after = _history(sandbox, ids[:1])[ids[0]]["hs_lead_status"]
    assert first == again and held == 0
    # A write fixes the history it had, then appends the new value (newest first).
    assert after[0]["value"] == "UNQUALIFIED" and after[1:] == first[ids[0]]["hs_lead_status"]


def test_search_reads_typed_values_through_a_view_of_the_stored_properties():
    properties = {"email": "A@Example.com", "createdate": "2026-09-04T16:21:03.663Z", "x": ""}
    properties["lastmodifieddate"] = "not a date"
    view = Typed(properties)
    assert view[RAW] is properties and view.raw is properties
    assert view["email"] == "a@example.com" and view["createdate"] == 1788538863663
    # unset, empty and malformed (unsearchable) values read as absent
    assert view.get("x") is None and view.get("lastmodifieddate") is None
    assert view.get("phone", "none") == "none"
    try:
        view["x"]
    except KeyError:
        pass
    else:
        raise AssertionError("an empty value is not in the view")
