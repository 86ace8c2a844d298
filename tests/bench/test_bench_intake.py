"""The intake benchmark still runs: a small round across a SIGKILL of ``leadflow intake``
on SQLite loses and doubles nothing, and every lead gets its SLA row. No timing is
asserted (the machine is shared); the targets are checked for their shape only."""

from __future__ import annotations

from pathlib import Path

from bench.intake_bench import RUNS, intake_checks, meta_host, run_round
from bench.intake_senders import percentile
from bench.report import Row


def test_a_killed_intake_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with meta_host(120) as meta:
        found = run_round(
            f"sqlite:///{tmp_path / 'w.db'}", meta["values"], meta, tmp_path, kill=True
        )
    assert found["notifications"] == 120 and found["inbox_rows"] == 120
    assert found["lost"] == 0 and found["doubled"] == 0 and found["evaluated"] == 120
    assert found["failed_attempts"] > 0  # the senders did meet the killed intake
    assert 0 < found["ack_p50_ms"] <= found["ack_p99_ms"]


def test_checks_take_the_rate_and_the_paced_p99_on_postgresql_only() -> None:
    extra = {"per_s": 800.0, "ack_p99_ms": 40.0, "lost": 0, "doubled": 0, "evaluated": 10}
    rows = [
        Row(name, db, 10, [1.0], extra=extra) for name, _ in RUNS for db in ("sqlite", "postgresql")
    ]
    checks = {check.name: check.met for check in intake_checks(rows)}
    assert checks["intake notifications/s (postgresql, 10)"] is True
    assert checks["intake p99 ms to 2xx at 500/s (postgresql, 10)"] is True
    assert not any("notifications/s (sqlite" in name for name in checks)
    assert sum("lost + doubled" in name for name in checks) == 6


def test_percentile_is_by_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0
    assert percentile([], 99) == 0.0
