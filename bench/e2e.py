"""End to end: the ``sync-leads`` flow from the sandbox platforms over HTTP into a warehouse.

Each measurement runs in a child process (``python -m bench.e2e``) so its peak RSS is the
sync's own, plus the sandbox servers it hosts on threads with their whole dataset in
memory. The five platforms are the demo's; HubSpot holds ``contacts`` contacts (the
others keep their demo sizes) and runs without its rate limits, with the connector's
search pace raised to match: HubSpot's documented 5 searches/s of 200 contacts would
otherwise bound any client at 1,000 contacts/s (1M in ~17 minutes), whatever leadflow does.

In the child: a warm-up flow starts Prefect's temporary server (not timed); then a full
sync, a second sync with nothing changed, and a third after 1% of the contacts changed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.report import Check, Row

FULL_TARGET_S = 60.0
RSS_TARGET_MB = 1024.0
SHARES = {"re-sync, nothing changed": 0.10, "re-sync, 1% changed": 0.15}


@contextmanager
def bench_sandboxes(contacts: int) -> Iterator[Any]:
    """The demo's five sandboxes, HubSpot unthrottled with ``contacts`` contacts."""
    from flows.demo import TOKENS, Sandboxes
    from sandbox.data import hubspot_contacts
    from sandbox.google_ads import GoogleAdsSandbox
    from sandbox.google_ads_data import google_ads_dataset
    from sandbox.hubspot import HubSpotSandbox
    from sandbox.linkedin import LinkedInSandbox
    from sandbox.linkedin_data import linkedin_dataset
    from sandbox.mailchimp import MailchimpSandbox
    from sandbox.mailchimp_data import mailchimp_dataset
    from sandbox.meta import MetaSandbox
    from sandbox.meta_data import meta_dataset

    token = TOKENS["LEADFLOW_DEMO_HUBSPOT_TOKEN"]
    with ExitStack() as stack:
        hubspot = HubSpotSandbox.unthrottled(hubspot_contacts(contacts), token=token)
        yield Sandboxes(
            hubspot=stack.enter_context(hubspot),
            meta=stack.enter_context(MetaSandbox(meta_dataset())),
            google=stack.enter_context(GoogleAdsSandbox(google_ads_dataset())),
            linkedin=stack.enter_context(LinkedInSandbox(linkedin_dataset())),
            mailchimp=stack.enter_context(MailchimpSandbox(mailchimp_dataset())),
        )


def _config(boxes: Any, warehouse_url: str) -> str:
    from flows.demo import demo_config

    text = demo_config(boxes, warehouse_url)
    portal = '    portal_id: "sandbox-portal"\n'
    return text.replace(portal, portal + "    search_requests_per_second: 1000\n", 1)


def _change_one_percent(boxes: Any) -> int:
    contacts = boxes.hubspot.contacts
    for contact in contacts[::100]:
        props = contact["properties"]
        boxes.hubspot.upsert_contact({"hs_object_id": props["hs_object_id"], "city": "Lisbon"})
    return len(contacts[::100])


def _latest_run(warehouse_url: str) -> tuple[dict[str, float], int]:
    """Seconds per source (summed over its accounts) and records of the latest run."""
    import sqlalchemy as sa

    from models.tables import sync_runs
    from models.warehouse import create_engine

    engine = create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            latest = sa.select(sync_runs.c.run_id).order_by(sync_runs.c.finished_at.desc())
            run_id = conn.execute(latest.limit(1)).scalar()
            columns = (sync_runs.c.source, sa.func.sum(sync_runs.c.seconds))
            query = sa.select(*columns, sa.func.sum(sync_runs.c.records))
            query = query.where(sync_runs.c.run_id == run_id).group_by(sync_runs.c.source)
            rows = conn.execute(query).all()
    finally:
        engine.dispose()
    seconds = {source: round(float(s or 0), 2) for source, s, _ in rows}
    return seconds, sum(int(r or 0) for _, _, r in rows)


