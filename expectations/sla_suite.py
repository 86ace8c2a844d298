"""The SLA suites: one Expectation class per business rule, over the decided SLA rows.

Per-person rules validate the ``sla_evaluations`` table, each expectation restricted by a
row condition to its rule's decided rows (met or breached; pending left out) in the checked
periods. Each is ``status in {met}`` with ``mostly`` = the rule's target, so a target of
1.0 fails on any breach and a lower one on too many; the breached person ids come back as
the unexpected index. ``qualified_volume`` validates the run's decided ``sla_results`` rows
of the periods the same way (``status in {passed}``), with no failed group allowed whatever
the target; the failed ``group_key`` values are its ids.

Table assets with row conditions, not a query asset: GX reads a query asset's columns by
running the whole query once per expectation, which on PostgreSQL fetched every decided row
five times (5 s on a million rows).

Imports Great Expectations at module level: import this module lazily (see ``runner``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column, Condition

from .checks import MAX_UNEXPECTED_IDS, QUALIFIED_VOLUME, RuleOutcome, SlaRuleCheck
from .queries import DECIDED, Periods


class ExpectSlaRowsMet(gxe.ExpectColumnValuesToBeInSet):
    """Decided evaluations of an SLA rule are met, at least ``mostly`` of them."""

    rule: ClassVar[str] = ""
    column: str = "status"
    value_set: list = ["met"]  # noqa: RUF012 - a pydantic field default, copied per instance
    description: str = "Decided evaluations of the SLA rule are met"


class ExpectQualifiedLeadsTouchedWithinSla(ExpectSlaRowsMet):
    rule: ClassVar[str] = "first_touch"
    description: str = "Sales touches every qualified lead within the first-touch window"


class ExpectQualifiedLeadsGetEnoughTouchAttempts(ExpectSlaRowsMet):
    rule: ClassVar[str] = "touch_attempts"
    description: str = "Sales makes the required touch attempts on every qualified lead in time"


class ExpectQualifiedLeadsAcceptedOrRejectedInTime(ExpectSlaRowsMet):
    rule: ClassVar[str] = "accept_reject"
    description: str = "Sales accepts or rejects every qualified lead within the deadline"


class ExpectQualifiedLeadsFitTheIdealCustomerProfile(ExpectSlaRowsMet):
    rule: ClassVar[str] = "icp_fit"
    description: str = "Qualified leads fit the ideal customer profile"


class ExpectQualifiedLeadsAcceptedBySales(ExpectSlaRowsMet):
    rule: ClassVar[str] = "sales_acceptance"
    description: str = "Sales does not reject more qualified leads than agreed"


class ExpectQualifiedVolumeDelivered(ExpectSlaRowsMet):
    """Every decided period group of the run's ``sla_results`` passed its volume target."""

    rule: ClassVar[str] = QUALIFIED_VOLUME
    value_set: list = ["passed"]  # noqa: RUF012 - a pydantic field default
    description: str = "Marketing delivers at least the target number of qualified leads"


RULE_EXPECTATIONS: dict[str, type[ExpectSlaRowsMet]] = {
    cls.rule: cls
    for cls in (
        ExpectQualifiedLeadsTouchedWithinSla,
        ExpectQualifiedLeadsGetEnoughTouchAttempts,
        ExpectQualifiedLeadsAcceptedOrRejectedInTime,
        ExpectQualifiedLeadsFitTheIdealCustomerProfile,
        ExpectQualifiedLeadsAcceptedBySales,
        ExpectQualifiedVolumeDelivered,
    )
}


def evaluation_rows(rule: str, periods: Periods) -> Condition:
    """The decided ``sla_evaluations`` rows of ``rule`` in ``periods``.

    Spelled as an OR of ANDs: GX refuses an OR inside an AND.
    """
    base = (Column("rule") == rule) & Column("status").is_in(DECIDED)
    parts = [
        base & Column(column).is_in(values)
        for column, values in (("period_month", periods.months), ("period_week", periods.weeks))
        if values
    ]
    return parts[0] if len(parts) == 1 else parts[0] | parts[1]


