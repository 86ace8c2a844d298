"""The Salesforce sandbox's API allocation (Sforce-Limit-Info, REQUEST_LIMIT_EXCEEDED, /limits),
Task creation for the write-back, versions, faults and weather."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from leadflow.sandbox.salesforce.app import SalesforceSandbox
from leadflow.sandbox.weather import forecast, is_later_lead_page
from tests.sandbox.salesforce.sf_client import Client

LIMIT_EXCEEDED = [
    {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
]


@pytest.fixture(scope="module")
def sf() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox.unthrottled(60) as sandbox:
        yield sandbox


def test_every_call_reports_usage_until_the_allocation_is_spent() -> None:
    with SalesforceSandbox(10, daily_limit=3) as sf:
        client = Client(sf)
        usage = [client.get("/limits").headers["Sforce-Limit-Info"] for _ in range(3)]
        assert usage == ["api-usage=1/3", "api-usage=2/3", "api-usage=3/3"]
        refused = client.query("SELECT Id FROM Lead")
        assert refused.status_code == 403 and refused.json() == LIMIT_EXCEEDED
        assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
        sf.usage.daily_limit = 10
        assert client.get("/limits").json()["DailyApiRequests"] == {"Max": 10, "Remaining": 6}


def test_injected_faults_answer_in_salesforce_shape(sf: SalesforceSandbox) -> None:
    client = Client(sf)
    sf.push_request_limit()
    assert client.get("/limits").json() == LIMIT_EXCEEDED
    sf.push_error(503, times=2)
    assert [client.get("/limits").status_code for _ in range(3)] == [503, 503, 200]


def test_weather_lands_on_a_later_query_page() -> None:
    with SalesforceSandbox.unthrottled(450) as sf:
        client = Client(sf)
        forecast(sf, "salesforce")
        page = client.query("SELECT Id FROM Lead", batch=200).json()
        assert page["records"] and not page["done"]
        cut = client.get(page["nextRecordsUrl"])
        with pytest.raises(ValueError):
            cut.json()  # the body ends early (its Content-Length says so)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            client.get(page["nextRecordsUrl"])  # the connection drops mid-body
        hit = [r for r in sf.requests if r.fault in ("transform", "disconnect")]
        assert len(hit) == 2 and all(is_later_lead_page("salesforce", r) for r in hit)
        assert not is_later_lead_page("salesforce", sf.requests[0])
        assert client.get(page["nextRecordsUrl"]).json()["records"]


def test_unknown_paths_and_newer_versions_are_404(sf: SalesforceSandbox) -> None:
    client = Client(sf)
    missing = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    assert client.get("/services/data/v99.0/limits").json() == missing
    assert client.get("/services/data/v58.0/limits").status_code == 200
    assert client.get("/nothing/here").status_code == 404
    versions = client.get("/services/data").json()
    assert versions[-1] == {"label": "v62.0", "url": "/services/data/v62.0", "version": "62.0"}


def test_a_task_is_created_read_back_and_recorded(sf: SalesforceSandbox) -> None:
    client = Client(sf)
    lead = sf.store.rows("Lead")[0]
    sent = {
        "Subject": "SLA: first touch overdue",
        "WhoId": lead["Id"],
        "OwnerId": lead["OwnerId"],
        "ActivityDate": "2026-12-07",
        "TaskSubtype": "Call",
        "Priority": "High",
    }
    created = client.post("/sobjects/Task", sent)
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True and body["errors"] == [] and body["id"].startswith("00T")
    read = client.get(f"/sobjects/Task/{body['id']}").json()
    assert (
        {**read, **sent} == read and read["Status"] == "Not Started" and read["IsDeleted"] is False
    )
    assert sf.writes[-1].id == body["id"] and sf.writes[-1].fields == sent
    found = client.query(
        f"SELECT Id, Who.Name FROM Task WHERE WhoId = '{lead['Id']}' AND Priority = 'High'"
    )
    assert [r["Id"] for r in found.json()["records"]] == [body["id"]]
    assert client.get("/sobjects/Task/00T5g0000000zzzAAA").status_code == 404


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"Subject": "x", "Status": None}, "REQUIRED_FIELD_MISSING", ["Status"]),
        ({"Subject": "x", "Priority": ""}, "REQUIRED_FIELD_MISSING", ["Priority"]),
        ({"Subject": "x", "WhoId": "00Q5g0000000zzzAAA"}, "INVALID_CROSS_REFERENCE_KEY", []),
        ({"Subject": "x", "WhoId": "0055g0000000002AAA"}, "INVALID_CROSS_REFERENCE_KEY", []),
        ({"Subject": "x", "WhoId": "not-an-id"}, "MALFORMED_ID", ["WhoId"]),
        ({"Subject": "x", "Id": "00T5g0000000001EAA"}, "INVALID_FIELD", []),
        ({"Subject": "x", "Mood": "happy"}, "INVALID_FIELD", []),
        (
            {"Subject": "x", "CreatedDate": "2026-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        (
            {"Subject": "x", "TaskSubtype": "Fax"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["TaskSubtype"],
        ),
        ({"Subject": "x", "OwnerId": "0055g0000000009AAA"}, "INACTIVE_OWNER_OR_USER", []),
    ],
    ids=[
        "null-status",
        "empty-priority",
        "unknown-who",
        "who-is-a-user",
        "malformed-id",
        "id-given",
        "unknown-field",
        "read-only",
        "bad-subtype",
        "inactive-owner",
    ],
)
def test_task_validation_errors(
    sf: SalesforceSandbox, body: dict[str, object], code: str, fields: list[str]
) -> None:
    before = len(sf.writes)
    answer = Client(sf).post("/sobjects/Task", body)
    assert answer.status_code == 400
    [error] = answer.json()
    assert (error["errorCode"], error["fields"]) == (code, fields) and error["message"]
    assert len(sf.writes) == before


def test_malformed_json_is_refused(sf: SalesforceSandbox) -> None:
    client = Client(sf)
    answer = client.http.post(
        client.url("/sobjects/Task"),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
