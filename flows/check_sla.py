"""The SLA checks as Prefect tasks and flows: evaluate, validate with GX, publish, fail loudly.

``sla_task`` runs after every load: it evaluates every qualification (``leadflow.models.sla.run``),
validates the warehouse with the Great Expectations suites (``leadflow.expectations.runner``),
publishes the ``sla-compliance`` table and ``sla-breaches`` markdown artifacts, notifies the
optional webhook, and ends Failed, naming the rules, when a critical rule failed. The data
stays loaded either way. The parts that need neither Prefect nor Great Expectations (the
evaluation, the rules' wording, the tables, the webhook) are ``leadflow.pipeline.sla``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from leadflow.config.settings import Settings, load_settings
from leadflow.connectors.http import install_log_redaction, redact
from leadflow.models.sla.config import ALL_RULES, SlaSettings
from leadflow.models.sla.run import SlaOutcome
from leadflow.pipeline.memory import release_free_memory
from leadflow.pipeline.sla import (
    breaches_markdown,
    compliance_rows,
    describe,
    evaluate,
    failure,
    notify,
    sla_summary,
)

log = logging.getLogger(__name__)


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
    outcome, worst = evaluate(settings, run_id, now, [c.rule for c in checks])
    for rule, person_id, start in outcome.revised:
        logger.warning(
            "SLA %s for person %s (qualified %s): a recorded breach is now met (late data)",
            rule, person_id, start.isoformat(),
        )  # fmt: skip
    report = run_checks(
        settings.warehouse_url, checks, periods=outcome.periods, run_id=run_id, now=now,
        data_docs_dir=settings.sla.data_docs_dir,
    )  # fmt: skip
    summary = sla_summary(outcome, report)
    publish(outcome, report, worst, run_id, [c.rule for c in checks])
    logger.info("SLA: %s", summary)
    failed = [name for name in report.failed() if not name.startswith("quality:")]
    if failed and settings.sla.webhook_url:  # breaches notify; data quality is in the summary
        notify(settings.sla.webhook_url, outcome, report, failed, logger)
    critical = report.failed("critical")
    if critical:
        raise SlaBreached(
            f"critical SLA rules failed for {', '.join(outcome.periods)}: "
            + "; ".join(failure(report, name) for name in critical)
        )
    return summary


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


@task(name="check-sla", cache_policy=NO_CACHE)
def sla_task(settings: Settings, run_id: str, rules: list[str] | None = None) -> dict:
    """Evaluate and validate the SLA on the warehouse; Failed when a critical rule failed."""
    try:
        return check_sla_now(settings, run_id, rules=rules, logger=get_run_logger())
    finally:
        release_free_memory()  # before the report reads the BI views


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
