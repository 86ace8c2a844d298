"""The Salesforce extraction benchmark (issue 23): Leads through Bulk API 2.0 from the
Salesforce sandbox, leadflow's connector against a plain reference client, rows/s.

The sandbox (``SalesforceSandbox.unthrottled(N, activities=False)``, jobs complete on their
first poll) runs in a process of its own (``python -m bench.salesforce_bench host N``), so
its CPU and its 100k rows' garbage collection are not in this process; it obeys one command
a line on stdin (``clear``: forget finished jobs, answer the peak RSS) and stops when stdin
closes. Each round, interleaved, times:

- the reference: ``requests`` alone, a JWT bearer token, one ``queryAll`` job over the same
  SOQL leadflow sends, polled until ``JobComplete``, its results read with ``maxRecords``
  and ``Sforce-Locator`` until ``null``, each set parsed by ``csv.DictReader`` into a list;
- leadflow, fetch only: ``CONNECTOR.pages(client, org, start_for)`` with
  ``bulk_threshold=1`` (its ``COUNT()`` query, then a Bulk job) and ``bulk_page_records``
  10,000, on a new session (its token included);
- leadflow, fetch + map: the same, and ``CONNECTOR.to_lead(record, context)`` on every record.

Both read every row of the org (queryAll: deleted
rows too, which leadflow skips), so rates are the org's N leads over each one's median
seconds. leadflow's pages also look up each
lead's first campaign (``lead_campaigns``, one REST query per 200 leads), as a sync does.

Docs followed: Bulk API 2.0 query jobs,
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm;
the JWT bearer flow,
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import jwt
import requests

from bench.report import Check, Row

ORG = "00D5g0000000001EAA"
API = "v62.0"
PAGE_RECORDS = 10_000
POLL_S = 0.05
REFERENCE = "salesforce reference: requests + csv.DictReader"
FETCH = "leadflow salesforce pages (fetch only)"
MAPPED = "leadflow salesforce pages + to_lead"


# --- the sandbox host (a child process) --------------------------------------------------------


def host(n: int) -> int:
    """The child: a sandbox org of ``n`` leads; announces itself as one JSON line, then
    answers ``clear`` (jobs forgotten, peak RSS) until stdin closes."""
    import resource

    from leadflow.sandbox.salesforce.app import CLIENT_ID, SalesforceSandbox
    from leadflow.sandbox.salesforce.keys import shared_key_pair

    sandbox = SalesforceSandbox.unthrottled(n, activities=False, bulk_polls=0)
    with sandbox as sf:
        rows = sf.records("Lead", include_deleted=True)
        live = [row for row in rows if not row["IsDeleted"]]
        unreachable = sum(not row.get("Email") and not row.get("Phone") for row in live)
        ready = {"url": sf.url, "username": sf.username, "client_id": CLIENT_ID,
                 "private_pem": shared_key_pair().private_pem, "leads": n,
                 "deleted": n - len(live), "unreachable": unreachable}  # fmt: skip
        del rows, live
        print(json.dumps(ready), flush=True)
        for line in sys.stdin:
            if line.strip() == "clear":
                sf.bulk.jobs.clear()
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(json.dumps({"peak_rss_mb": round(rss, 1)}), flush=True)
    return 0


class Host:
    """The parent's side of the host: its announcement and the ``clear`` command."""

    def __init__(self, process: subprocess.Popen[str], ready: dict[str, Any]) -> None:
        self.process, self.ready = process, ready

    def clear(self) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("clear\n")
        self.process.stdin.flush()
        return float(json.loads(self.process.stdout.readline())["peak_rss_mb"])


