"""The intake benchmark (issue 22): notifications per second, time to acknowledge, time to
the SLA clock, and nothing lost or doubled across a SIGKILL of ``leadflow intake``.

One round per database, three processes:

- a Meta sandbox (``python -m bench.intake_bench host N``) holding N new leads on its
  "Contact Sales" form (a hand-raiser: each lead becomes an MQL with a ``first_touch``
  clock), one person each (a unique address);
- ``leadflow intake`` itself (the command, under uvicorn) on a fresh warehouse, fetching
  each lead from the sandbox after acknowledging its notification;
- this process: 50 sender threads POST one signed ``leadgen`` notification per lead (Meta's
  documented body and ``X-Hub-Signature-256``), each retried after 50 ms until answered
  2xx, as Meta retries a failed delivery; a watcher polls the warehouse for the leads'
  ``first_touch`` evaluations.

Run "steady" measures notifications/s (N over the time from the first POST to the last
2xx), the p50/p99 time to a 2xx, and the p50/p99 time from a lead's first POST to its
evaluation row (polled every 0.25 s). Run "kill" SIGKILLs the intake once half the
notifications were acknowledged and starts it again a second later; the warehouse must
then hold every lead exactly once (lost = leads missing, doubled = rows beyond one per lead).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench.intake_senders import APP_SECRET, Sent, percentile, send_all, signed_bodies, watch
from bench.report import Check, Row

TOKEN = "bench-meta-token-0123"
VERIFY_TOKEN = "bench-verify-token"
FORM_NAME = "Contact Sales - Q4 2026"
TARGET_RATE = 500.0  # notifications/s on PostgreSQL (the issue)
TARGET_ACK_P99_MS = 100.0
MAIN = "from leadflow.cli.main import main; raise SystemExit(main())"


# --- the Meta sandbox host (a child process) -------------------------------------------------


def host(n: int) -> int:
    """The child: a Meta sandbox with ``n`` new Contact Sales leads; announces them as JSON
    on stdout and serves until stdin closes."""
    from leadflow.sandbox.meta.app import MetaSandbox
    from leadflow.sandbox.meta.data import meta_dataset
    from leadflow.sandbox.meta.webhooks import leadgen_value

    dataset = meta_dataset(20)
    form = next(f for f in dataset.forms if f.name == FORM_NAME)
    with MetaSandbox(dataset, token=TOKEN) as meta:
        values = []
        for i in range(n):
            answers = [
                {"name": "full_name", "values": [f"Bench Person {i}"]},
                {"name": "email", "values": [f"bench.person.{i}@intake-bench.example"]},
                {"name": "company_name", "values": ["Intake Bench Ltd"]},
                {"name": "job_title", "values": ["Head of Marketing"]},
            ]
            lead = meta.add_lead(form.id, answers=answers)
            values.append(leadgen_value(lead, form.page_id))
        ready = {"base_url": meta.base_url, "page_ids": [p.id for p in dataset.pages]}
        print(json.dumps(ready | {"values": values}), flush=True)
        sys.stdin.read()
    return 0


@contextmanager
def meta_host(n: int) -> Iterator[dict[str, Any]]:
    """Start the sandbox host; its announcement (base URL, Page ids, leadgen values)."""
    command = [sys.executable, "-m", "bench.intake_bench", "host", str(n)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the Meta sandbox host did not start")
        yield json.loads(line)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the intake process ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def intake_config(folder: Path, warehouse_url: str, meta: dict[str, Any], port: int) -> Path:
    """The configuration ``leadflow intake`` runs with: the Meta source and its intake."""
    path = folder / "intake.yaml"
    pages = ", ".join(f'"{page}"' for page in meta["page_ids"])
    path.write_text(
        f"warehouse_url: {warehouse_url}\n"
        "sources:\n  meta:\n    type: meta\n"
        f"    base_url: {meta['base_url']}\n    access_token: ${{BENCH_META_TOKEN}}\n"
        f"    page_ids: [{pages}]\n"
        f"intake:\n  port: {port}\n  poll_seconds: 0.5\n  retry_base_seconds: 0.5\n"
        "  meta:\n    app_secret: ${BENCH_META_APP_SECRET}\n"
        "    verify_token: ${BENCH_META_VERIFY_TOKEN}\n    source: meta\n"
    )
    return path


class IntakeProcess:
    """``leadflow intake --config <path>`` as a child process: start, kill, restart."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config, self.port, self.log = config, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        env = os.environ | {"BENCH_META_TOKEN": TOKEN, "BENCH_META_APP_SECRET": APP_SECRET,
                            "BENCH_META_VERIFY_TOKEN": VERIFY_TOKEN}  # fmt: skip
        command = [sys.executable, "-c", MAIN, "intake", "--config", str(self.config)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"leadflow intake exited ({self.process.returncode})")
            try:
                requests.get(f"{self.url}/healthz", timeout=1).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("leadflow intake did not answer /healthz")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what was committed is all there is."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


# --- one round ---------------------------------------------------------------------------------