def child(contacts: int, warehouse_url: str, out: Path) -> None:
    """Run the three syncs and write their timings to ``out`` (JSON)."""
    from prefect import flow

    from flows.demo import TOKENS
    from flows.sync_leads import sync_leads

    os.environ.update(TOKENS)

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        """Starts Prefect's temporary API server outside the timings."""

    warm_up()
    result: dict[str, Any] = {"contacts": contacts, "syncs": {}}
    with bench_sandboxes(contacts) as boxes, tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bench.yaml"
        config.write_text(_config(boxes, warehouse_url))
        for name in ("full sync", "re-sync, nothing changed", "re-sync, 1% changed"):
            if name.endswith("1% changed"):
                result["changed_contacts"] = _change_one_percent(boxes)
            began = time.perf_counter()
            state = sync_leads(config_path=str(config), return_state=True)
            seconds = time.perf_counter() - began
            per_source, records = _latest_run(warehouse_url)
            result["syncs"][name] = {
                "seconds": seconds,
                "state": state.type.value,
                "message": (state.message or "")[:300],
                "records": records,
                "per_source_s": per_source,
            }
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(json.dumps(result))


def _run_child(contacts: int, warehouse_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-e2e-") as folder:
        out = Path(folder) / "result.json"
        env = os.environ | {
            "PREFECT_HOME": str(Path(folder) / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # A loaded machine can take longer than the default 20 s to start the API.
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        }
        env.pop("PREFECT_API_URL", None)
        command = [sys.executable, "-m", "bench.e2e", str(contacts), warehouse_url, str(out)]
        log = Path(folder) / "child.log"
        with log.open("w") as sink:
            done = subprocess.run(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        if done.returncode != 0 or not out.exists():
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"end-to-end child failed ({done.returncode}):\n{tail}")
        return json.loads(out.read_text())


def measure_e2e(sizes: Sequence[int], dbs: Sequence[str], runs: int) -> list[Row]:
    """Median wall time of each sync over ``runs`` children per database and size."""
    from bench.targets import postgres_target, sqlite_target

    rows: list[Row] = []
    for n in sizes:
        for kind in dbs:
            by_name: dict[str, Row] = {}
            rss: list[float] = []
            for round_ in range(runs):
                print(f"  e2e {kind} {n:,} round {round_ + 1}/{runs}", file=sys.stderr, flush=True)
                with tempfile.TemporaryDirectory(prefix="leadflow-bench-wh-") as folder:
                    target = sqlite_target(Path(folder)) if kind == "sqlite" else postgres_target()
                    if target is None:
                        break
                    try:
                        result = _run_child(n, target.url)
                    finally:
                        target.close()
                rss.append(result["peak_rss_mb"])
                for name, sync in result["syncs"].items():
                    row = by_name.setdefault(name, Row(f"e2e {name}", kind, n))
                    row.seconds.append(sync["seconds"])
                    row.extra.setdefault("per_source_s", []).append(sync["per_source_s"])
                    row.extra.setdefault("records", []).append(sync["records"])
                    row.extra.setdefault("state", []).append(sync["state"])
                    row.extra.setdefault("message", []).append(sync["message"])
            if not by_name:
                continue
            full = by_name["full sync"]
            full.extra["peak_rss_mb"] = max(rss)
            full.note = f"peak RSS {max(rss):,.0f} MB (sync + sandboxes)"
            for name, row in by_name.items():
                if name != "full sync":
                    row.note = f"{row.median / full.median:.1%} of the full sync's time"
            rows += by_name.values()
    return rows


def e2e_checks(rows: list[Row]) -> list[Check]:
    """The end-to-end targets (the 60 s one is stated for 1M leads)."""
    checks = []
    full = {(r.db, r.rows): r for r in rows if r.path == "e2e full sync"}
    for (db, n), row in full.items():
        where = f"{db}, {n:,} contacts"
        if n >= 1_000_000:
            met = row.median <= FULL_TARGET_S
            checks.append(Check(f"e2e full sync s ({where})", row.median, "<= 60", met))
        rss = row.extra["peak_rss_mb"]
        checks.append(Check(f"e2e peak RSS MB ({where})", rss, "<= 1024", rss <= RSS_TARGET_MB))
    for row in rows:
        name = row.path.removeprefix("e2e ")
        if name in SHARES:
            share = row.median / full[(row.db, row.rows)].median
            wanted = SHARES[name]
            where = f"{row.db}, {row.rows:,}"
            checks.append(Check(f"{name} ÷ full ({where})", share, f"<= {wanted}", share <= wanted))
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    """The child: ``python -m bench.e2e CONTACTS WAREHOUSE_URL OUT_JSON``."""
    parser = argparse.ArgumentParser(prog="python -m bench.e2e")
    parser.add_argument("contacts", type=int)
    parser.add_argument("warehouse_url")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    child(args.contacts, args.warehouse_url, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
