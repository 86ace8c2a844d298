"""``leadflow sla [--period P] [--team T]``: the SLA compliance table, read from the warehouse.

It prints the roll-ups (``sla_results``) of the latest SLA run: overall and per team, or
per rep of one team; it computes nothing itself but which periods to show and how to name
them. Shown are the periods that have evaluations: the one still running when the SLA was
evaluated, marked partial (``2026-12 (partial, to Dec 6)``: its counts are to date), the
newest complete one(s), and always every period the SLA check validates that holds a breach;
the lines under the table say which period each breach belongs to.

A period is partial when it had not ended at the run's evaluation time in the business time
zone (``sla.calendar.timezone``, else ``timezone``). Called without the zone (the summary
after a sync), the running period is the newest period of the run's ``qualified_volume``
roll-ups (the volume rule always rolls up the period it was evaluated in), else the one of
the evaluation time in UTC.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.cli.common import add_config_option
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.results import latest_compliance
from leadflow.models.warehouse.engine import open_warehouse
from leadflow.report.periods import partial_label, period_of, recent

COLUMNS = ("rule", "period", "group", "met", "decided", "pending", "percent", "target", "status",
           "severity")  # fmt: skip
DEFAULT_CHECKED: int = SlaSettings.model_fields["periods_checked"].default
VOLUME = "qualified_volume"


@dataclass(frozen=True)
class Compliance:
    """The latest SLA run's roll-ups: ``rows`` to show (after the period and team filters),
    ``every`` overall and team row of the run (to find breaches and the running period),
    the business time zone (None: unknown) and how many periods the SLA check validates."""

    rows: list[dict[str, Any]]
    every: list[dict[str, Any]]
    zone: str | None = None
    periods_checked: int = DEFAULT_CHECKED
    team: str | None = None


@dataclass(frozen=True)
class _Clock:
    """When the run evaluated, and which periods were running or checked then."""

    as_of: datetime
    current: str
    checked: list[str]
    zone: tzinfo
    zone_name: str  # shown after a date only when the zone is a guess (UTC)


def add_sla_command(commands: Any) -> None:
    sla = commands.add_parser("sla", help="print SLA compliance from the warehouse")
    add_config_option(sla)
    sla.add_argument("--period", help="YYYY-MM or YYYY-Www (default: the periods with data)")
    sla.add_argument("--team", help="only this team, with a row per rep")


def read_compliance(
    warehouse_url: str,
    period: str | None = None,
    team: str | None = None,
    *,
    zone: str | None = None,
    periods_checked: int = DEFAULT_CHECKED,
) -> Compliance:
    """The latest run's roll-ups: overall + teams, or one team and its reps; with the
    business time ``zone`` the periods are in and the SLA check's ``periods_checked``."""
    with open_warehouse(warehouse_url) as engine, engine.connect() as conn:
        every = latest_compliance(conn)
        rows = latest_compliance(conn, period, team) if period or team else every
    return Compliance(rows, every, zone, periods_checked, team)


def format_compliance(compliance: Compliance | Sequence[dict[str, Any]], periods: int = 1) -> str:
    """A fixed-width table of the running period and the newest ``periods`` complete ones
    that have evaluations, plus any checked period with a breach; then what is partial and
    where the breaches are."""
    if not isinstance(compliance, Compliance):
        compliance = Compliance(list(compliance), list(compliance))
    rows = compliance.rows
    if not rows:
        return "no SLA results in the warehouse yet (run a sync first)"
    clock = _clock(compliance)
    found = _breaches(compliance, clock)
    shown = _shown(rows, clock, periods, {period for _, period, _ in found})
    labels = {period: _label(period, clock) for period in shown}
    ordered = sorted(rows, key=lambda row: (row["rule"], _desc(row["period"]), row["group_key"]))
    cells = [
        [row["rule"], labels[row["period"]], row["group_key"], str(row["numerator"]),
         str(row["denominator"]), str(row["pending"]), _percent(row["percentage"]),
         _target(row), row["status"], row["severity"]]
        for row in ordered
        if row["period"] in shown
    ]  # fmt: skip
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines + _notes(clock, shown, found, compliance.every))


def _desc(period: str) -> tuple[int, ...]:
    """A sort key putting newer periods (YYYY-MM, YYYY-Www) first."""
    return tuple(-int(part) for part in period.replace("W", "").split("-"))


