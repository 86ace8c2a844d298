"""The Salesforce extraction benchmark still runs: on a 500-lead sandbox org, the reference
and leadflow (fetch only, fetch + map) each read every row through one Bulk API 2.0 job,
and the counts agree. No timing is asserted (the machine is shared)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.run import main
from bench.salesforce_bench import FETCH, MAPPED, REFERENCE, measure_salesforce, salesforce_checks


def test_the_section_reads_every_lead_both_ways() -> None:
    rows = {row.path: row for row in measure_salesforce(500, 1)}
    assert set(rows) == {REFERENCE, FETCH, MAPPED}
    for row in rows.values():
        assert row.rows == 500 and len(row.seconds) == 1 and row.rate > 0 and row.ratio
    extra = rows[MAPPED].extra
    live, deleted, unreachable = extra["live_leads"], extra["deleted"], extra["unreachable"]
    assert live == 500 - deleted and 0 < deleted < 50  # the sandbox deletes about 2%
    (reference,) = rows[REFERENCE].extra["rounds"]
    assert reference["read"] == reference["total"] == 500  # queryAll: deleted rows too
    assert reference["parse_s"] > 0
    (fetched,) = rows[FETCH].extra["rounds"]
    (mapped,) = extra["rounds"]
    assert fetched["read"] == mapped["read"] == live  # leadflow skips the deleted rows
    assert mapped["leads"] == live - unreachable and mapped["rejected"] == unreachable
    assert fetched["leads"] == 0  # fetch only: nothing mapped
    checks = salesforce_checks(list(rows.values()))
    assert len(checks) == 2 and all(check.met for check in checks)


def test_run_writes_the_salesforce_rows(tmp_path: Path) -> None:
    argv = ["--sizes", "", "--gx", "0", "--people", "", "--e2e", "", "--e2e-throttled", "", "--mapping", "0",
            "--intake", "0",
            "--dbs", "sqlite", "--salesforce", "300", "--runs", "1", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads((tmp_path / "full.json").read_text())
    assert {row["path"] for row in data["rows"]} == {REFERENCE, FETCH, MAPPED}
    assert data["config"]["salesforce"] == 300
    assert [check["met"] for check in data["checks"]] == [True, True]
