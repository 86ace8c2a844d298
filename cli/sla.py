"""``leadflow sla [--period P] [--team T]``: the SLA compliance table, read from the warehouse.

It prints the roll-ups (``sla_results``) of the latest SLA run: overall and per team, or
per rep of one team; it computes nothing itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from leadflow.cli.common import add_config_option
from leadflow.models.sla.results import latest_compliance
from leadflow.models.warehouse.engine import open_warehouse

COLUMNS = ("rule", "period", "group", "met", "decided", "pending", "percent", "target", "status",
           "severity")  # fmt: skip


def add_sla_command(commands: Any) -> None:
    sla = commands.add_parser("sla", help="print SLA compliance from the warehouse")
    add_config_option(sla)
    sla.add_argument("--period", help="YYYY-MM or YYYY-Www (default: the latest run's periods)")
    sla.add_argument("--team", help="only this team, with a row per rep")


def read_compliance(
    warehouse_url: str, period: str | None = None, team: str | None = None
) -> list[dict[str, Any]]:
    """The latest run's roll-ups: overall + teams, or one team and its reps."""
    with open_warehouse(warehouse_url) as engine, engine.connect() as conn:
        return latest_compliance(conn, period, team)


def format_compliance(rows: Sequence[dict[str, Any]], periods: int = 2) -> str:
    """A fixed-width table; without a period filter, the newest ``periods`` periods."""
    if not rows:
        return "no SLA results in the warehouse yet (run a sync first)"
    newest = sorted({row["period"] for row in rows}, reverse=True)[:periods]
    cells = [
        [row["rule"], row["period"], row["group_key"], str(row["numerator"]),
         str(row["denominator"]), str(row["pending"]), _percent(row["percentage"]),
         _target(row), row["status"], row["severity"]]
        for row in rows
        if row["period"] in newest
    ]  # fmt: skip
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _target(row: dict[str, Any]) -> str:
    if row["rule"] == "qualified_volume":
        return f">={row['target']:g}"
    return f"{row['target']:g}%"


def run_sla_command(args: argparse.Namespace) -> int:
    from leadflow.config.settings import load_settings

    settings = load_settings(args.config, resolve_sources=False)  # calls no platform
    rows = read_compliance(settings.warehouse_url, args.period, args.team)
    print(format_compliance(rows, periods=1 if args.period else 2))
    return 0
