"""The HubSpot sandbox's sales side (owners, properties, engagements, associations),
exercised over real HTTP with ``requests``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from leadflow.sandbox.data import ACTIVE_OWNER_IDS, FORMER_OWNER_ID, hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.properties import CALL_DISPOSITIONS
from tests.sandbox.hubspot.sales_client import Client, at

TYPE_IDS = {"calls": 194, "emails": 198, "meetings": 200}
REVERSE_TYPE_IDS = {"calls": 193, "emails": 197, "meetings": 199}


@pytest.fixture(scope="module")
def hs() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox.unthrottled(hubspot_contacts(400)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(hs: HubSpotSandbox) -> Client:
    return Client(hs)


# -- owners --------------------------------------------------------------------------------------
def test_owners_paging_teams_and_filters(client: Client) -> None:
    seen, after = [], None
    while True:
        page = client.get("/crm/v3/owners", limit=2, **({"after": after} if after else {})).json()
        seen += page["results"]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
        assert "after=" in page["paging"]["next"]["link"]
    assert [o["id"] for o in seen] == sorted(ACTIVE_OWNER_IDS, key=int)
    keys = {"id", "email", "type", "firstName", "lastName", "userId", "userIdIncludingInactive",
            "createdAt", "updatedAt", "archived", "teams"}  # fmt: skip
    assert all(set(o) == keys and o["archived"] is False for o in seen)
    teams = {t["name"] for o in seen for t in o["teams"]}
    assert teams == {"Inbound SDR", "Outbound AE"}
    assert all(sum(t["primary"] for t in o["teams"]) == 1 for o in seen)
    assert any(len(o["teams"]) == 2 for o in seen)
    archived = client.get("/crm/v3/owners", archived="true").json()["results"]
    assert [o["id"] for o in archived] == [FORMER_OWNER_ID]
    assert "userId" not in archived[0] and archived[0]["teams"] == []
    email = seen[0]["email"].upper()
    assert [o["id"] for o in client.get("/crm/v3/owners", email=email).json()["results"]] == [
        seen[0]["id"]
    ]
    assert client.get("/crm/v3/owners", limit=501).status_code == 400


def test_owner_by_id(client: Client) -> None:
    owner = client.get("/crm/v3/owners/60330412").json()
    assert (owner["firstName"], [t["primary"] for t in owner["teams"]]) == ("Aisha", [True, False])
    by_user = client.get(f"/crm/v3/owners/{owner['userId']}", idProperty="userId").json()
    assert by_user == owner
    assert client.get(f"/crm/v3/owners/{FORMER_OWNER_ID}").status_code == 404
    assert client.get(f"/crm/v3/owners/{FORMER_OWNER_ID}", archived="true").status_code == 200
    missing = client.get("/crm/v3/owners/1")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"


# -- properties ----------------------------------------------------------------------------------
def test_contact_properties_list_custom_and_sales_fields(client: Client) -> None:
    body = client.get("/crm/v3/properties/contacts").json()
    by_name = {p["name"]: p for p in body["results"]}
    for name in ("hubspot_owner_assigneddate", "hs_lead_status", "lifecyclestage",
                 "hs_analytics_source", "company_size", "preferred_demo_date", "email"):  # fmt: skip
        assert name in by_name
    keys = {"name", "label", "type", "fieldType", "groupName", "hasUniqueValue", "hidden",
            "modificationMetadata", "options", "formField"}  # fmt: skip
    assert all(keys <= set(p) for p in body["results"])
    custom = by_name["company_size"]
    assert "hubspotDefined" not in custom and custom["modificationMetadata"]["archivable"]
    assert (custom["type"], custom["fieldType"]) == ("enumeration", "select")
    assert by_name["preferred_demo_date"]["type"] == "date"
    assert by_name["email"]["hubspotDefined"] is True
    owner_options = {o["value"] for o in by_name["hubspot_owner_id"]["options"]}
    assert owner_options == set(ACTIVE_OWNER_IDS)
    assert client.get("/crm/v3/properties/0-1").json() == body  # object type id
    unknown = client.get("/crm/v3/properties/unicorns")
    assert unknown.status_code == 400 and unknown.json()["category"] == "VALIDATION_ERROR"


def test_call_outcomes_are_guids_with_labels(client: Client) -> None:
    props = {p["name"]: p for p in client.get("/crm/v3/properties/calls").json()["results"]}
    options = {o["value"]: o["label"] for o in props["hs_call_disposition"]["options"]}
    assert options == CALL_DISPOSITIONS
    assert options["f240bbac-87c9-4f6e-bf70-924b57d47db7"] == "Connected"
    emails = {p["name"]: p for p in client.get("/crm/v3/properties/emails").json()["results"]}
    directions = {o["value"] for o in emails["hs_email_direction"]["options"]}
    assert directions == {"EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"}
    meetings = client.get("/crm/v3/properties/meetings").json()["results"]
    outcome = next(p for p in meetings if p["name"] == "hs_meeting_outcome")
    assert {o["value"] for o in outcome["options"]} == {
        "SCHEDULED", "COMPLETED", "NO_SHOW", "CANCELED", "RESCHEDULED",
    }  # fmt: skip


@pytest.mark.parametrize("object_type", ["contacts", "calls", "emails", "meetings"])
def test_search_accepts_every_listed_property(client: Client, object_type: str) -> None:
    names = [p["name"] for p in client.get(f"/crm/v3/properties/{object_type}").json()["results"]]
    page = client.post(f"/crm/v3/objects/{object_type}/search", {"properties": names, "limit": 5})
    assert page.status_code == 200 and set(page.json()["results"][0]["properties"]) == set(names)
    for name in names:
        flt = {"propertyName": name, "operator": "HAS_PROPERTY"}
        body = {"filterGroups": [{"filters": [flt]}], "limit": 1}
        response = client.post(f"/crm/v3/objects/{object_type}/search", body)
        assert response.status_code == 200, (name, response.text)


# -- engagements ---------------------------------------------------------------------------------
@pytest.mark.parametrize("object_type", ["calls", "emails", "meetings"])
def test_engagement_search_by_hs_lastmodifieddate_pages_through(
    hs: HubSpotSandbox, client: Client, object_type: str
) -> None:
    stored = hs.engagements(object_type)
    stamps = sorted(e["properties"]["hs_lastmodifieddate"] for e in stored)
    since = stamps[len(stamps) // 3]
    flt = {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(
        int(at(since).timestamp() * 1000))}  # fmt: skip
    found = client.search_all(
        object_type,
        filterGroups=[{"filters": [flt]}],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        properties=["hubspot_owner_id", "hs_timestamp"],
        limit=17,
    )
    expected = {e["id"] for e in stored if e["properties"]["hs_lastmodifieddate"] >= since}
    assert [r["id"] for r in found] and {r["id"] for r in found} == expected
    assert len(found) == len(expected)
    values = [r["properties"]["hs_lastmodifieddate"] for r in found]
    assert values == sorted(values) and all(
        r["updatedAt"] == v for r, v in zip(found, values, strict=True)
    )
    assert set(found[0]["properties"]) == {
        "hs_createdate", "hs_lastmodifieddate", "hs_object_id", "hubspot_owner_id", "hs_timestamp",
    }  # fmt: skip
    wrong = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}
    response = client.post(
        f"/crm/v3/objects/{object_type}/search", {"filterGroups": [{"filters": [wrong]}]}
    )
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


def test_engagement_list_and_read(hs: HubSpotSandbox, client: Client) -> None:
    page = client.get("/crm/v3/objects/calls", limit=100).json()
    first = page["results"][0]
    assert set(first["properties"]) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    assert page["paging"]["next"]["after"]
    ids = [int(r["id"]) for r in page["results"]]
    assert ids == sorted(ids)
    call = client.get(
        f"/crm/v3/objects/calls/{first['id']}", properties="hs_call_disposition"
    ).json()
    assert call["properties"]["hs_call_disposition"] in CALL_DISPOSITIONS
    assert client.get("/crm/v3/objects/calls/1").status_code == 404
    outcomes = {e["properties"]["hs_meeting_outcome"] for e in hs.engagements("meetings")}
    assert outcomes >= {"COMPLETED", "SCHEDULED", "NO_SHOW", "CANCELED"}
    directions = {e["properties"]["hs_email_direction"] for e in hs.engagements("emails")}
    assert directions == {"EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"}


def test_merged_contact_ids_read_as_the_merged_record(hs: HubSpotSandbox, client: Client) -> None:
    merged = next(c for c in hs.contacts if c["properties"]["hs_merged_object_ids"])
    old_id = merged["properties"]["hs_merged_object_ids"].split(";")[0]
    found = client.get(f"/crm/v3/objects/contacts/{old_id}", properties="hs_merged_object_ids")
    assert found.status_code == 200 and found.json()["id"] == merged["id"]


def test_upserted_engagement_is_searchable_and_associated() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(30)) as hs:
        c = Client(hs)
        contact = hs.contacts[0]["id"]
        stamp = datetime(2026, 11, 28, 9, tzinfo=UTC)
        props = {"hs_timestamp": "2026-11-28T08:59:00.000Z", "hubspot_owner_id": "41629779",
                 "hs_call_direction": "OUTBOUND"}  # fmt: skip
        call = hs.upsert_engagement("calls", props, modified_at=stamp, contact_ids=(contact,))
        assert call["properties"]["hs_lastmodifieddate"] == "2026-11-28T09:00:00.000Z"
        flt = {
            "propertyName": "hs_lastmodifieddate",
            "operator": "EQ",
            "value": "2026-11-28T09:00:00.000Z",
        }
        hits = c.post("/crm/v3/objects/calls/search", {"filterGroups": [{"filters": [flt]}]}).json()
        assert [r["id"] for r in hits["results"]] == [call["id"]]
        read = c.post(
            "/crm/v4/associations/calls/contacts/batch/read", {"inputs": [{"id": call["id"]}]}
        )
        assert read.json()["results"][0]["to"][0]["toObjectId"] == int(contact)
        assert call["id"] in [t.id for t in hs.touches_for(contact)]


# -- associations --------------------------------------------------------------------------------
@pytest.mark.parametrize("object_type", ["calls", "emails", "meetings"])
def test_association_batch_read_shape(hs: HubSpotSandbox, client: Client, object_type: str) -> None:
    engagement = hs.engagements(object_type)[0]["id"]
    response = client.post(
        f"/crm/v4/associations/{object_type}/contacts/batch/read", {"inputs": [{"id": engagement}]}
    )
    body = response.json()
    assert response.status_code == 200 and body["status"] == "COMPLETE"
    assert "errors" not in body and body["startedAt"] <= body["completedAt"]
    (result,) = body["results"]
    assert result["from"] == {"id": engagement}
    to = result["to"][0]
    assert isinstance(to["toObjectId"], int)
    assert to["associationTypes"] == [
        {"category": "HUBSPOT_DEFINED", "typeId": TYPE_IDS[object_type], "label": None}
    ]
    expected = {
        cid for kind, eid, cid in hs.sales.associations if (kind, eid) == (object_type, engagement)
    }
    assert {str(t["toObjectId"]) for t in result["to"]} == expected


def test_contact_to_engagements_207_for_ids_without_associations(
    hs: HubSpotSandbox, client: Client
) -> None:
    contacts = [c["id"] for c in hs.contacts]
    with_calls = next(
        c for c in contacts if any(t.object_type == "calls" for t in hs.touches_for(c))
    )
    without = next(c for c in contacts if not hs.touches_for(c))
    inputs = [{"id": with_calls}, {"id": without}, {"id": "999999999"}]
    response = client.post("/crm/v4/associations/contact/0-48/batch/read", {"inputs": inputs})
    body = response.json()
    assert response.status_code == 207 and body["status"] == "COMPLETE" and body["numErrors"] == 2
    assert [r["from"]["id"] for r in body["results"]] == [with_calls]
    types = {t["typeId"] for r in body["results"] for to in r["to"] for t in to["associationTypes"]}
    assert types == {REVERSE_TYPE_IDS["calls"]}
    calls = {t.id for t in hs.touches_for(with_calls) if t.object_type == "calls"}
    assert {str(to["toObjectId"]) for to in body["results"][0]["to"]} == calls
    error = body["errors"][0]
    assert (error["status"], error["category"]) == ("error", "OBJECT_NOT_FOUND")
    assert error["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert error["message"] == f"No call is associated with contact {without}."
    assert error["context"] == {
        "fromObjectId": [without],
        "fromObjectType": ["contact"],
        "toObjectType": ["call"],
    }


def test_association_batch_limits(client: Client) -> None:
    path = "/crm/v4/associations/contacts/meetings/batch/read"
    too_many = client.post(path, {"inputs": [{"id": str(i)} for i in range(1001)]})
    assert too_many.status_code == 400 and too_many.json()["category"] == "VALIDATION_ERROR"
    assert client.post(path, {"inputs": [{"id": str(i)} for i in range(1000)]}).status_code == 207
    assert client.post(path, {"ids": []}).status_code == 400
    assert (
        client.post("/crm/v4/associations/unicorns/contacts/batch/read", {"inputs": []}).status_code
        == 400
    )


def test_association_results_page_per_input() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(80), association_page_size=2) as hs:
        contact = next(
            c["id"]
            for c in hs.contacts
            if len([t for t in hs.touches_for(c["id"]) if t.object_type == "calls"]) > 2
        )
        path, after, seen = "/crm/v4/associations/contacts/calls/batch/read", None, []
        while True:
            item = {"id": contact, **({"after": after} if after else {})}
            (result,) = Client(hs).post(path, {"inputs": [item]}).json()["results"]
            assert len(result["to"]) <= 2
            seen += [str(t["toObjectId"]) for t in result["to"]]
            after = result.get("paging", {}).get("next", {}).get("after")
            if after is None:
                break
        calls = [t.id for t in hs.touches_for(contact) if t.object_type == "calls"]
        assert sorted(seen) == sorted(calls) and len(seen) == len(set(seen))
