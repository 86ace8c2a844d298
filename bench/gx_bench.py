"""The Great Expectations suites the sync runs after every load, on a large SLA table.

A migrated warehouse (:mod:`bench.targets`) is filled, untimed, with ``n`` synthetic rows of
``sla_evaluations`` — five per-person rules (``first_touch``, ``touch_attempts``, ``accept_reject``,
``icp_fit``, ``sales_acceptance``) for each of ``n / 5`` qualified people, about 80% met, 10%
breached, 10% pending, their clock starts spread over the 90 days before :data:`NOW` — the matching
``people`` rows (the foreign key), and the run's roll-ups in ``sla_results`` (per rule, month and
overall / team / rep, plus ``qualified_volume`` per month overall and per team). Rows go in fast:
one ``executemany`` in one transaction on SQLite, ``COPY`` on PostgreSQL; then ``ANALYZE``.

Then :func:`leadflow.expectations.runner.run_checks` is timed exactly as
``leadflow.flows.check_sla`` calls it during a sync: the enabled rules of the default
``SlaSettings`` (``rule_checks``), the two checked months, the run's id, ``now``, and Data Docs
built into a fixed folder. That is the SLA suite (one validation of ``sla_evaluations``, one of
``sla_results``) and the data-quality suite (leads, people, sla_evaluations) and the Data Docs.
``leads`` is left empty here: the load benchmark measures leads; this one measures the SLA tables.

Reported per database: the first call of the process on that database (a new GX context; on the
first database also the suites' first use) and the median of ``runs`` warm calls; the import of
Great Expectations is timed once per process, apart, when it has not happened yet. A sync in a fresh
process pays import + first call.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import Check, Row
from bench.targets import Target

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
RUN_ID = "bench-gx-run"
PERIODS = ["2026-11", "2026-10"]  # checked_periods(NOW, UTC calendar, "month", 2)
PER_PERSON = ("first_touch", "touch_attempts", "accept_reject", "icp_fit", "sales_acceptance")
TEAMS = ("east", "west", "central", "unassigned")
REPS = 40
SPREAD_MINUTES = 90 * 24 * 60
TARGET_S = 5.0
TARGET_ROWS = 1_000_000
PATH = "GX SLA suites"


def _status(person: int, rule: int) -> str:
    bucket = (person * 37 + rule * 11) % 100
    return "met" if bucket < 80 else "breached" if bucket < 90 else "pending"


def _person(p: int) -> dict[str, Any]:
    start = NOW - timedelta(minutes=(p * 7919) % SPREAD_MINUTES, seconds=p % 60)
    iso = start.isocalendar()
    team = TEAMS[p % len(TEAMS)]
    rep = None if team == "unassigned" else f"rep-{p % REPS}"
    return {
        "person_id": f"p{p:08d}",
        "clock_start": start,
        "month": f"{start.year:04d}-{start.month:02d}",
        "week": f"{iso.year:04d}-W{iso.week:02d}",
        "team": team,
        "rep": rep,
        "fit": (p * 13) % 100,
    }


def evaluation_rows(n: int) -> Iterator[dict[str, Any]]:
    """The ``n`` synthetic ``sla_evaluations`` rows, as column → value dicts."""
    from leadflow.models.sla.config import SlaSettings

    rules = SlaSettings().rules
    person: dict[str, Any] = {}
    for i in range(n):
        p, r = divmod(i, len(PER_PERSON))
        if r == 0:
            person = _person(p)
        rule = PER_PERSON[r]
        status = _status(p, r)
        start = person["clock_start"]
        due = start + timedelta(hours=1 + r * 8)
        events = {"met": start + timedelta(minutes=20 + r), "breached": due + timedelta(minutes=30)}
        event = events.get(status)
        late = 30.0 if status == "breached" else None
        yield {
            "rule": rule,
            "person_id": person["person_id"],
            "clock_start": start,
            "period_month": person["month"],
            "period_week": person["week"],
            "due_at": due,
            "event_at": event,
            "business_minutes": None if event is None else (event - start).total_seconds() / 60,
            "wall_minutes": None if event is None else (event - start).total_seconds() / 60,
            "minutes_late": late,
            "status": status,
            "severity": getattr(rules, rule).severity,
            "rep_id": person["rep"],
            "rep_source": None if person["rep"] is None else "hubspot",
            "team": person["team"],
            "detail": {"fit": person["fit"], "min_fit": 30} if rule == "icp_fit" else {},
            "breach_recorded_at": NOW if status == "breached" else None,
            "breach_run_id": RUN_ID if status == "breached" else None,
            "revised_at": None,
            "first_evaluated_at": NOW,
            "evaluated_at": NOW,
            "run_id": RUN_ID,
        }


def people_rows(n: int) -> Iterator[dict[str, Any]]:
    """One qualified person per five evaluations (the foreign key's targets)."""
    for p in range((n + len(PER_PERSON) - 1) // len(PER_PERSON)):
        person = _person(p)
        yield {
            "person_id": person["person_id"],
            "stage": "qualified",
            "lifecycle": "mql",
            "fit": person["fit"],
            "qualified_at": person["clock_start"],
            "created_at": person["clock_start"],
            "updated_at": NOW,
            "country": "US",
        }


def result_rows(n: int) -> list[dict[str, Any]]:
    """The run's ``sla_results``: the roll-ups of :func:`evaluation_rows` per month."""
    from leadflow.models.sla.config import SlaSettings

    rules = SlaSettings().rules
    counts: Counter[tuple[str, str, str, str | None, str | None, str]] = Counter()
    volume: Counter[tuple[str, str | None]] = Counter()
    for p in range((n + len(PER_PERSON) - 1) // len(PER_PERSON)):
        person = _person(p)
        month, team, rep = person["month"], person["team"], person["rep"]
        volume[(month, None)] += 1
        volume[(month, team)] += 1
        for r in range(min(len(PER_PERSON), n - p * len(PER_PERSON))):
            status = _status(p, r)
            groups = [("overall", None, None), ("team", team, None)]
            if rep is not None:
                groups.append(("rep", team, rep))
            for scope, group_team, group_rep in groups:
                counts[(PER_PERSON[r], month, scope, group_team, group_rep, status)] += 1
    groups: dict[tuple[str, str, str, str | None, str | None], dict[str, int]] = {}
    for (rule, month, scope, team, rep, status), count in counts.items():
        groups.setdefault((rule, month, scope, team, rep), Counter())[status] += count
    rows = []
    for (rule, month, scope, team, rep), c in sorted(groups.items(), key=str):
        decided = c["met"] + c["breached"]
        percentage = 100.0 * c["met"] / decided if decided else None
        target = 100.0 * getattr(rules, rule).target
        passed = percentage is not None and percentage >= target
        status = "pending" if percentage is None else "passed" if passed else "failed"
        key = "overall" if scope == "overall" else f"team:{team}" if scope == "team" else None
        rows.append(
            _result(rule, month, key or f"rep:hubspot:{rep}", scope, team, rep, c["met"],
                    decided, c["pending"], percentage, target, status,
                    getattr(rules, rule).severity)
        )  # fmt: skip
    per_period = rules.qualified_volume.per_period
    for (month, team), count in sorted(volume.items(), key=str):
        scope = "overall" if team is None else "team"
        status = "passed" if count >= per_period else "failed"
        rows.append(
            _result("qualified_volume", month, "overall" if team is None else f"team:{team}",
                    scope, team, None, count, per_period, 0, 100.0 * count / per_period,
                    float(per_period), status, rules.qualified_volume.severity)
        )  # fmt: skip
    return rows


def _result(
    rule: str, period: str, group_key: str, scope: str, team: str | None, rep: str | None,
    numerator: int, denominator: int, pending: int, percentage: float | None, target: float,
    status: str, severity: str,
) -> dict[str, Any]:  # fmt: skip
    return {
        "run_id": RUN_ID, "rule": rule, "period": period, "group_key": group_key,
        "period_kind": "month", "scope": scope, "team": team, "rep_id": rep,
        "numerator": numerator, "denominator": denominator, "pending": pending,
        "percentage": percentage, "target": target, "status": status, "severity": severity,
        "evaluated_at": NOW,
    }  # fmt: skip


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _pg_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict) else value


def fill(target: Target, n: int) -> dict[str, int]:
    """Empty ``target`` and fill it with ``n`` evaluations, their people and roll-ups
    (untimed); ANALYZE after. The rows written per table."""
    from leadflow.models.warehouse.sla_tables import sla_evaluations, sla_results
    from leadflow.models.warehouse.tables import people

    target.reset()
    tables = (
        (people, people_rows(n)),
        (sla_evaluations, evaluation_rows(n)),
        (sla_results, iter(result_rows(n))),
    )
    written: dict[str, int] = {}
    raw = target.engine.raw_connection()
    try:
        driver = raw.driver_connection
        if target.kind == "sqlite":
            for table, rows in tables:
                names = [c.name for c in table.columns]
                sql = (
                    f"INSERT INTO {table.name} ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' for _ in names)})"
                )
                values = [tuple(_sqlite_value(row.get(c)) for c in names) for row in rows]
                driver.executemany(sql, values)
                written[table.name] = len(values)
            driver.commit()
            driver.execute("ANALYZE")
        else:
            with driver.cursor() as cursor:
                for table, rows in tables:
                    names = [c.name for c in table.columns]
                    count = 0
                    copy_sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
                    with cursor.copy(copy_sql) as copy:
                        for row in rows:
                            copy.write_row([_pg_value(row.get(c)) for c in names])
                            count += 1
                    written[table.name] = count
            driver.commit()
            driver.autocommit = True
            with driver.cursor() as cursor:
                cursor.execute("ANALYZE people, sla_evaluations, sla_results")
            driver.autocommit = False
    finally:
        raw.close()
    target.engine.dispose()
    return written


def import_seconds() -> float | None:
    """Seconds to import Great Expectations and the suites, or None if already imported."""
    if "great_expectations" in sys.modules:
        return None
    began = time.perf_counter()
    import leadflow.expectations.quality_suite
    import leadflow.expectations.sla_suite  # noqa: F401

    return time.perf_counter() - began


def check_once(url: str, data_docs_dir: Path) -> tuple[float, Any]:
    """One ``run_checks`` call as the sync makes it; its seconds and report."""
    from leadflow.expectations.runner import run_checks
    from leadflow.flows.check_sla import rule_checks
    from leadflow.models.sla.config import SlaSettings

    checks = rule_checks(SlaSettings())
    began = time.perf_counter()
    report = run_checks(
        url, checks, periods=PERIODS, run_id=RUN_ID, now=NOW, data_docs_dir=data_docs_dir
    )
    return time.perf_counter() - began, report


def measure_gx(targets: Sequence[Target], n: int, runs: int) -> list[Row]:
    """Per target: fill ``n`` evaluation rows, one first call, then ``runs`` timed calls."""
    rows: list[Row] = []
    imported = import_seconds()
    for target in targets:
        print(f"  gx {target.kind} {n:,}: filling", file=sys.stderr, flush=True)
        began = time.perf_counter()
        written = fill(target, n)
        fill_s = time.perf_counter() - began
        with tempfile.TemporaryDirectory(prefix="leadflow-bench-gx-") as folder:
            docs = Path(folder) / "data-docs"
            first, report = check_once(target.url, docs)
            row = Row(PATH, target.kind, n)
            for round_ in range(runs):
                print(f"  gx {target.kind} {n:,} round {round_ + 1}/{runs}", file=sys.stderr)
                seconds, report = check_once(target.url, docs)
                row.seconds.append(seconds)
        rules = {r.rule: [r.evaluated, r.breached] for r in report.rules}
        row.extra = {
            "first_call_s": first,
            "gx_import_s": imported,
            "fill_s": fill_s,
            "written": written,
            "evaluated_breached": rules,
            "failed": report.failed(),
        }
        imported_note = "" if imported is None else f" (after a {imported:.1f} s GX import)"
        row.note = (
            f"warm median; first call {first:.2f} s{imported_note}; "
            f"{written['people']:,} people, {written['sla_results']:,} roll-ups"
        )
        imported = None
        rows.append(row)
    return rows


def gx_checks(rows: list[Row]) -> list[Check]:
    """The GX target: the suites take at most 5 s on a million evaluations (warm median)."""
    return [
        Check(f"GX SLA suites s ({row.db}, {row.rows:,})", row.median, f"<= {TARGET_S:g}",
              row.median <= TARGET_S)
        for row in rows
        if row.path == PATH and row.rows >= TARGET_ROWS
    ]  # fmt: skip
