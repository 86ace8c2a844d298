"""``make bench``: leadflow's load path against its physical limits and its peers, the GX SLA
suites on a large SLA table, the people layer against a direct reference, and end to end.

Usage: ``python -m bench.run [--smoke] [--sizes 100000,1000000] [--runs 3] [--gx 1000000]
[--people 100000,1000000] [--e2e 100000] ...``. Every path of one size and database runs
once per round, rounds interleaved, so the machine's noise hits all of them alike; medians
of the rounds are reported, and ratios are taken between medians of the same invocation.
The GX suites (``bench.gx_bench``) run ``--runs`` warm rounds per database after the load
paths, then the people layer (``bench.people_bench``) ``--runs`` rounds per size and database.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import load_paths
from bench.dataset import changed, make_leads
from bench.gx_bench import gx_checks, measure_gx
from bench.intake_bench import intake_checks, measure_intake
from bench.people_bench import measure_people, people_checks
from bench.report import Check, Row, table, write
from bench.salesforce_bench import measure_salesforce, salesforce_checks
from bench.targets import Target, postgres_target, sqlite_target

RESULTS = Path(__file__).parent / "results"
REFERENCE = {"postgresql": "COPY + upsert", "sqlite": "executemany upsert"}
# The targets: leadflow's load path against the plain upsert into the same table
# (its ratio to the PK-only table's is reported beside it), and against dlt.
TARGET_RATIO = 0.8
TARGET_OVER_DLT = 5.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="5k leads, quick (CI)")
    parser.add_argument("--sizes", default="100000,1000000", help="lead counts, comma separated")
    parser.add_argument("--runs", type=int, default=3, help="rounds per size (median)")
    parser.add_argument("--batch", type=int, default=5000, help="leads per page (transaction)")
    parser.add_argument("--dbs", default="sqlite,postgresql")
    parser.add_argument("--peers-max", type=int, default=100_000, help="largest size, dlt/pandas")
    parser.add_argument("--pages-max", type=int, default=100_000, help="largest size, small pages")
    parser.add_argument("--no-dlt", action="store_true", help="skip dlt even if installed")
    parser.add_argument("--small-pages", type=int, default=100, help="also pages of N (0: no)")
    parser.add_argument(
        "--e2e",
        default=None,
        help="end-to-end sync sizes, HubSpot contacts (default 100000,1000000; none with --smoke)",
    )
    parser.add_argument("--e2e-runs", type=int, default=3, help="end-to-end children per size")
    parser.add_argument(
        "--e2e-throttled",
        default=None,
        help="end-to-end full sync under the platforms' documented limits, HubSpot contacts "
        "(ratio to the rate-limit floor; default 20000, none with --smoke)",
    )
    parser.add_argument(
        "--mapping",
        type=int,
        default=None,
        help="leads per platform for fetch+map against fetch+parse (bench.mapping_bench); "
        "0: none (default 20000, none with --smoke)",
    )
    parser.add_argument(
        "--gx",
        default=None,
        help="SLA evaluation rows for the GX suites, comma separated; 0: none "
        "(default 1000000, or 5000 with --smoke)",
    )
    parser.add_argument(
        "--people",
        default=None,
        help="people-layer sizes (leads), comma separated; '' none "
        "(default 100000,1000000, or 5000 with --smoke)",
    )
    parser.add_argument(
        "--intake",
        type=int,
        default=None,
        help="webhook notifications for the intake run (bench.intake_bench); 0: none "
        "(default 5000, none with --smoke)",
    )
    parser.add_argument(
        "--salesforce",
        type=int,
        default=None,
        help="Salesforce leads for the Bulk API 2.0 extraction (bench.salesforce_bench); "
        "0: none (default 100000, none with --smoke)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument("--name", default=None, help="results file name (default: by mode)")
    return parser


def _timed(path: load_paths.LoadPath, target: Target, leads: Sequence[Any], batch: int) -> float:
    began = time.perf_counter()
    path(target, leads, batch)
    return time.perf_counter() - began


def measure_load_paths(
    target: Target, n: int, args: argparse.Namespace, peers: list[str]
) -> list[Row]:
    """Every load path for ``n`` leads on ``target``, ``args.runs`` interleaved rounds."""
    leads = make_leads(n)
    again = changed(leads)
    kind, batch = target.kind, args.batch
    rows = {
        "reference": Row(f"reference: {REFERENCE[kind]}", kind, n, note=f"pages of {batch}"),
        "reference_pk": Row(
            f"reference, PK-only table: {REFERENCE[kind]}", kind, n, note=f"pages of {batch}"
        ),
        "full": Row("leadflow load_batch", kind, n, note=f"pages of {batch}, empty table"),
        "same": Row("leadflow re-load, nothing changed", kind, n),
        "1pct": Row("leadflow re-load, 1% changed", kind, n),
    }
    small_pages = args.small_pages if n <= args.pages_max else 0
    if small_pages:
        pages = small_pages
        rows["pages"] = Row("leadflow load_batch", kind, n, note=f"pages of {pages}, as a sync")
    for peer in peers:
        rows[peer] = Row(
            "dlt merge" if peer == "dlt" else "pandas to_sql (append)", kind, n, note="one call"
        )
    for round_ in range(args.runs):
        print(f"  {kind} {n:,} round {round_ + 1}/{args.runs}", file=sys.stderr, flush=True)
        for key, pk_only in (("reference", False), ("reference_pk", True)):
            target.reset()
            path = load_paths.reference_for(kind, pk_only=pk_only)
            rows[key].seconds.append(_timed(path, target, leads, batch))
        target.reset()
        rows["full"].seconds.append(_timed(load_paths.leadflow, target, leads, batch))
        rows["same"].seconds.append(_timed(load_paths.leadflow, target, leads, batch))
        rows["1pct"].seconds.append(_timed(load_paths.leadflow, target, again, batch))
        if small_pages:
            target.reset()
            pages = _timed(load_paths.leadflow, target, leads, small_pages)
            rows["pages"].seconds.append(pages)
        for peer in peers:
            target.reset()
            path = load_paths.dlt_merge if peer == "dlt" else load_paths.pandas_to_sql
            rows[peer].seconds.append(_timed(path, target, leads, batch))
    reference, reference_pk = rows["reference"].rate, rows["reference_pk"].rate
    for row in rows.values():
        row.ratio = row.rate / reference
        row.ratio_pk = row.rate / reference_pk
    full = rows["full"].median
    for key in ("same", "1pct"):
        rows[key].note = f"{rows[key].median / full:.1%} of the full load's time"
    if "dlt" in rows:
        rows["full"].extra["over_dlt"] = rows["full"].rate / rows["dlt"].rate
    return list(rows.values())


def load_checks(rows: list[Row]) -> list[Check]:
    """The load-stage targets (against the same-table reference and dlt), per database and
    size."""
    checks = []
    for row in rows:
        if row.path != "leadflow load_batch" or "empty table" not in row.note:
            continue
        where, ratio = f"{row.db}, {row.rows:,}", row.ratio or 0.0
        name = f"load ÷ same-table reference ({where})"
        checks.append(Check(name, ratio, f">= {TARGET_RATIO:g}", ratio >= TARGET_RATIO))
        over = row.extra.get("over_dlt")
        if over is not None:
            name, wanted = f"load ÷ dlt merge ({where})", TARGET_OVER_DLT
            checks.append(Check(name, over, f">= {wanted:g}", over >= wanted))
    return checks


def _checks(rows: list[Row]) -> list[Check]:
    return load_checks(rows) + gx_checks(rows) + people_checks(rows)


def _peers(args: argparse.Namespace, n: int) -> list[str]:
    if n > args.peers_max:
        return []
    peers = []
    if not args.no_dlt and importlib.util.find_spec("dlt") is not None:
        peers.append("dlt")
    if importlib.util.find_spec("pandas") is not None:
        peers.append("pandas")
    return peers


def _targets(names: list[str], folder: Path) -> list[Target]:
    targets = []
    for name in names:
        if name == "sqlite":
            targets.append(sqlite_target(folder))
            continue
        target = postgres_target()
        if target is None:
            print("PostgreSQL not reachable: skipped", file=sys.stderr)
            continue
        targets.append(target)
    return targets


def _measure_intake(n: int, dbs: list[str]) -> list[Row]:
    """The intake run on a fresh warehouse per round (PostgreSQL: a new database)."""
    opened: list[Target] = []

    def fresh(db: str, folder: Path) -> str | None:
        if db == "sqlite":
            return f"sqlite:///{folder / 'intake.db'}"
        target = postgres_target()
        if target is not None:
            opened.append(target)
        return None if target is None else target.url

    try:
        return measure_intake(n, dbs, fresh)
    finally:
        for target in opened:
            target.close()


def _config(args: argparse.Namespace, complete: bool) -> dict[str, Any]:
    return {
        "mode": "smoke" if args.smoke else "full",
        "runs": args.runs,
        "e2e_runs": args.e2e_runs,
        "e2e_throttled": args.e2e_throttled,
        "mapping": args.mapping,
        "gx": args.gx,
        "people": args.people,
        "intake": args.intake,
        "salesforce": args.salesforce,
        "page": args.batch,
        "cpus": os.cpu_count(),
        "load_avg": round(os.getloadavg()[0], 2),
        "complete": complete,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write ``<out>/<name>.json`` and ``.md``.

    The files are rewritten after every size and database (``complete: false`` until the
    end), so a run cut short still leaves what it measured.
    """
    args = _parser().parse_args(argv)
    if args.smoke:
        args.sizes, args.small_pages, args.peers_max = "5000", 0, 5000
    if args.gx is None:
        args.gx = "5000" if args.smoke else "1000000"
    if args.e2e is None:
        args.e2e = "" if args.smoke else "100000,1000000"
    if args.e2e_throttled is None:
        args.e2e_throttled = "" if args.smoke else "20000"
    if args.mapping is None:
        args.mapping = 0 if args.smoke else 20_000
    if args.people is None:
        args.people = "5000" if args.smoke else "100000,1000000"
    if args.intake is None:
        args.intake = 0 if args.smoke else 5000
    if args.salesforce is None:
        args.salesforce = 0 if args.smoke else 100_000
    sizes = [int(size) for size in args.sizes.split(",") if size]
    gx_sizes = [int(size) for size in args.gx.split(",") if size and int(size) > 0]
    people_sizes = [int(size) for size in args.people.split(",") if size and int(size) > 0]
    name = args.name or ("smoke" if args.smoke else "full")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-") as folder:
        targets = _targets(args.dbs.split(","), Path(folder))
        try:
            for n in sizes:
                for target in targets:
                    rows += measure_load_paths(target, n, args, _peers(args, n))
                    write(args.out, name, _config(args, False), rows, load_checks(rows))
            for n in gx_sizes:
                rows += measure_gx(targets, n, args.runs)
                write(args.out, name, _config(args, False), rows, _checks(rows))
            for n in people_sizes:
                for kind in [target.kind for target in targets]:
                    rows += measure_people(kind, n, args.runs, Path(folder))
                    write(args.out, name, _config(args, False), rows, _checks(rows))
        finally:
            for target in targets:
                target.close()
    checks = _checks(rows)
    if args.mapping:
        from bench.mapping_bench import mapping_checks, measure_mapping

        mapping_rows = measure_mapping(args.mapping, args.runs)
        rows += mapping_rows
        checks += mapping_checks(mapping_rows)
    if args.e2e or args.e2e_throttled:
        from bench.e2e import e2e_checks, measure_e2e

        e2e_rows = []
        for mode, chosen in ((False, args.e2e), (True, args.e2e_throttled)):
            e2e_sizes = [int(size) for size in chosen.split(",") if size and int(size) > 0]
            if e2e_sizes:
                dbs = args.dbs.split(",")
                e2e_rows += measure_e2e(e2e_sizes, dbs, args.e2e_runs, throttled=mode)
        rows += e2e_rows
        checks += e2e_checks(e2e_rows)
    if args.intake:
        intake_rows = _measure_intake(args.intake, args.dbs.split(","))
        rows += intake_rows
        checks += intake_checks(intake_rows)
    if args.salesforce:
        salesforce_rows = measure_salesforce(args.salesforce, args.runs)
        rows += salesforce_rows
        checks += salesforce_checks(salesforce_rows)
    print(table(rows))
    json_path, md_path = write(args.out, name, _config(args, True), rows, checks)
    print(f"\nwritten: {json_path} {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
