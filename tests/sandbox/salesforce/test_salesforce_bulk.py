"""Bulk API 2.0 query jobs of the Salesforce sandbox: lifecycle, locators, CSV shape."""

from __future__ import annotations

import base64
import csv
import io
import re
import time
from collections.abc import Iterator

import pytest
import requests

from leadflow.sandbox.salesforce.app import SalesforceSandbox
from tests.sandbox.salesforce.sf_client import Client

SOQL = "SELECT Id, Email, Owner.Name, IsConverted, ConvertedDate, SystemModstamp FROM Lead"


@pytest.fixture(scope="module")
def sf() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox.unthrottled(1200) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(sf: SalesforceSandbox) -> Client:
    return Client(sf)


def _job(client: Client, soql: str = SOQL, operation: str = "query", **extra: str) -> str:
    answer = client.post("/jobs/query", {"operation": operation, "query": soql, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def _finish(client: Client, job_id: str) -> list[str]:
    states = []
    while not states or states[-1] in ("UploadComplete", "InProgress"):
        states.append(client.get(f"/jobs/query/{job_id}").json()["state"])
    return states


def _pages(client: Client, job_id: str, max_records: int) -> list[requests.Response]:
    pages, locator = [], None
    while locator != "null":
        params = {"maxRecords": max_records, **({"locator": locator} if locator else {})}
        pages.append(client.get(f"/jobs/query/{job_id}/results", **params))
        locator = pages[-1].headers["Sforce-Locator"]
    return pages


def test_a_job_moves_from_upload_complete_to_job_complete(
    sf: SalesforceSandbox, client: Client
) -> None:
    created = client.post("/jobs/query", {"operation": "query", "query": SOQL}).json()
    assert created["state"] == "UploadComplete" and created["id"].startswith("750")
    assert {
        "operation": "query",
        "object": "Lead",
        "contentType": "CSV",
        "apiVersion": 62.0,
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }.items() <= created.items()
    early = client.get(f"/jobs/query/{created['id']}/results")
    assert early.status_code == 400
    assert _finish(client, created["id"]) == ["InProgress", "JobComplete"]
    info = client.get(f"/jobs/query/{created['id']}").json()
    assert (info["state"], info["jobType"]) == ("JobComplete", "V2Query")
    assert (
        info["numberRecordsProcessed"] == len(sf.store.rows("Lead")) < 1200
    )  # deleted leads left out


def test_locators_and_max_records_cover_every_row_once(
    sf: SalesforceSandbox, client: Client
) -> None:
    job_id = _job(client)
    _finish(client, job_id)
    pages = _pages(client, job_id, 500)
    live = len(sf.store.rows("Lead"))
    counts = [int(page.headers["Sforce-NumberOfRecords"]) for page in pages]
    assert counts == [500, 500, live - 1000]
    assert [page.headers["Sforce-Locator"] for page in pages] == [
        base64.b64encode(b"500").decode().rstrip("="),
        base64.b64encode(b"1000").decode().rstrip("="),
        "null",
    ]
    ids = [row["Id"] for page in pages for row in csv.DictReader(io.StringIO(page.text))]
    assert len(ids) == len(set(ids)) == live
    again = client.get(
        f"/jobs/query/{job_id}/results", locator=pages[0].headers["Sforce-Locator"], maxRecords=500
    )
    assert again.text == pages[1].text  # a locator does not change while the job exists
    assert client.get(f"/jobs/query/{job_id}").json()["numberRecordsProcessed"] == live


def test_the_csv_is_shaped_as_documented(client: Client) -> None:
    job_id = _job(client)
    _finish(client, job_id)
    page = client.get(f"/jobs/query/{job_id}/results", maxRecords=2000)
    assert (
        page.headers["Content-Type"].startswith("text/csv")
        and page.headers["Sforce-Locator"] == "null"
    )
    lines = page.text.split("\n")
    assert lines[0] == '"Id","Email","Owner.Name","IsConverted","ConvertedDate","SystemModstamp"'
    assert lines[-1] == ""  # every line ends with LF
    rows = list(csv.DictReader(io.StringIO(page.text)))
    assert {row["IsConverted"] for row in rows} == {"true", "false"}
    assert all(
        re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", row["SystemModstamp"]) for row in rows
    )
    unconverted = next(line for line in lines[1:] if '"false"' in line)
    assert ',"false",,"' in unconverted  # a null ConvertedDate is an empty field
    assert any(re.match(r"^\d{4}-\d\d-\d\d$", row["ConvertedDate"]) for row in rows)


def test_query_all_jobs_include_deleted_rows(sf: SalesforceSandbox, client: Client) -> None:
    job_id = _job(client, "SELECT Id, IsDeleted FROM Lead", "queryAll")
    _finish(client, job_id)
    rows = [
        row
        for page in _pages(client, job_id, 5000)
        for row in csv.DictReader(io.StringIO(page.text))
    ]
    assert len(rows) == len(sf.store.rows("Lead", include_deleted=True))
    assert (
        sum(row["IsDeleted"] == "true" for row in rows)
        == sum(lead["IsDeleted"] for lead in sf.store.rows("Lead", include_deleted=True))
        > 0
    )


def test_delimiter_line_ending_and_failed_aborted_jobs(
    sf: SalesforceSandbox, client: Client
) -> None:
    piped = _job(client, "SELECT Id, Name FROM User", columnDelimiter="PIPE", lineEnding="CRLF")
    _finish(client, piped)
    text = client.get(f"/jobs/query/{piped}/results").text
    assert text.startswith('"Id"|"Name"\r\n') and text.endswith("\r\n")
    failing = _job(client)
    sf.fail_job(failing, "Query timed out")
    info = client.get(f"/jobs/query/{failing}").json()
    assert (info["state"], info["errorMessage"]) == ("Failed", "Query timed out")
    aborted = _job(client)
    answer = client.http.patch(client.url(f"/jobs/query/{aborted}"), json={"state": "Aborted"})
    assert answer.json()["state"] == "Aborted" and _finish(client, aborted) == ["Aborted"]
    assert client.http.delete(client.url(f"/jobs/query/{aborted}")).status_code == 204
    assert client.get(f"/jobs/query/{aborted}").status_code == 404


def test_bad_jobs_are_refused(client: Client) -> None:
    malformed = client.post("/jobs/query", {"operation": "query", "query": "SELECT FROM Lead"})
    assert malformed.status_code == 400 and malformed.json()[0]["errorCode"] == "MALFORMED_QUERY"
    unknown = client.post("/jobs/query", {"operation": "query", "query": "SELECT Shoe FROM Lead"})
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    assert client.post("/jobs/query", {"operation": "upsert", "query": SOQL}).status_code == 400
    job_id = _job(client)
    _finish(client, job_id)
    other_version = client.get(f"/services/data/v61.0/jobs/query/{job_id}/results")
    assert other_version.status_code == 409
    bad_locator = client.get(f"/jobs/query/{job_id}/results", locator="!!")
    assert bad_locator.status_code == 400


def test_jobs_can_complete_on_time_instead_of_polls() -> None:
    with SalesforceSandbox.unthrottled(20, bulk_seconds=0.3) as sf:
        client = Client(sf)
        job_id = _job(client, "SELECT Id FROM Lead")
        assert client.get(f"/jobs/query/{job_id}").json()["state"] == "InProgress"
        assert client.get(f"/jobs/query/{job_id}").json()["state"] == "InProgress"
        time.sleep(0.35)
        assert client.get(f"/jobs/query/{job_id}").json()["state"] == "JobComplete"


def test_a_large_org_without_activities_is_cheap() -> None:
    began = time.perf_counter()
    sf = SalesforceSandbox.unthrottled(20_000, activities=False)
    assert len(sf.records("Lead", include_deleted=True)) == 20_000
    assert sf.records("Task") == [] and sf.records("LeadHistory")
    assert time.perf_counter() - began < 10
