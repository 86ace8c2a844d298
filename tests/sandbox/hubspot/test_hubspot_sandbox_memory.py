"""What keeps the HubSpot sandbox small at a million contacts, without changing its answers:
handed-over contacts kept as they are (writes copy first), reads with history not held,
search through a typed view of the stored properties instead of a typed copy, plain objects
held as tuples of values (rebuilt equal when read), contacts taken one at a time from a
generator, generated engagements held by the stores alone."""

from __future__ import annotations

import copy

import pytest
import requests

from leadflow.sandbox.data import hubspot_contacts, iter_hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.sales_data import hubspot_sales_data
from leadflow.sandbox.hubspot.search import Typed
from leadflow.sandbox.hubspot.store import ObjectStore

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
    assert view.stored("email") == "A@Example.com" and view.raw is properties
    assert view["email"] == "a@example.com" and view["createdate"] == 1788538863663
    # unset, empty and malformed (unsearchable) values read as absent
    assert view.get("x") is None and view.get("lastmodifieddate") is None
    assert view.get("phone", "none") == "none"
    with pytest.raises(KeyError):
        view["x"]


def test_plain_objects_are_held_as_values_and_read_back_equal_in_the_same_order():
    contacts = hubspot_contacts(40)
    store = ObjectStore(copy.deepcopy(contacts), handed_over=True)
    for contact in contacts:
        record = store._records[contact["id"]]
        assert record.shape is not None and isinstance(record.raw, tuple)
        read = store.get(contact["id"])
        assert read == contact and list(read) == list(contact)
        assert list(read["properties"]) == list(contact["properties"])
    assert store.all() == contacts and list(store.objects()) == contacts


def test_objects_that_are_not_plain_are_kept_as_they_are():
    contacts = hubspot_contacts(5)
    odd = copy.deepcopy(contacts)
    odd[0]["properties"]["hs_object_id"] = "999"  # not its id
    odd[1]["updatedAt"] = "2026-01-01T00:00:00.000Z"  # not its lastmodifieddate
    odd[2]["properties"]["city"] = 7  # not a string
    odd[3]["extra"] = True
    store = ObjectStore(odd, handed_over=True)
    for obj in odd[:4]:
        assert store._records[obj["id"]].shape is None and store.get(obj["id"]) is obj
    store.set_archived(odd[4]["id"], True)
    assert store._records[odd[4]["id"]].shape is None and store.get(odd[4]["id"])["archived"]


def test_a_generator_of_contacts_serves_what_the_list_does():
    with (
        HubSpotSandbox.unthrottled(hubspot_contacts(120), handed_over=True) as listed,
        HubSpotSandbox.unthrottled(iter_hubspot_contacts(120), handed_over=True) as streamed,
    ):
        assert streamed.contacts == listed.contacts
        for kind in ("calls", "emails", "meetings"):
            assert streamed.engagements(kind) == listed.engagements(kind)
            assert list(streamed.sales.engagements[kind]) == listed.engagements(kind)
        assert streamed.sales.associations == listed.sales.associations
        assert streamed.sales.associations == hubspot_sales_data(hubspot_contacts(120)).associations
        target = streamed.contact_ids()[7]
        assert streamed.touches_for(target) == listed.touches_for(target)


def test_writes_to_compactly_held_contacts_survive_and_are_served():
    with HubSpotSandbox.unthrottled(iter_hubspot_contacts(50), handed_over=True) as sandbox:
        ids = sandbox.contact_ids()
        update = {"inputs": [{"id": ids[2], "properties": {"city": "Lisbon", "jobtitle": "CEO"}}]}
        url = sandbox.base_url + "/crm/v3/objects/contacts/batch/update"
        assert requests.post(url, json=update, headers=AUTH, timeout=10).status_code == 200
        _patch(sandbox, ids[3], {"hs_lead_status": "CONNECTED"})
        read = requests.get(
            f"{sandbox.base_url}/crm/v3/objects/contacts/{ids[2]}",
            params={"properties": "city,jobtitle"},
            headers=AUTH,
            timeout=10,
        ).json()
        assert read["properties"]["city"] == "Lisbon" and read["properties"]["jobtitle"] == "CEO"
        assert read["updatedAt"] == read["properties"]["lastmodifieddate"]
        history = _history(sandbox, [ids[3]])[ids[3]]["hs_lead_status"]
        assert history[0]["value"] == "CONNECTED"
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": "city", "operator": "EQ", "value": "lisbon"}]}
            ],
            "properties": ["city"],
        }
        found = requests.post(
            sandbox.base_url + "/crm/v3/objects/contacts/search",
            json=body,
            headers=AUTH,
            timeout=10,
        ).json()
        assert [r["id"] for r in found["results"]] == [ids[2]]
