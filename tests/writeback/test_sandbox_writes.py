"""The sandbox accepts HubSpot's documented writes and refuses as HubSpot does (requests
over HTTP, independent of the connector)."""

from __future__ import annotations

import json

import requests

from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

AUTH = {"Authorization": "Bearer sandbox-hubspot-token"}


def _task(hs: HubSpotSandbox, **props: str) -> requests.Response:
    contact = hs.contact_ids()[0]
    body = {
        "properties": {"hs_task_subject": "Call back", "hs_timestamp": "2026-12-07T14:30:00Z"}
        | props,
        "associations": [
            {"to": {"id": contact},
             "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}
        ],
    }  # fmt: skip
    return requests.post(f"{hs.base_url}/crm/v3/objects/tasks", json=body, headers=AUTH, timeout=5)


def test_tasks_create_search_update() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(3)) as hs:
        created = _task(hs, hs_task_body="see [leadflow:k1] lfwbabc123")
        assert created.status_code == 201
        task_id = created.json()["id"]
        assert created.json()["properties"]["hs_task_status"] == "NOT_STARTED"

        def search(operator: str, name: str, value: str) -> list[str]:
            body = {"filterGroups": [{"filters": [{"propertyName": name, "operator": operator,
                                                   "value": value}]}]}  # fmt: skip
            url = f"{hs.base_url}/crm/v3/objects/tasks/search"
            answer = requests.post(url, json=body, headers=AUTH, timeout=5).json()
            return [item["id"] for item in answer["results"]]

        assert search("CONTAINS_TOKEN", "hs_task_body", "lfwbabc123") == [task_id]
        assert search("CONTAINS_TOKEN", "hs_task_body", "lfwbabc") == []  # a whole word only
        assert search("EQ", "hs_task_subject", "call back") == [task_id]
        assert search("EQ", "hs_task_subject", "Call") == []

        url = f"{hs.base_url}/crm/v3/objects/tasks/{task_id}"
        patch = {"properties": {"hs_task_status": "COMPLETED"}}
        assert requests.patch(url, json=patch, headers=AUTH, timeout=5).status_code == 200
        assert hs.writes.tasks[0]["properties"]["hs_task_status"] == "COMPLETED"
        missing = requests.patch(url[:-3] + "000", json=patch, headers=AUTH, timeout=5)
        assert missing.status_code == 404


def test_validation_errors_name_the_property() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(2)) as hs:
        refused = _task(hs, hs_timestamp="", hubspot_owner_id="424242")
        assert refused.status_code == 400
        body = refused.json()
        assert body["category"] == "VALIDATION_ERROR" and body["status"] == "error"
        assert body["message"].startswith("Property values were not valid: ")
        listed = json.loads(body["message"].split(": ", 1)[1])
        assert [(p["name"], p["error"]) for p in listed] == [
            ("hs_timestamp", "REQUIRED_FIELD"),
            ("hubspot_owner_id", "INVALID_OWNER_ID"),
        ]
        assert hs.writes.tasks == []


def test_properties_and_batch_update() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(2)) as hs:
        url = f"{hs.base_url}/crm/v3/properties/contacts"
        definition = {"name": "leadflow_stage", "label": "Stage", "type": "string",
                      "fieldType": "text", "groupName": "contactinformation"}  # fmt: skip
        batch = f"{hs.base_url}/crm/v3/objects/contacts/batch/update"
        inputs = {"inputs": [{"id": hs.contact_ids()[0], "properties": {"leadflow_stage": "x"}}]}
        early = requests.post(batch, json=inputs, headers=AUTH, timeout=5)
        assert early.status_code == 400 and "leadflow_stage" in early.json()["message"]

        assert requests.post(url, json=definition, headers=AUTH, timeout=5).status_code == 201
        again = requests.post(url, json=definition, headers=AUTH, timeout=5)
        assert again.status_code == 409 and again.json()["category"] == "OBJECT_ALREADY_EXISTS"
        listed = requests.get(url, headers=AUTH, timeout=5).json()["results"]
        assert "leadflow_stage" in {p["name"] for p in listed}

        assert requests.post(batch, json=inputs, headers=AUTH, timeout=5).status_code == 200
        inputs["inputs"].append({"id": "999999", "properties": {"leadflow_stage": "y"}})
        partial = requests.post(batch, json=inputs, headers=AUTH, timeout=5)
        assert partial.status_code == 207
        assert partial.json()["errors"][0]["context"]["ids"] == ["999999"]
        too_many = {"inputs": inputs["inputs"] * 51}
        assert requests.post(batch, json=too_many, headers=AUTH, timeout=5).status_code == 400


def test_writes_share_the_ten_secondly_limit() -> None:
    with HubSpotSandbox(hubspot_contacts(2), ten_second_limit=2, daily_limit=None) as hs:
        answers = [_task(hs) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert answers[2].json()["policyName"] == "TEN_SECONDLY_ROLLING"
        assert answers[2].headers["X-HubSpot-RateLimit-Remaining"] == "0"
        assert len(hs.writes.tasks) == 2