def volume_rows(run_id: str, periods: Periods) -> Condition:
    """The decided ``qualified_volume`` rows of the run's ``sla_results`` in ``periods``."""
    return (
        (Column("run_id") == run_id)
        & (Column("rule") == QUALIFIED_VOLUME)
        & Column("status").is_in(("passed", "failed"))
        & Column("period").is_in(periods.all)
    )


def rule_expectation(check: SlaRuleCheck, rows: Condition) -> ExpectSlaRowsMet:
    """The expectation validating ``check`` on ``rows`` (unknown rules get the generic)."""
    cls = RULE_EXPECTATIONS.get(check.rule, ExpectSlaRowsMet)
    described = {"description": check.description} if check.description else {}
    return cls(
        mostly=1.0 if check.rule == QUALIFIED_VOLUME else check.target,
        row_condition=rows,
        severity=check.severity,
        meta={"rule": check.rule},
        **described,
    )


def validate_sla(
    context: Any,
    datasource: Any,
    rules: Sequence[SlaRuleCheck],
    periods: Periods,
    run_id: str,
    run: Any,
) -> list[RuleOutcome]:
    """Validate every rule; one outcome per rule, in order. ``run`` is GX's RunIdentifier.

    One validation for the per-person rules, one for ``qualified_volume`` if asked for.
    """
    person = [r for r in rules if r.rule != QUALIFIED_VOLUME]
    volume = [r for r in rules if r.rule == QUALIFIED_VOLUME]
    results: dict[str, Any] = {}
    if person:
        expectations = [rule_expectation(r, evaluation_rows(r.rule, periods)) for r in person]
        results |= _validate(context, datasource, "sla_evaluations", "person_id", expectations, run)
    if volume:
        expectations = [rule_expectation(volume[0], volume_rows(run_id, periods))]
        results |= _validate(context, datasource, "sla_results", "group_key", expectations, run)
    return [rule_outcome(check, results[check.rule], _id_column(check)) for check in rules]


def _id_column(check: SlaRuleCheck) -> str:
    return "group_key" if check.rule == QUALIFIED_VOLUME else "person_id"


def _validate(
    context: Any, datasource: Any, table: str, id_column: str, expectations: list, run: Any
) -> dict[str, Any]:
    """Run one suite of ``expectations`` on ``table``; the results by rule."""
    name = f"leadflow_{table}"
    asset = datasource.add_table_asset(f"sla_{table}", table_name=table)
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations:
        suite.add_expectation(expectation)
    batch = asset.add_batch_definition_whole_table(table)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    result = definition.run(
        result_format={
            "result_format": "SUMMARY",
            "unexpected_index_column_names": [id_column],
            "partial_unexpected_count": MAX_UNEXPECTED_IDS,
        },
        run_id=run,
    )
    return {r.expectation_config.meta["rule"]: r for r in result.results}


def rule_outcome(check: SlaRuleCheck, result: Any, id_column: str) -> RuleOutcome:
    """The :class:`RuleOutcome` of one expectation's validation result."""
    raise_on_exception(result)
    details = result.result
    evaluated = int(details.get("element_count") or 0)
    breached = int(details.get("unexpected_count") or 0)
    rows = details.get("partial_unexpected_index_list") or []
    ids = sorted({str(row[id_column]) for row in rows})
    return RuleOutcome(
        rule=check.rule,
        severity=check.severity,
        description=check.description,
        success=bool(result.success),
        evaluated=evaluated,
        breached=breached,
        unexpected_ids=ids[:MAX_UNEXPECTED_IDS],
        percentage=100.0 * (evaluated - breached) / evaluated if evaluated else None,
    )


def raise_on_exception(result: Any) -> None:
    """Raise when GX could not evaluate an expectation (a SQL error, say): that is no verdict."""
    info = result.exception_info or {}
    # One dict for the expectation, or one per metric it needed (keyed by metric id).
    for item in [info, *(v for v in info.values() if isinstance(v, dict))]:
        if item.get("raised_exception"):
            name = result.expectation_config.type
            # GX's message nests every traceback; the first line says what went wrong.
            message = str(item.get("exception_message") or "").strip().splitlines()[:1]
            raise RuntimeError(f"{name} could not be evaluated: {''.join(message)[:500]}")