def run_round(
    warehouse_url: str,
    values: Sequence[dict[str, Any]],
    meta: dict[str, Any],
    folder: Path,
    *,
    kill: bool,
    rate: float | None = None,
    settle_timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Send every notification to a fresh ``leadflow intake``; with ``kill``, SIGKILL it
    once half were acknowledged and start it again. What was measured and counted."""
    from leadflow.models.warehouse.engine import create_engine

    port = _free_port()
    config = intake_config(folder, warehouse_url, meta, port)
    intake = IntakeProcess(config, port, folder / "intake.log")
    intake.start()
    engine = create_engine(warehouse_url)
    bodies = signed_bodies(values)
    keys = {key for key, _, _ in bodies}
    sent, seen, stop = Sent(), {}, threading.Event()
    watcher = threading.Thread(target=watch, args=(engine, keys, stop, seen), daemon=True)
    killer = threading.Thread(target=_kill_at_half, args=(intake, sent, len(keys)), daemon=True)
    try:
        watcher.start()
        if kill:
            killer.start()
        began = time.perf_counter()
        send_all(f"{intake.url}/webhooks/meta", bodies, sent, rate)
        sent_s = max(sent.acked.values()) - began
        if kill:
            killer.join()
        watcher.join(timeout=settle_timeout_s)
    finally:
        stop.set()
        intake.stop()
    counts = _counts(engine, keys)
    engine.dispose()
    to_sla = [seen[k] - sent.first_post[k] for k in seen]
    return {
        "notifications": len(keys),
        "seconds": sent_s,
        "per_s": len(keys) / sent_s,
        "ack_p50_ms": 1000 * percentile(sent.ack_s, 50),
        "ack_p99_ms": 1000 * percentile(sent.ack_s, 99),
        "sla_p50_s": percentile(to_sla, 50),
        "sla_p99_s": percentile(to_sla, 99),
        "evaluated": len(seen),
        "failed_attempts": sent.failed_attempts,
        "killed": kill,
        "paced_per_s": rate,
        **counts,
    }


def _kill_at_half(intake: IntakeProcess, sent: Sent, total: int) -> None:
    while len(sent.acked) < total // 2:
        time.sleep(0.01)
    intake.kill()
    time.sleep(1.0)
    intake.start()


def _counts(engine: Any, keys: set[str]) -> dict[str, int]:
    """Lost: leads of ``keys`` not in ``leads``; doubled: rows beyond one per lead (in
    ``leads`` and in the inbox)."""
    import sqlalchemy as sa

    from leadflow.models.warehouse.tables import intake_inbox, leads

    with engine.connect() as conn:
        lead_rows = list(
            conn.scalars(sa.select(leads.c.source_lead_id).where(leads.c.source == "meta"))
        )
        inbox_rows = list(conn.scalars(sa.select(intake_inbox.c.notification_id)))
    mine = [key for key in lead_rows if key in keys]
    return {
        "lost": len(keys - set(mine)),
        "doubled": len(mine) - len(set(mine)) + len(inbox_rows) - len(set(inbox_rows)),
        "inbox_rows": len(inbox_rows),
    }


RUNS = (
    ("intake, 50 clients as fast as answered", {"kill": False}),
    (f"intake, paced at {TARGET_RATE:g}/s", {"kill": False, "rate": TARGET_RATE}),
    ("intake, SIGKILL mid-run", {"kill": True}),
)


def measure_intake(
    n: int, dbs: Sequence[str], make_url: Callable[[str, Path], str | None]
) -> list[Row]:
    """Every run of ``RUNS`` on each database of ``dbs`` (``make_url(db, folder)`` gives a
    fresh, empty warehouse, or None to skip the database): one row per run."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-intake-") as tmp, meta_host(n) as meta:
        for db in dbs:
            for number, (name, options) in enumerate(RUNS):
                folder = Path(tmp) / f"{db}-{number}"
                folder.mkdir()
                url = make_url(db, folder)
                if url is None:
                    break
                print(f"  {name}: {db} {n:,}", file=sys.stderr, flush=True)
                found = run_round(url, meta["values"], meta, folder, **options)
                row = Row(name, db, n, seconds=[found["seconds"]], extra=found)
                row.note = (
                    f"to 2xx p50 {found['ack_p50_ms']:.0f} ms, p99 {found['ack_p99_ms']:.0f} ms; "
                    f"to SLA row p50 {found['sla_p50_s']:.1f} s, p99 {found['sla_p99_s']:.1f} s; "
                    f"lost {found['lost']}, doubled {found['doubled']}"
                )
                rows.append(row)
    return rows


def intake_checks(rows: Sequence[Row]) -> list[Check]:
    """The issue's targets on PostgreSQL, and 0 lost / 0 doubled everywhere."""
    checks = []
    for row in rows:
        found, where = row.extra, f"{row.db}, {row.rows:,}"
        if row.db == "postgresql" and row.path == RUNS[0][0]:
            rate = found["per_s"]
            checks.append(Check(f"intake notifications/s ({where})", rate,
                                f">= {TARGET_RATE:g}", rate >= TARGET_RATE))  # fmt: skip
        if row.db == "postgresql" and row.path == RUNS[1][0]:
            p99 = found["ack_p99_ms"]
            checks.append(Check(f"intake p99 ms to 2xx at {TARGET_RATE:g}/s ({where})", p99,
                                f"< {TARGET_ACK_P99_MS:g}", p99 < TARGET_ACK_P99_MS))  # fmt: skip
        if row.path.startswith("intake"):
            bad = found["lost"] + found["doubled"] + (row.rows - found["evaluated"])
            name = f"{row.path}: lost + doubled + without SLA row ({where})"
            checks.append(Check(name, bad, "== 0", bad == 0))
    return checks


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "host":
        raise SystemExit(host(int(sys.argv[2])))
    raise SystemExit("usage: python -m bench.intake_bench host N")
