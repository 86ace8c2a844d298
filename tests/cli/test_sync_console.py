"""What ``leadflow sync`` prints when accounts fail: the summary with one line per failed
account saying why, and how the run ended; no traceback on the console (the run's logs in
the Prefect API keep them)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from leadflow.cli.main import _failures
from leadflow.flows.run_steps import SyncFailed
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

TOKEN = "console-test-token-8c1d"


def _source(name: str, base_url: str, portal: str) -> str:
    return (
        f"  {name}:\n    type: hubspot\n    base_url: {base_url}\n"
        f"    access_token: ${{CONSOLE_TEST_TOKEN}}\n    portal_id: '{portal}'\n"
        "    discover_properties: false\n    sales_reps: false\n    sales_touches: false\n"
        "    streams: {crm_status_changes: false}\n"
    )


def _run_logs(flow_run_name_fragment: str) -> str:
    """Every log message the Prefect API holds for the latest sync-leads run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import FlowRunSort

    async def read() -> str:
        async with get_client() as client:
            [run, *_] = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(), sort=FlowRunSort.START_TIME_DESC, limit=1
            )
            assert flow_run_name_fragment in run.name
            runs = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))
            logs = await client.read_logs(log_filter=runs, limit=200)
        return "\n".join(entry.message for entry in logs)

    return asyncio.run(read())


@pytest.mark.timeout(300)
def test_failed_accounts_are_one_line_each_and_no_traceback(prefect_api, tmp_path):
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()))
    env["CONSOLE_TEST_TOKEN"] = TOKEN
    with (
        HubSpotSandbox.unthrottled(hubspot_contacts(40), token=TOKEN) as good,
        HubSpotSandbox.unthrottled(hubspot_contacts(10), token="another-token") as bad,
    ):
        config = tmp_path / "leadflow.yaml"
        config.write_text(
            f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\nsla:\n  data_docs_dir: null\n"
            "sources:\n"
            + _source("hubspot", good.base_url, "good")
            + _source("hubspot_eu", bad.base_url, "eu")
            + _source("hubspot_us", bad.base_url, "us")
        )
        done = subprocess.run(
            [sys.executable, "-m", "leadflow.cli.main", "sync", "--config", str(config)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
    out, err = done.stdout, done.stderr
    assert done.returncode == 1, err[-3000:]
    assert "Traceback" not in out and "Traceback" not in err, err[-3000:]
    why = [line for line in (out + err).splitlines() if "re-authorize" in line]
    assert sorted(line.split(":")[0].split()[-1] for line in why) == ["eu", "us"]  # accounts
    assert all(line in out for line in why)  # below the summary table, on stdout
    assert out.index("account_id") < out.index(why[0])
    last = err.rstrip().splitlines()[-1]
    assert last == "sync failed: 2 of 3 syncs failed: hubspot_eu/eu, hubspot_us/us"
    assert "Finished in state Failed" in err and "Failed(" not in err  # the state, not its why
    assert TOKEN not in out + err
    logs = _run_logs("sync-leads")
    assert "Traceback" in logs and "re-authorize" in logs  # the UI keeps the whole story


@pytest.mark.parametrize(
    ("failed", "row_errors", "expected"),
    [
        pytest.param(
            {"hubspot/p1": "AuthError: no"}, ["AuthError: no"],
            "1 of 3 syncs failed: hubspot/p1", id="reason-in-the-summary",
        ),
        pytest.param(
            {"mailchimp": "AuthError: key refused"}, [],
            "1 of 3 syncs failed: mailchimp (AuthError: key refused)", id="no-summary-row",
        ),
        pytest.param(
            {"b/2": "X: two", "a/1": "X: one"}, ["X: two"],
            "2 of 3 syncs failed: a/1 (X: one), b/2", id="sorted-mixed",
        ),
        pytest.param(
            {"crm/csv:x.csv": "CsvFormatError: ann@example.com"}, [],
            "1 of 3 syncs failed: crm/csv:x.csv (CsvFormatError: ***@***)", id="masked",
        ),
    ],
)  # fmt: skip
def test_the_last_line_says_why_only_where_the_summary_does_not(failed, row_errors, expected):
    error = SyncFailed("message")
    error.failed, error.total = failed, 3
    rows = [{"error": why} for why in row_errors]
    assert _failures(error, rows) == expected
