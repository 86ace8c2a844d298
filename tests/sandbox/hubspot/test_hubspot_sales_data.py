"""The HubSpot sandbox's sales data: deterministic engagements that tell a believable story."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.sandbox.data import ACTIVE_OWNER_IDS, FORMER_OWNER_ID, REASSIGN_GAP, hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.sales_data import hubspot_sales_data
from tests.sandbox.hubspot.sales_client import Client, at


@pytest.fixture(scope="module")
def hs() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox.unthrottled(hubspot_contacts(400)) as sandbox:
        yield sandbox


def test_sales_data_is_deterministic_and_tells_a_story() -> None:
    contacts = hubspot_contacts(600)
    data = hubspot_sales_data(contacts)
    assert data == hubspot_sales_data(hubspot_contacts(600))
    assert data.engagements != hubspot_sales_data(contacts, seed=8).engagements
    created = {c["id"]: at(c["properties"]["createdate"]) for c in contacts}
    touched = {cid for _, _, cid in data.associations}
    assert 0.5 < len(touched) / len(contacts) < 0.85  # some contacts are never touched
    for contact in contacts:
        for touch in data.touches_for(contact["id"]):
            assert touch.timestamp >= created[contact["id"]]
    ids = [int(e["id"]) for items in data.engagements.values() for e in items]
    assert len(ids) == len(set(ids))
    props = [e["properties"] for items in data.engagements.values() for e in items]
    assert all(p["hs_createdate"] <= p["hs_lastmodifieddate"] for p in props)
    modified = [p["hs_lastmodifieddate"] for p in props]
    assert len(set(modified)) < len(modified)  # ties
    assert {p["hubspot_owner_id"] for p in props} <= {*ACTIVE_OWNER_IDS, FORMER_OWNER_ID, None}


def test_reassigned_contacts_are_worked_by_the_earlier_owner_first() -> None:
    contacts = hubspot_contacts(800)
    data = hubspot_sales_data(contacts)
    checked = 0
    for contact in contacts:
        props = contact["properties"]
        if not props["hubspot_owner_id"] or not props["hubspot_owner_assigneddate"]:
            continue
        assigned = at(props["hubspot_owner_assigneddate"])
        if assigned - at(props["createdate"]) <= REASSIGN_GAP:
            continue
        outbound = [t for t in data.touches_for(contact["id"]) if t.outbound]
        before = [t for t in outbound if t.timestamp < assigned]
        after = [t for t in outbound if t.timestamp >= assigned]
        assert all(t.owner_id != props["hubspot_owner_id"] for t in before)
        assert all(t.owner_id == props["hubspot_owner_id"] for t in after)
        checked += bool(before and after)
    assert checked >= 5


def test_ground_truth_first_outbound_touch(hs: HubSpotSandbox) -> None:
    kinds = {"inbound_first": 0, "none": 0}
    for contact in hs.contacts:
        touches = hs.touches_for(contact["id"])
        first = hs.first_outbound_touch(contact["id"])
        assert touches == sorted(touches, key=lambda t: (t.timestamp, int(t.id)))
        if first is None:
            kinds["none"] += 1
            assert not any(t.outbound for t in touches)
            continue
        assert first.owner_id and first == next(t for t in touches if t.outbound)
        direction = first.properties.get("hs_call_direction") or first.properties.get(
            "hs_email_direction"
        )
        assert first.object_type == "meetings" or direction in ("OUTBOUND", "EMAIL")
        kinds["inbound_first"] += touches[0] != first
    assert kinds["none"] > 20 and kinds["inbound_first"] > 5


def test_contacts_carry_sales_and_custom_properties(hs: HubSpotSandbox) -> None:
    props = [c["properties"] for c in hs.contacts]
    owners = {p["hubspot_owner_id"] for p in props}
    assert owners <= {*ACTIVE_OWNER_IDS, None} and "83412277" in owners
    assert all(bool(p["hubspot_owner_id"]) == bool(p["hubspot_owner_assigneddate"]) for p in props)
    assert {p["company_size"] for p in props} >= {"1-10", "1001+", None}
    demo_dates = [p["preferred_demo_date"] for p in props if p["preferred_demo_date"]]
    assert demo_dates and all(len(d) == 10 for d in demo_dates)
    merged = [p for p in props if p["hs_merged_object_ids"]]
    assert merged and any(";" in p["hs_merged_object_ids"] for p in merged)


def test_sales_data_is_built_lazily_and_can_be_supplied() -> None:
    contacts = hubspot_contacts(50)
    data = hubspot_sales_data(contacts, seed=3, anchor=datetime(2026, 12, 1, tzinfo=UTC))
    with HubSpotSandbox.unthrottled(contacts, sales=data) as hs:
        assert hs.sales is data
        assert len(hs.engagements("emails")) == len(data.engagements["emails"])
    with HubSpotSandbox.unthrottled(contacts) as hs:
        assert hs._sales_state is None
        assert Client(hs).get("/crm/v3/owners").status_code == 200
        assert hs._sales_state is None  # owners and properties need no engagements
        Client(hs).get("/crm/v3/objects/meetings")
        assert hs._sales_state is not None
    later = max(
        at(e["properties"]["hs_createdate"]) for items in data.engagements.values() for e in items
    )
    assert later <= datetime(2026, 12, 1, tzinfo=UTC) - timedelta(minutes=1)
