"""The end-to-end benchmark's moving parts at small sizes: the sandbox host process (its
control channel and that it always stops), the task-run check, and one real end-to-end
child (100 HubSpot contacts, SQLite, one round) through ``bench.run``.

No timing is asserted (the machine is shared).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.e2e import (
    children_cpu_seconds,
    e2e_checks,
    floor_checks,
    floor_seconds,
    task_run_checks,
    workers_cpu_seconds,
)
from bench.report import Row
from bench.run import main
from bench.sandbox_host import WAREHOUSE_PLACEHOLDER, SandboxHost


def test_sandbox_host_serves_on_loopback_and_obeys_its_control_channel() -> None:
    with SandboxHost(300) as host:
        urls = host.ready["urls"]
        assert set(urls) == {"hubspot", "meta", "google_ads", "linkedin", "mailchimp"}
        assert all(url.startswith("http://127.0.0.1:") for url in urls.values())
        config = host.config("sqlite:///x.db")
        assert "sqlite:///x.db" in config and WAREHOUSE_PLACEHOLDER not in config
        assert urls["hubspot"] in config and "search_requests_per_second: 1000" in config
        assert host.change_one_percent() == 3  # every 100th of 300 contacts
        assert host.peak_rss_mb() > 10
        assert host.cpu_seconds() > 0 and host.requests() == {}  # nothing asked yet
        assert not host.throttled
        assert host.command("bogus") == {"error": "unknown command 'bogus'"}
        process = host.process
    assert process is not None and process.returncode == 0
    assert host.final["stopped"] and host.final["peak_rss_mb"] > 10


def test_sandbox_host_is_stopped_when_the_caller_fails() -> None:
    host = SandboxHost(10)
    with pytest.raises(RuntimeError, match="sync failed"), host:
        raise RuntimeError("sync failed")
    assert host.process is not None and host.process.poll() is not None


def test_sandbox_host_stops_at_end_of_input() -> None:
    host = SandboxHost(10).__enter__()
    assert host.process is not None and host.process.stdin is not None
    host.process.stdin.close()  # as when the parent dies: the pipe closes
    assert host.process.wait(timeout=30) == 0
    host.stop()  # nothing left to do


def test_the_floor_is_the_slower_of_hubspots_two_limits() -> None:
    # 500 searches at 5/s: 100 s; 700 other requests at 100 per 10 s: 70 s.
    counts = {"requests": 1200, "searches": 500, "first": 0.0, "last": 110.0}
    assert floor_seconds("hubspot", counts) == 100.0
    assert floor_seconds("hubspot", {**counts, "requests": 2500}) == 200.0
    assert floor_seconds("meta", counts) is None  # no per-second limit documented
    row = Row("e2e throttled full sync", "sqlite", 20_000, [120.0])
    row.extra["platforms"] = [{"hubspot": counts, "meta": {**counts, "searches": 0}}]
    (check,) = floor_checks([row])
    assert check.measured == 1.1 and check.met
    row.extra["platforms"][0]["hubspot"] = {**counts, "last": 130.0}
    assert not floor_checks([row])[0].met


def test_a_million_contacts_are_checked_with_the_sandbox_host_beside_them() -> None:
    full = Row("e2e full sync", "sqlite", 1_000_000, [170.0])
    full.extra.update(peak_rss_mb=900.0, sandbox_peak_rss_mb=4100.0, task_runs=[31])
    checks = {c.name: c for c in e2e_checks([full])}
    beside = checks["e2e full sync s, sandbox host beside it (sqlite, 1,000,000 contacts)"]
    host = checks["e2e sandbox host peak RSS MB (sqlite, 1,000,000 contacts)"]
    assert beside.met and not checks["e2e full sync s (sqlite, 1,000,000 contacts)"].met
    assert not host.met and host.measured == 4100.0
    full.seconds, full.extra["sandbox_peak_rss_mb"] = [181.0], 3900.0
    checks = {c.name: c for c in e2e_checks([full])}
    assert not checks[beside.name].met and checks[host.name].met
    smaller = Row("e2e full sync", "sqlite", 100_000, [170.0], extra=dict(full.extra))
    names = [c.name for c in e2e_checks([smaller])]
    assert "e2e peak RSS MB, the full sync alone (sqlite, 100,000 contacts)" in names
    assert not [name for name in names if "s (" in name or "host" in name]
    # The target is the full sync's own peak (a fresh process), not the peak after the
    # re-syncs that ran in the same process after it.
    full.extra.update(peak_rss_mb=1300.0, full_sync_peak_rss_mb=1000.0)
    (rss,) = [c for c in e2e_checks([full]) if "RSS MB, the full sync" in c.name]
    assert rss.met and rss.measured == 1000.0
    full.extra["full_sync_peak_rss_mb"] = 1100.0
    (rss,) = [c for c in e2e_checks([full]) if "RSS MB, the full sync" in c.name]
    assert not rss.met


BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"


def test_running_children_and_ended_workers_are_counted_apart() -> None:
    # A running child (as Prefect's server or the sandbox host) is read from /proc, and
    # left out when it is the one excluded; a child that ended counts as a worker.
    running = subprocess.Popen([sys.executable, "-c", BURN + "time.sleep(30)"])
    try:
        time.sleep(1.5)  # other children (a Prefect server of an earlier test) count too
        every, others = children_cpu_seconds(), children_cpu_seconds(exclude=running.pid)
        assert every - others >= 0.3
    finally:
        running.kill()
        running.wait()
    before = workers_cpu_seconds()
    subprocess.run([sys.executable, "-c", BURN], check=True)
    assert workers_cpu_seconds() - before >= 0.3


def _row(path: str, db: str, n: int, task_runs: list[int]) -> Row:
    return Row(f"e2e {path}", db, n, [1.0] * len(task_runs), extra={"task_runs": task_runs})


def test_task_runs_check_compares_sizes_or_else_the_resyncs() -> None:
    rows = [
        _row("full sync", "sqlite", 5000, [31, 31]),
        _row("full sync", "sqlite", 100_000, [31, 31]),
        _row("full sync", "postgresql", 5000, [31]),
        _row("full sync", "postgresql", 100_000, [33]),
        _row("full sync", "other", 5000, [31]),
        _row("re-sync, nothing changed", "other", 5000, [30]),
    ]
    checks = {c.name.split("(")[1].rstrip(")"): c for c in task_run_checks(rows)}
    assert checks["sqlite"].met and checks["sqlite"].measured == 31
    assert checks["sqlite"].target == "equal across sizes: 31 at 5,000, 31 at 100,000"
    assert not checks["postgresql"].met and checks["postgresql"].measured == 33
    assert not checks["other"].met
    assert "full sync 31, re-sync, nothing changed 30" in checks["other"].target


def test_e2e_child_measures_sync_and_sandbox_apart(tmp_path: Path) -> None:
    argv = [
        "--sizes",
        "",
        "--gx",
        "0",
        "--people",
        "",
        "--intake",
        "0",
        "--salesforce",
        "0",
        "--mapping",
        "0",
        "--dbs",
        "sqlite",
    ]
    argv += ["--out", str(tmp_path)]
    argv += ["--e2e", "100", "--e2e-throttled", "100", "--e2e-runs", "1", "--name", "e2e-test"]
    assert main(argv) == 0

    data = json.loads((tmp_path / "e2e-test.json").read_text())
    rows = {row["path"]: row for row in data["rows"]}
    throttled = rows.pop("e2e throttled full sync")
    assert set(rows) == {"e2e full sync", "e2e re-sync, nothing changed", "e2e re-sync, 1% changed"}
    # Throttled: the host counted HubSpot's requests, searches apart, and the floor is theirs.
    (hubspot,) = [p["hubspot"] for p in throttled["extra"]["platforms"]]
    assert hubspot["requests"] > hubspot["searches"] > 0 and hubspot["last"] > hubspot["first"]
    assert "hubspot" in throttled["note"] and "floor" in throttled["note"]
    # Unthrottled: CPU apart for the sync (by stage), Prefect's server and the sandboxes.
    (cpu,) = rows["e2e full sync"]["extra"]["cpu_s"]
    assert cpu["sync"] > 0 and cpu["sandbox_host"] > 0 and cpu["prefect_server"] >= 0
    assert cpu["workers"] >= 0
    (stage_cpu,) = rows["e2e full sync"]["extra"]["stage_cpu_s"]
    assert stage_cpu["extract+load"] > 0 and stage_cpu["extract+load"] <= cpu["sync"]
    assert "CPU s (median): sync" in rows["e2e full sync"]["note"]
    (stage_rss,) = rows["e2e full sync"]["extra"]["stage_rss_mb"]
    assert 0 < stage_rss["extract+load"] <= rows["e2e full sync"]["extra"]["peak_rss_mb"]
    assert "by stage, MB: extract+load" in rows["e2e full sync"]["note"]
    assert "resident MB by stage: extract+load" in rows["e2e re-sync, nothing changed"]["note"]
    full = rows["e2e full sync"]
    assert full["extra"]["peak_rss_mb"] > 0 and full["extra"]["sandbox_peak_rss_mb"] > 0
    # The full sync's own peak, read when it ended, is at most the peak after all three.
    assert 0 < full["extra"]["full_sync_peak_rss_mb"] <= full["extra"]["peak_rss_mb"]
    assert "sandbox host" in full["note"] and "task runs" in full["note"]
    for row in rows.values():
        (count,) = row["extra"]["task_runs"]
        by_task = row["extra"]["task_runs_by_task"][0]
        assert count == sum(by_task.values()) and by_task["sync_account_task"] > 0
        assert by_task["sla_task"] == 1 and by_task["classify_task"] == 1
    assert rows["e2e re-sync, 1% changed"]["extra"]["changed_contacts"] == [1]  # 1% of 100
    names = {check["name"] for check in data["checks"]}
    assert "task runs per sync independent of lead count (sqlite)" in names
    assert "e2e throttled span ÷ floor (hubspot, sqlite, 100 contacts)" in names
    rebuilt = [
        Row(r["path"], r["db"], r["rows"], r["seconds"], extra=r["extra"]) for r in data["rows"]
    ]
    assert [c.name for c in e2e_checks(rebuilt)] == [c["name"] for c in data["checks"]]
