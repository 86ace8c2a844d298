"""The SLA suite: one Expectation class per business rule, over the decided SLA rows.

All rules validate one query asset (``queries.decided_sla_rows``: rule, id, status of the
met and breached rows in the checked periods), each expectation restricted to its rule by a
row condition. Each is ``status in {met}`` with ``mostly`` = the rule's target, so a target
of 1.0 fails on any breach and a lower one on too many; the breached ids come back as the
unexpected index list. ``qualified_volume`` reads the run's ``sla_results`` (a failed period
group reads as breached) and must have no failed group whatever the target.

Imports Great Expectations at module level: import this module lazily (see ``runner``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from .checks import MAX_UNEXPECTED_IDS, QUALIFIED_VOLUME, RuleOutcome, SlaRuleCheck

SUITE = "leadflow_sla"
ASSET = "sla_decided_rows"
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": ["id"],
    "partial_unexpected_count": MAX_UNEXPECTED_IDS,
}


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
    rule: ClassVar[str] = QUALIFIED_VOLUME
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


def rule_expectation(check: SlaRuleCheck) -> ExpectSlaRowsMet:
    """The expectation validating ``check`` (a rule without its own class gets the generic)."""
    cls = RULE_EXPECTATIONS.get(check.rule, ExpectSlaRowsMet)
    described = {"description": check.description} if check.description else {}
    return cls(
        mostly=1.0 if check.rule == QUALIFIED_VOLUME else check.target,
        row_condition=Column("rule") == check.rule,
        severity=check.severity,
        meta={"rule": check.rule},
        **described,
    )


def validate_sla(
    context: Any, datasource: Any, rules: Sequence[SlaRuleCheck], query: str, run: Any
) -> list[RuleOutcome]:
    """Validate every rule on the rows ``query`` selects; one outcome per rule, in order.

    ``run`` is GX's RunIdentifier of this run.
    """
    asset = datasource.add_query_asset(ASSET, query=query)
    suite = context.suites.add(gx.ExpectationSuite(name=SUITE))
    for check in rules:
        suite.add_expectation(rule_expectation(check))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=SUITE, data=asset.add_batch_definition_whole_table(ASSET), suite=suite
        )
    )
    result = definition.run(result_format=RESULT_FORMAT, run_id=run)
    by_rule = {r.expectation_config.meta["rule"]: r for r in result.results}
    return [rule_outcome(check, by_rule[check.rule]) for check in rules]


def rule_outcome(check: SlaRuleCheck, result: Any) -> RuleOutcome:
    """The :class:`RuleOutcome` of one expectation's validation result."""
    raise_on_exception(result)
    details = result.result
    evaluated = int(details.get("element_count") or 0)
    breached = int(details.get("unexpected_count") or 0)
    rows = details.get("partial_unexpected_index_list") or []
    ids = sorted({str(row["id"]) for row in rows})
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
