"""The mapping benchmark's moving parts at a small size: every configured platform read
twice through its connector against a sandbox host process (once fetched and parsed, once
mapped), the ratio and the target check. No timing is asserted (the machine is shared)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.mapping_bench import MAPPED, mapping_checks
from bench.run import main

PLATFORMS = {"hubspot", "meta", "google_ads", "linkedin", "mailchimp"}


def test_mapping_rows_per_platform(tmp_path: Path) -> None:
    argv = ["--sizes", "", "--gx", "0", "--people", "", "--e2e", "", "--e2e-throttled", "",
            "--intake", "0", "--salesforce", "0", "--mapping", "150", "--runs", "1",
            "--out", str(tmp_path), "--name", "mapping"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads((tmp_path / "mapping.json").read_text())
    mapped = {row["path"].removeprefix(MAPPED + ": "): row for row in data["rows"]
              if row["path"].startswith(MAPPED)}  # fmt: skip
    assert {name.split("_uk")[0] for name in mapped} >= PLATFORMS
    for name, row in mapped.items():
        fetched = next(r for r in data["rows"] if r["path"] == f"fetch+parse: {name}")
        assert row["rows"] == fetched["rows"] > 0  # the same pages both ways
        assert 0 < row["extra"]["leads"] <= row["rows"] and row["ratio"] > 0
    assert data["config"]["mapping"] == 150
    checks = [c for c in data["checks"] if c["name"].startswith("fetch+map")]
    assert len(checks) == len(mapped) and all(c["target"] == "<= 2.0" for c in checks)
    from bench.report import Row

    rebuilt = [Row(r["path"], r["db"], r["rows"], r["seconds"], r["ratio"]) for r in data["rows"]]
    assert [c.name for c in mapping_checks(rebuilt)] == [c["name"] for c in checks]
