"""The SLA checks as Prefect tasks and flows: evaluate, validate with GX, publish, fail loudly.

``sla_task`` runs after every load: it evaluates every qualification (``leadflow.models.sla.run``),
validates the warehouse with the Great Expectations suites (``leadflow.expectations.runner``),
publishes the ``sla-compliance`` table and ``sla-breaches`` markdown artifacts, notifies the
optional webhook, and ends Failed, naming the rules, when a critical rule failed. The data
stays loaded either way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import requests
import sqlalchemy as sa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from leadflow.config.settings import Settings, load_settings
from leadflow.connectors.http import install_log_redaction, redact, register_secret
from leadflow.models.sla.config import ALL_RULES, SlaSettings
from leadflow.models.sla.evaluate import Rollup
from leadflow.models.sla.run import SlaOutcome, evaluate_warehouse
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.sla_tables import sla_evaluations

log = logging.getLogger(__name__)
WORST_BREACHES = 20
WEBHOOK_TIMEOUT = (5, 10)


class SlaBreached(RuntimeError):
    """Critical SLA rules failed; the data and the results stay in the warehouse."""


def rule_checks(sla: SlaSettings, only: Sequence[str] | None = None) -> list[Any]:
    """The GX checks for the enabled rules (or only the named ones)."""
    from leadflow.expectations.runner import SlaRuleCheck

    unknown = sorted(set(only or ()) - set(ALL_RULES))
    if unknown:
        raise ValueError(f"unknown SLA rules {unknown}: choose from {', '.join(ALL_RULES)}")
    return [
        SlaRuleCheck(
            rule=name, description=describe(name, sla), severity=rule.severity, target=rule.target
        )
        for name, rule in sla.rules.enabled().items()
        if not only or name in only
    ]


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


def check_sla_now(
    settings: Settings,
    run_id: str,
    *,
    rules: Sequence[str] | None = None,
    now: datetime | None = None,
    logger: logging.Logger | logging.LoggerAdapter = log,
) -> dict[str, Any]:
    """Evaluate, validate, publish; raise :class:`SlaBreached` when a critical rule failed."""
    from leadflow.expectations.runner import run_checks

    now = now or datetime.now(UTC)
    checks = rule_checks(settings.sla, rules)
    engine = create_engine(settings.warehouse_url)
    try:
        outcome = evaluate_warehouse(engine, settings.sla, settings.timezone, now, run_id)
        worst = worst_breaches(engine, outcome.periods, [c.rule for c in checks])
    finally:
        engine.dispose()
    for rule, person_id, start in outcome.revised:
        logger.warning(
            "SLA %s for person %s (qualified %s): a recorded breach is now met (late data)",
            rule, person_id, start.isoformat(),
        )  # fmt: skip
    report = run_checks(
        settings.warehouse_url, checks, periods=outcome.periods, run_id=run_id, now=now,
        data_docs_dir=settings.sla.data_docs_dir,
    )  # fmt: skip
    summary = _summary(outcome, report)
    publish(outcome, report, worst, run_id, [c.rule for c in checks])
    logger.info("SLA: %s", summary)
    failed = [name for name in report.failed() if not name.startswith("quality:")]
    if failed and settings.sla.webhook_url:  # breaches notify; data quality is in the summary
        notify(settings.sla.webhook_url, outcome, report, failed, logger)
    critical = report.failed("critical")
    if critical:
        raise SlaBreached(
            f"critical SLA rules failed for {', '.join(outcome.periods)}: "
            + "; ".join(_failure(report, name) for name in critical)
        )
    return summary


def _summary(outcome: SlaOutcome, report: Any) -> dict[str, Any]:
    return {
        "evaluations": outcome.evaluations,
        **{status: outcome.by_status.get(status, 0) for status in ("met", "breached", "pending")},
        "new_breaches": outcome.new_breaches,
        "revised": len(outcome.revised),
        "periods": outcome.periods,
        "failed_rules": report.failed(),
        "data_docs": report.data_docs_index,
    }


def _failure(report: Any, name: str) -> str:
    for rule in report.rules:
        if rule.rule == name:
            share = "-" if rule.percentage is None else f"{rule.percentage:.1f}% met"
            return f"{name} ({rule.breached} breached of {rule.evaluated}, {share})"
    return name


def worst_breaches(engine: sa.Engine, periods: Sequence[str], rules: Sequence[str]) -> list[dict]:
    """The latest breaches of the checked periods: ids, rep, team and minutes late (no PII)."""
    e = sla_evaluations
    in_periods = sa.or_(e.c.period_month.in_(periods), e.c.period_week.in_(periods))
    query = (
        sa.select(e.c.rule, e.c.person_id, e.c.rep_id, e.c.team, e.c.clock_start, e.c.minutes_late)
        .where(e.c.status == "breached", in_periods, e.c.rule.in_(rules))
        .order_by(e.c.minutes_late.desc().nulls_last(), e.c.person_id)
        .limit(WORST_BREACHES)
    )
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


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


def publish(
    outcome: SlaOutcome, report: Any, worst: list[dict], run_id: str, rules: Sequence[str]
) -> None:
    """The ``sla-compliance`` table and ``sla-breaches`` markdown artifacts."""
    rows = [r for r in compliance_rows(outcome.results, outcome.periods) if r["rule"] in rules]
    failed = ", ".join(report.failed()) or "none"
    create_table_artifact(
        key="sla-compliance",
        table=rows,
        description=f"SLA compliance for {', '.join(outcome.periods)} (run {run_id}). "
        f"Failed: {failed}.",
    )
    create_markdown_artifact(key="sla-breaches", markdown=breaches_markdown(outcome, worst))


def breaches_markdown(outcome: SlaOutcome, worst: list[dict]) -> str:
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


def notify(url: str, outcome: SlaOutcome, report: Any, failed: list[str], logger: Any) -> None:
    """Post a Slack-compatible ``{"text": ...}`` message; a failed post is only logged."""
    register_secret(url)  # webhook URLs carry their token in the path
    text = f":rotating_light: leadflow SLA for {', '.join(outcome.periods)}: " + "; ".join(
        _failure(report, name) for name in failed
    )
    try:
        response = requests.post(url, json={"text": text}, timeout=WEBHOOK_TIMEOUT)
        response.raise_for_status()
    except requests.RequestException as error:
        logger.warning("SLA webhook not notified: %s", redact(str(error)))


@task(name="check-sla", cache_policy=NO_CACHE)
def sla_task(settings: Settings, run_id: str, rules: list[str] | None = None) -> dict:
    """Evaluate and validate the SLA on the warehouse; Failed when a critical rule failed."""
    return check_sla_now(settings, run_id, rules=rules, logger=get_run_logger())


def _run_id() -> str:
    return str(flow_run.get_id() or uuid.uuid4())


def _run_name() -> str:
    return f"{flow_run.get_flow_name() or 'check-sla'}-{datetime.now(UTC):%Y-%m-%d}"


@flow(name="check-sla", flow_run_name=_run_name, log_prints=True)
def check_sla(config_path: str | None = None, rules: list[str] | None = None) -> dict:
    """Evaluate and validate the SLA (all rules, or the named ones) without syncing."""
    install_log_redaction()
    settings = load_settings(config_path)
    return sla_task(settings, _run_id(), rules)


@task(name="publish-report", cache_policy=NO_CACHE)
def report_task(settings: Settings, out: str | None = None) -> str | None:
    """The report's numbers as the ``leadflow-report`` markdown artifact (no personal data),
    and the HTML report written to ``out`` when given; returns its path."""
    from leadflow.report.html import report_summary_markdown, write_report

    create_markdown_artifact(
        key="leadflow-report", markdown=report_summary_markdown(settings.warehouse_url)
    )
    return str(write_report(settings.warehouse_url, out)) if out else None


def publish_report(settings: Settings, out: str | None = None) -> str | None:
    """``report_task`` for flows whose data is already loaded: a failure is logged, not raised."""
    try:
        return report_task(settings, out)
    except Exception as error:
        get_run_logger().warning("report not published: %s", redact(f"{error!r}"))
        return None


@flow(name="sla-report", flow_run_name=_run_name, log_prints=True)
def sla_report(config_path: str | None = None, report_path: str = ".leadflow/report.html") -> dict:
    """The weekly SLA report: every rule checked, compliance and breaches published, the
    HTML report written to ``report_path`` (relative to the worker's working directory)."""
    install_log_redaction()
    settings = load_settings(config_path)
    try:
        return sla_task(settings, _run_id())
    finally:  # a breach fails the run, after the report is written
        report_task(settings, report_path)