@contextmanager
def salesforce_host(n: int) -> Iterator[Host]:
    """Start the sandbox host for ``n`` leads; stopped (stdin closed) on the way out."""
    command = [sys.executable, "-m", "bench.salesforce_bench", "host", str(n)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the Salesforce sandbox host did not start")
        yield Host(process, json.loads(line))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the timed clients -------------------------------------------------------------------------


def leadflow_config(ready: dict[str, Any]) -> Any:
    """A source for the host's org: JWT flow, every window a Bulk job, 10k rows a page."""
    from leadflow.connectors.salesforce.config import SalesforceConfig

    return SalesforceConfig(
        base_url=ready["url"], client_id=ready["client_id"], username=ready["username"],
        private_key=ready["private_pem"], org_id=ORG, bulk_threshold=1,
        bulk_page_records=PAGE_RECORDS, bulk_poll_seconds=POLL_S, bulk_poll_max_seconds=1.0,
    )  # fmt: skip


def lead_soql(config: Any) -> str:
    """The SOQL of leadflow's Bulk job over all Leads (the reference sends the same)."""
    from leadflow.connectors.salesforce.leads import lead_spec
    from leadflow.connectors.salesforce.soql import bulk_query

    return bulk_query(lead_spec(config), None)


def leadflow_round(config: Any, *, mapped: bool) -> dict[str, Any]:
    """One timed extraction: a new session, every page, each record mapped if ``mapped``."""
    from leadflow.connectors.base import LeadContext
    from leadflow.connectors.salesforce.client import open_session
    from leadflow.connectors.salesforce.connector import CONNECTOR
    from leadflow.models.records.leads import InvalidRecord

    context = LeadContext(CONNECTOR.name, ORG, None)
    counts = {"read": 0, "leads": 0, "rejected": 0}
    began = time.perf_counter()
    client = open_session(config)
    try:
        for page in CONNECTOR.pages(client, ORG, lambda partition: None):
            counts["read"] += len(page.records)
            for record in page.records if mapped else ():
                try:
                    CONNECTOR.to_lead(record, context)
                    counts["leads"] += 1
                except InvalidRecord:
                    counts["rejected"] += 1
    finally:
        client.close()
    return {"seconds": time.perf_counter() - began, **counts}


def _token(session: requests.Session, ready: dict[str, Any]) -> str:
    claims = {"iss": ready["client_id"], "sub": ready["username"], "aud": ready["url"],
              "exp": int(time.time()) + 180}  # fmt: skip
    assertion = jwt.encode(claims, ready["private_pem"], algorithm="RS256")
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    response = session.post(f"{ready['url']}/services/oauth2/token", data=grant, timeout=60)
    response.raise_for_status()
    return str(response.json()["access_token"])


def _wait(session: requests.Session, job_url: str) -> dict[str, Any]:
    while True:
        response = session.get(job_url, timeout=600)
        response.raise_for_status()
        job = response.json()
        if job["state"] == "JobComplete":
            return dict(job)
        if job["state"] in ("Failed", "Aborted"):
            raise RuntimeError(f"the reference's Bulk job ended {job['state']}")
        time.sleep(POLL_S)


def reference_round(ready: dict[str, Any], soql: str) -> dict[str, Any]:
    """One timed extraction by the plainest client: token, job, poll, results, DictReader."""
    began, parse_s, rows = time.perf_counter(), 0.0, 0
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {_token(session, ready)}"
        jobs = f"{ready['url']}/services/data/{API}/jobs/query"
        created = session.post(jobs, json={"operation": "queryAll", "query": soql}, timeout=60)
        created.raise_for_status()
        job_url = f"{jobs}/{created.json()['id']}"
        job = _wait(session, job_url)
        params: dict[str, Any] = {"maxRecords": PAGE_RECORDS}
        while True:
            response = session.get(f"{job_url}/results", params=params, timeout=600)
            response.raise_for_status()
            response.encoding = "utf-8"
            parsing = time.perf_counter()
            rows += len(list(csv.DictReader(io.StringIO(response.text, newline=""))))
            parse_s += time.perf_counter() - parsing
            locator = response.headers.get("Sforce-Locator", "null")
            if locator == "null":
                break
            params["locator"] = locator
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "read": rows, "total": job["numberRecordsProcessed"],
            "parse_s": parse_s}  # fmt: skip


