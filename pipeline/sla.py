"""The SLA check's plain parts: evaluate the warehouse (batches of people judged on a second
core when it is worth it), describe the rules, and turn the outcome into the compliance
table, the breaches markdown, the summary and the webhook's message. The Great Expectations
validation and the Prefect artifacts are the flow's (``leadflow.flows.check_sla``); nothing
here names a person beyond their id.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import requests
from sqlalchemy.engine import Engine

from leadflow.config.settings import Settings
from leadflow.connectors.http import redact, register_secret
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.evaluate import Rollup
from leadflow.models.sla.judging import Judged, SlaJob
from leadflow.models.sla.results import worst_breaches
from leadflow.models.sla.run import SlaOutcome, evaluate_warehouse
from leadflow.models.warehouse.engine import open_warehouse
from leadflow.pipeline.fan_out import can_fan_out, fan_out

WORST_BREACHES = 20
# From this many people on, this process only stores what two workers judge (1M leads on
# SQLite: 83 s, against 95 s with this process judging too); below it, it judges too
# (100k leads: 6.4-7.1 s against 7.7-8.1 s).
STORE_ONLY_FROM = 200_000
WEBHOOK_TIMEOUT = (5, 10)


def evaluate_sla(
    engine: Engine,
    sla: SlaSettings,
    default_zone: str,
    now: datetime,
    run_id: str,
    *,
    full: bool = False,
) -> SlaOutcome:
    """``evaluate_warehouse``, its batches judged on a second process too when the
    warehouse allows (``fan_out.can_fan_out``): this process stores every batch in the
    run's one transaction, and judges some while fewer than ``STORE_ONLY_FROM`` people are
    evaluated."""
    spread = None
    if can_fan_out(engine):

        def spread(
            job: SlaJob, batches: Sequence[Sequence[str]], here: Callable[[Sequence[str]], Judged]
        ) -> Iterator[Judged]:
            local = here if sum(len(batch) for batch in batches) < STORE_ONLY_FROM else None
            with contextlib.closing(fan_out(engine, job, "judge", batches, local)) as found:
                for judged, _ in found:
                    yield judged

    return evaluate_warehouse(engine, sla, default_zone, now, run_id, full=full, fan_out=spread)


def evaluate(
    settings: Settings, run_id: str, now: datetime, rules: Sequence[str]
) -> tuple[SlaOutcome, list[dict[str, Any]]]:
    """Evaluate every qualification as of ``now``, and read the worst breaches of ``rules``
    in the evaluated periods."""
    with open_warehouse(settings.warehouse_url) as engine:
        outcome = evaluate_sla(engine, settings.sla, settings.timezone, now, run_id)
        with engine.connect() as conn:
            worst = worst_breaches(conn, outcome.periods, rules, WORST_BREACHES)
    return outcome, worst


def describe(rule: str, sla: SlaSettings) -> str:
    """The rule in plain language, with its configured numbers."""
    r = sla.rules
    return {
        "first_touch": f"Sales touches every qualified lead within "
        f"{r.first_touch.business_minutes:g} business minutes of qualification",
        "touch_attempts": f"Sales makes {r.touch_attempts.attempts} touch attempts within "
        f"{r.touch_attempts.business_days} business days unless connected",
        "accept_reject": f"Sales accepts or rejects each qualified lead within "
        f"{r.accept_reject.business_hours:g} business hours",
        "icp_fit": f"Qualified leads reach fit >= {r.icp_fit.min_fit} (ideal customer profile)",
        "sales_acceptance": f"Sales rejects no more than "
        f"{100 * r.sales_acceptance.max_rejected:g}% of qualified leads",
        "qualified_volume": f"Marketing delivers >= {r.qualified_volume.per_period} qualified "
        f"leads per {sla.period}",
    }[rule]


def sla_summary(outcome: SlaOutcome, report: Any) -> dict[str, Any]:
    """The check's summary: evaluations by status, new breaches, failed rules, data docs."""
    return {
        "evaluations": outcome.evaluations,
        **{status: outcome.by_status.get(status, 0) for status in ("met", "breached", "pending")},
        "new_breaches": outcome.new_breaches,
        "revised": len(outcome.revised),
        "periods": outcome.periods,
        "failed_rules": report.failed(),
        "data_docs": report.data_docs_index,
    }


def failure(report: Any, name: str) -> str:
    """A failed rule as "name (N breached of M, P% met)"."""
    for rule in report.rules:
        if rule.rule == name:
            share = "-" if rule.percentage is None else f"{rule.percentage:.1f}% met"
            return f"{name} ({rule.breached} breached of {rule.evaluated}, {share})"
    return name


def compliance_rows(results: Sequence[Rollup], periods: Sequence[str]) -> list[dict[str, Any]]:
    """Overall and per-team roll-ups of the checked periods, as table rows."""
    return [
        {
            "rule": r.rule, "period": r.period, "group": r.group_key, "met": r.numerator,
            "decided": r.denominator, "pending": r.pending,
            "percentage": r.percentage, "target": r.target, "status": r.status,
            "severity": r.severity,
        }
        for r in results
        if r.period in periods and r.scope in ("overall", "team")
    ]  # fmt: skip


def breaches_markdown(outcome: SlaOutcome, worst: list[dict]) -> str:
    """The breaches artifact: counts, then the worst breaches (ids, rep, team, lateness)."""
    lines = [
        f"# SLA breaches — {', '.join(outcome.periods)}",
        "",
        f"{outcome.by_status.get('breached', 0)} breached, {outcome.by_status.get('met', 0)} met, "
        f"{outcome.by_status.get('pending', 0)} pending; {outcome.new_breaches} new this run, "
        f"{len(outcome.revised)} revised to met by late data.",
        "",
    ]
    if not worst:
        return "\n".join([*lines, "No breaches in the checked periods."])
    lines += ["| rule | person | rep | team | qualified at | business minutes late |",
              "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for b in worst:
        late = "-" if b["minutes_late"] is None else f"{b['minutes_late']:.0f}"
        lines.append(
            f"| {b['rule']} | {b['person_id']} | {b['rep_id'] or '-'} | {b['team']} | "
            f"{b['clock_start']:%Y-%m-%d %H:%M} UTC | {late} |"
        )
    return "\n".join(lines)


def notify(
    url: str,
    outcome: SlaOutcome,
    report: Any,
    failed: list[str],
    logger: logging.Logger | logging.LoggerAdapter,
) -> None:
    """Post a Slack-compatible ``{"text": ...}`` message; a failed post is only logged."""
    register_secret(url)  # webhook URLs carry their token in the path
    text = f":rotating_light: leadflow SLA for {', '.join(outcome.periods)}: " + "; ".join(
        failure(report, name) for name in failed
    )
    try:
        response = requests.post(url, json={"text": text}, timeout=WEBHOOK_TIMEOUT)
        response.raise_for_status()
    except requests.RequestException as error:
        logger.warning("SLA webhook not notified: %s", redact(str(error)))
