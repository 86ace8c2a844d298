"""Measurements, the medians and ratios the benchmark reports, and the table it prints."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One path on one database at one size: its timed runs and what they give."""

    path: str
    db: str
    rows: int
    seconds: list[float] = field(default_factory=list)
    ratio: float | None = None  # rows/s over the reference's rows/s (same db, size, run set)
    ratio_pk: float | None = None  # load paths: over the PK-only table's reference
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.rows / self.median if self.median > 0 else float("inf")


@dataclass
class Check:
    """One target of the issue: what was measured against what it must reach."""

    name: str
    measured: float
    target: str
    met: bool


def table(rows: list[Row]) -> str:
    """The results as one markdown table (also what is printed)."""
    lines = [
        "| path | db | rows | median s | rows/s | ratio to reference | ratio to PK-only "
        "reference | note |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        ratio_pk = "" if row.ratio_pk is None else f"{row.ratio_pk:.2f}x"
        lines.append(
            f"| {row.path} | {row.db} | {row.rows:,} | {row.median:.3f} | {row.rate:,.0f} "
            f"| {ratio} | {ratio_pk} | {row.note} |"
        )
    return "\n".join(lines)


def checks_table(checks: list[Check]) -> str:
    """The targets, each marked met or missed."""
    lines = ["| target | measured | must be | |", "| --- | ---: | --- | --- |"]
    for check in checks:
        mark = "met" if check.met else "**missed**"
        lines.append(f"| {check.name} | {check.measured:.2f} | {check.target} | {mark} |")
    return "\n".join(lines)


def write(
    folder: Path, name: str, config: dict[str, Any], rows: list[Row], checks: list[Check]
) -> tuple[Path, Path]:
    """``<name>.json`` and ``<name>.md`` in ``folder``: every run's seconds and the tables."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = {
        "finished_at": stamp,
        "config": config,
        "rows": [asdict(row) | {"median_s": row.median, "rows_per_s": row.rate} for row in rows],
        "checks": [asdict(check) for check in checks],
    }
    json_path, md_path = folder / f"{name}.json", folder / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    settings = ", ".join(f"{key}={value}" for key, value in config.items())
    md_path.write_text(
        f"# leadflow benchmark, {stamp}\n\n{settings}\n\n{table(rows)}\n\n"
        f"## Targets\n\n{checks_table(checks)}\n"
    )
    return json_path, md_path