def _clock(compliance: Compliance) -> _Clock:
    first = compliance.rows[0]
    as_of, kind = first["evaluated_at"] or datetime.now(UTC), first["period_kind"]
    if compliance.zone:
        zone: tzinfo = ZoneInfo(compliance.zone)
        current, name = period_of(as_of, kind, zone), ""
    else:
        volume = [r["period"] for r in compliance.every
                  if r["rule"] == VOLUME and r["scope"] == "overall"]  # fmt: skip
        zone, name = UTC, "UTC"
        current = max(volume) if volume else period_of(as_of, kind, UTC)
    checked = recent(current, max(compliance.periods_checked, 1))
    return _Clock(as_of, current, checked, zone, name)


def _has_evaluations(row: dict[str, Any]) -> bool:
    """A per-person rule's roll-up exists only for evaluations; the volume rule's rolls up
    the running period even before anyone qualified in it."""
    return row["rule"] != VOLUME or row["numerator"] > 0


def _shown(
    rows: Sequence[dict[str, Any]], clock: _Clock, periods: int, breached: set[str]
) -> set[str]:
    with_data = {row["period"] for row in rows if _has_evaluations(row)}
    running = {p for p in with_data if p >= clock.current}
    complete = sorted(with_data - running, reverse=True)[: max(periods, 0)]
    present = {row["period"] for row in rows}
    shown = running | set(complete) | (breached & present)
    return shown or {max(present)}


def _label(period: str, clock: _Clock) -> str:
    if period < clock.current:
        return period
    return partial_label(period, clock.as_of, clock.zone, zone_name=clock.zone_name)


def _breaches(compliance: Compliance, clock: _Clock) -> list[tuple[str, str, str]]:
    """(rule, period, what) for each breach in the periods the SLA check validates, from
    the overall roll-ups (or the team's): evaluations decided and not met, or a complete
    period short of its qualified-volume target."""
    scope = "team" if compliance.team else "overall"
    found = []
    for row in compliance.every:
        if row["scope"] != scope or row["team"] != compliance.team:
            continue
        if row["period"] not in clock.checked:
            continue
        label = _label(row["period"], clock)
        if row["rule"] == VOLUME:
            if row["status"] == "failed":
                what = f"{row['numerator']} of {row['target']:g} qualified in {label}"
                found.append((row["rule"], row["period"], what))
        elif row["denominator"] > row["numerator"]:
            late = row["denominator"] - row["numerator"]
            what = f"{late} of {row['denominator']} decided not met in {label}"
            found.append((row["rule"], row["period"], what))
    order = {period: n for n, period in enumerate(clock.checked)}
    return sorted(found, key=lambda item: (item[0], order[item[1]]))


def _notes(
    clock: _Clock,
    shown: set[str],
    found: list[tuple[str, str, str]],
    every: Sequence[dict[str, Any]],
) -> list[str]:
    lines = [""]
    local = clock.as_of.astimezone(clock.zone)
    zone = clock.zone_name or str(clock.zone)
    for period in sorted(shown, reverse=True):
        if period >= clock.current:
            lines.append(
                f"{period} is partial: the SLA was evaluated {local:%Y-%m-%d %H:%M} {zone}, "
                "before it ended; its counts are to date."
            )
    checked = ", ".join(clock.checked)
    if not found:
        return [*lines, f"no breaches in the periods the SLA check validates ({checked})"]
    lines.append(f"breaches in the periods the SLA check validates ({checked}):")
    by_rule: dict[str, list[str]] = {}
    severity = {row["rule"]: row["severity"] for row in every}
    for rule, _, what in found:
        by_rule.setdefault(f"{rule} ({severity[rule]})", []).append(what)
    lines += [f"  {rule}: {'; '.join(items)}" for rule, items in by_rule.items()]
    return lines


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _target(row: dict[str, Any]) -> str:
    if row["rule"] == VOLUME:
        return f">={row['target']:g}"
    return f"{row['target']:g}%"


def run_sla_command(args: argparse.Namespace) -> int:
    from leadflow.config.settings import load_settings

    settings = load_settings(args.config, resolve_sources=False)  # calls no platform
    print(format_compliance(compliance_for(settings, args.period, args.team)))
    return 0


def compliance_for(settings: Any, period: str | None = None, team: str | None = None) -> Compliance:
    """:func:`read_compliance` of the configured warehouse, in the business time zone and
    with the SLA check's periods (``settings``: the loaded configuration)."""
    return read_compliance(
        settings.warehouse_url, period, team,
        zone=settings.sla.calendar.timezone or settings.timezone,
        periods_checked=settings.sla.periods_checked,
    )  # fmt: skip