# --- the section -------------------------------------------------------------------------------


def measure_salesforce(n: int, runs: int) -> list[Row]:
    """``runs`` interleaved rounds of the reference and leadflow (fetch only, fetch + map)
    on an org of ``n`` leads: three rows, medians, ratios to the reference's rows/s."""
    with salesforce_host(n) as sf:
        ready = sf.ready
        config = leadflow_config(ready)
        soql = lead_soql(config)
        found: dict[str, list[dict[str, Any]]] = {REFERENCE: [], FETCH: [], MAPPED: []}
        rss = 0.0
        for round_ in range(runs):
            print(f"  salesforce {n:,} round {round_ + 1}/{runs}", file=sys.stderr, flush=True)
            found[REFERENCE].append(reference_round(ready, soql))
            rss = sf.clear()
            found[FETCH].append(leadflow_round(config, mapped=False))
            rss = sf.clear()
            found[MAPPED].append(leadflow_round(config, mapped=True))
            rss = sf.clear()
    return _rows(n, found, ready, rss)


def _rows(
    n: int, found: dict[str, list[dict[str, Any]]], ready: dict[str, Any], rss: float
) -> list[Row]:
    where, deleted = "sandbox in its own process", int(ready["deleted"])
    rows = {
        path: Row(path, "salesforce", n, [r["seconds"] for r in runs])
        for path, runs in found.items()
    }
    reference = rows[REFERENCE]
    last = {path: runs[-1] for path, runs in found.items()}
    for path, row in rows.items():
        row.ratio = row.rate / reference.rate
        row.extra = {"rounds": found[path], "live_leads": n - deleted, "deleted": deleted,
                     "unreachable": ready["unreachable"], "sandbox_peak_rss_mb": rss}  # fmt: skip
    parse = sorted(r["parse_s"] for r in found[REFERENCE])[len(found[REFERENCE]) // 2]
    reference.note = (
        f"one queryAll job, 10k rows a set; {last[REFERENCE]['read']:,} rows of the job's "
        f"{last[REFERENCE]['total']:,}; DictReader {parse:.2f} s of it; {where}"
    )
    for path in (FETCH, MAPPED):
        over = rows[path].median / reference.median
        rows[path].note = f"{over:.2f}x the reference's time; {last[path]['read']:,} rows kept"
    mapped = last[MAPPED]
    rows[MAPPED].note += (
        f", {mapped['leads']:,} leads mapped, {mapped['rejected']} rejected (no email, no phone), "
        f"{deleted:,} deleted skipped"
    )
    return list(rows.values())


def salesforce_checks(rows: Sequence[Row]) -> list[Check]:
    """Correctness: leadflow maps every live lead but those the sandbox seeds with no email
    and no phone (rejected, as a sync quarantines them); the reference reads every row of
    its job, which holds every lead of the org."""
    checks = []
    for row in rows:
        if row.db != "salesforce" or "rounds" not in row.extra:
            continue
        live, where = row.extra["live_leads"], f"{row.rows:,}"
        if row.path == MAPPED:
            bad = row.extra["unreachable"]
            off = max(abs(r["leads"] - (live - bad)) + abs(r["rejected"] - bad)
                      for r in row.extra["rounds"])  # fmt: skip
            checks.append(Check(f"salesforce: leads mapped off reachable live leads ({where})", off,
                                "== 0", off == 0))  # fmt: skip
        if row.path == REFERENCE:
            off = max(abs(r["read"] - r["total"]) + abs(r["total"] - row.rows)
                      for r in row.extra["rounds"])  # fmt: skip
            checks.append(Check(f"salesforce: reference rows off the job's total ({where})", off,
                                "== 0", off == 0))  # fmt: skip
    return checks


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "host":
        raise SystemExit(host(int(sys.argv[2])))
    raise SystemExit("usage: python -m bench.salesforce_bench host N")
