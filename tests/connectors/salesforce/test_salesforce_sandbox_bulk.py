"""Bulk API 2.0 query jobs against the sandbox org: the COUNT() that chooses them, job
polling, results read page by page with Sforce-Locator and maxRecords, failures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.errors import TerminalError
from leadflow.connectors.salesforce.connector import CONNECTOR, pages
from leadflow.sandbox.salesforce.app import SalesforceSandbox
from leadflow.sandbox.server import Response
from leadflow.sandbox.weather import forecast

ORG = "00D5g0000000001EAA"
CONTEXT = LeadContext("salesforce", ORG, "US")
RESULTS = r"/jobs/query/\w+/results"


def answer_counts(sandbox: SalesforceSandbox) -> None:
    """Answer ``SELECT COUNT() FROM Lead`` as the REST API documents it (``totalSize``, no
    records): the sandbox's SOQL has no COUNT() yet."""

    def count(request) -> bool:
        return "COUNT()" in (request.param("q") or "")

    rows = sandbox.store.rows("Lead", include_deleted=True)
    body = {"totalSize": len(rows), "done": True, "records": []}
    sandbox.faults.push(200, body, sandbox.usage.header(), times=5, when=count)


@pytest.fixture
def slow_jobs():
    with SalesforceSandbox(300, bulk_polls=2) as org:
        yield org


def mapped(pages_read) -> dict[str, object]:
    """Each lead as mapped, its raw payload set aside (REST and CSV shapes differ there)."""
    leads = {}
    for page in pages_read:
        for record in page.records:
            try:
                lead = CONNECTOR.to_lead(record, CONTEXT)
            except ValueError:
                continue
            leads[lead.source_lead_id] = replace(lead, raw={})
    return leads


def test_a_window_over_the_threshold_is_read_by_a_bulk_job_and_maps_like_rest(
    slow_jobs, configure, client_for, read
):
    answer_counts(slow_jobs)
    waits: list[float] = []
    bulk = client_for(configure(slow_jobs, bulk_threshold=100, bulk_page_records=120))
    bulk.sleep = waits.append
    by_bulk = read(bulk, pages)
    by_rest = read(client_for(configure(slow_jobs)), pages)
    assert mapped(by_bulk) == mapped(by_rest) and len(mapped(by_rest)) > 250
    # Regression: CSV without a charset was read as ISO-8859-1 ("MÃ¼ller" for "Müller").
    assert any(not (lead.last_name or "").isascii() for lead in mapped(by_bulk).values())
    assert waits == [2.0, 4.0]  # two polls InProgress, waits doubling
    results = [r for r in slow_jobs.requests if r.path.endswith("/results")]
    assert [r.query.get("maxRecords") for r in results] == [["120"]] * 3
    assert "locator" not in results[0].query and "locator" in results[1].query
    assert [page.cursor for page in by_bulk][:-1] == [None, None]  # rows come unordered
    assert by_bulk[-1].cursor == by_rest[-1].cursor
    created = next(r for r in slow_jobs.requests if r.method == "POST" and "jobs" in r.path)
    assert created.json()["operation"] == "queryAll"
    assert "ORDER BY" not in created.json()["query"]


def test_a_window_under_the_threshold_stays_on_rest(sandbox, configure, client_for, read):
    answer_counts(sandbox)
    read(client_for(configure(sandbox, bulk_threshold=10_000)), pages)
    assert not [r for r in sandbox.requests if "/jobs/" in r.path]


def test_a_failed_job_ends_the_source_with_its_error_message(
    slow_jobs, configure, client_for, read
):
    answer_counts(slow_jobs)

    def fail_every_job() -> None:
        for job_id in list(slow_jobs.bulk.jobs):
            slow_jobs.fail_job(job_id, "Query timed out")

    slow_jobs.faults.push_action(fail_every_job, method="GET", path=r"/jobs/query/\w+$")
    with pytest.raises(TerminalError, match="Bulk query job Failed: Query timed out"):
        read(client_for(configure(slow_jobs, bulk_threshold=100)), pages)


def test_a_job_still_running_at_the_timeout_is_aborted(configure, client_for, read):
    with SalesforceSandbox(300, bulk_polls=100) as org:
        answer_counts(org)
        config = configure(org, bulk_threshold=100, bulk_timeout_seconds=5)
        with pytest.raises(TerminalError, match="aborted"):
            read(client_for(config), pages)
        (job,) = org.bulk.jobs.values()
        assert job.state == "Aborted"
        assert [r.method for r in org.requests if "/jobs/" in r.path].count("PATCH") == 1


def test_a_locator_handed_back_twice_is_refused(slow_jobs, configure, client_for, read):
    answer_counts(slow_jobs)

    def same_locator(response: Response) -> Response:
        asked = slow_jobs.requests[-1].query["locator"][0]
        return Response(
            response.status, response.body, {**response.headers, "Sforce-Locator": asked}
        )

    slow_jobs.faults.push_transform(
        same_locator, path=RESULTS, when=lambda request: request.param("locator") is not None
    )
    with pytest.raises(TerminalError, match="did not advance"):
        read(client_for(configure(slow_jobs, bulk_threshold=100, bulk_page_records=120)), pages)


def test_a_results_page_that_is_not_csv_is_asked_again(slow_jobs, configure, client_for, read):
    answer_counts(slow_jobs)
    slow_jobs.faults.push_html(200, path=RESULTS)
    got = read(client_for(configure(slow_jobs, bulk_threshold=100)), pages)
    assert sum(len(page.records) for page in got) == len(slow_jobs.store.rows("Lead"))
    results = [r for r in slow_jobs.requests if r.path.endswith("/results")]
    assert [bool(r.fault) for r in results] == [True, False]


def test_a_results_page_cut_short_by_bad_weather_is_read_again_not_loaded_short(
    slow_jobs, configure, client_for, read
):
    answer_counts(slow_jobs)
    forecast(slow_jobs, "salesforce")  # a body cut short, then a connection cut mid-body
    config = configure(slow_jobs, bulk_threshold=100, bulk_page_records=120, max_attempts=3)
    got = read(client_for(config), pages)
    got_ids = [r["Id"] for page in got for r in page.records]
    assert sorted(got_ids) == sorted(r["Id"] for r in slow_jobs.store.rows("Lead"))
    results = [r for r in slow_jobs.requests if r.path.endswith("/results")]
    assert [r.fault for r in results if r.fault] == ["transform", "disconnect"]
