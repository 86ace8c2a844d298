"""Run the SLA and data-quality suites on the warehouse: :func:`run_checks`.

One Great Expectations context per call, on the warehouse itself (SQLite or PostgreSQL):
one validation for the per-person SLA rules (one more for ``qualified_volume``), one per
table for data quality, and, when a folder is given, Data Docs built into that folder.
Great Expectations is imported only when checks run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from .checks import (
    SEVERITIES,
    CheckReport,
    QualityOutcome,
    RuleOutcome,
    SlaRuleCheck,
)
from .queries import parse_periods, timestamp_literal, warehouse_dialect

__all__ = [
    "CLOCK_SKEW",
    "CheckReport",
    "QualityOutcome",
    "RuleOutcome",
    "SlaRuleCheck",
    "run_checks",
]

# Lead timestamps up to this far past ``now`` are platform clock skew, not future dates.
CLOCK_SKEW = timedelta(minutes=5)


def run_checks(
    warehouse_url: str,
    rules: Sequence[SlaRuleCheck],
    *,
    periods: Sequence[str],
    run_id: str,
    now: datetime,
    data_docs_dir: str | Path | None = None,
    quality_severity: str = "warning",
) -> CheckReport:
    """Validate ``rules`` over ``periods`` and the warehouse's data quality.

    ``periods`` are 'YYYY-MM' (matched to ``sla_evaluations.period_month``) or 'YYYY-Www'
    (``period_week``); ``qualified_volume`` checks the ``sla_results`` rows of ``run_id`` in
    those periods. ``now`` (timezone-aware) bounds lead timestamps. Failed quality checks
    count with ``quality_severity`` in :meth:`CheckReport.failed`. Raises ``RuntimeError``
    when an expectation cannot be evaluated at all.
    """
    checked = parse_periods(periods)
    dialect = warehouse_dialect(warehouse_url)
    future_limit = timestamp_literal(now + CLOCK_SKEW, dialect)
    if len({r.rule for r in rules}) != len(rules):
        raise ValueError("each SLA rule may be checked once per run")
    if quality_severity not in SEVERITIES:
        raise ValueError(f"quality_severity must be one of {SEVERITIES}")

    from .context import build_data_docs, run_identifier, warehouse_context
    from .quality_suite import validate_quality
    from .sla_suite import validate_sla

    with warehouse_context(warehouse_url, data_docs_dir) as (context, datasource):
        run = run_identifier(run_id, now)
        outcomes: list[RuleOutcome] = []
        if rules:
            outcomes = validate_sla(context, datasource, rules, checked, run_id, run)
        quality = validate_quality(context, datasource, future_limit, quality_severity, run)
        index = build_data_docs(context, data_docs_dir)
    return CheckReport(rules=outcomes, quality=quality, data_docs_index=index)
