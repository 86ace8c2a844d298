"""The data-quality suites on the loaded warehouse: one per table (leads, people, the lead
and email person tables, sla_evaluations).

Each check is a small Expectation class with a plain-language description: GX's set
expectations for the people's stages, one-pass SQL (:func:`counted`) for the rest, where ids
are composed or GX's own SQL scales badly (uniqueness). Null ``stage`` and ``lifecycle`` are
allowed: a person has neither until classification has run (the columns say so), and column
expectations in GX skip nulls. Bad rows are reported by id
(``source:source_lead_id``, ``person_id``, ``rule:person_id``), never by email or phone.

Imports Great Expectations at module level: import this module lazily (see ``runner``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import great_expectations as gx
import great_expectations.expectations as gxe

from leadflow.models.people.classify import LIFECYCLE_RANK
from leadflow.models.records.leads import Stage
from leadflow.models.warehouse.sla_tables import STATUSES

from .checks import QualityOutcome
from .queries import lead_id_sql
from .sla_suite import raise_on_exception

SAMPLE_IDS = 20
_KNOWN_STATUSES = ", ".join(f"'{status}'" for status in STATUSES)  # SQL literals


def counted(query: str) -> str:
    """``query`` (selecting ``id``) with the count of all its rows on each of its first few.

    One pass instead of GX's two (a COUNT of the query, then the query again to fetch rows),
    and the database sends :data:`SAMPLE_IDS` rows, not every bad row.
    """
    return (
        f"SELECT id, COUNT(*) OVER () AS unexpected_total FROM ({query}) AS unexpected "
        f"LIMIT {SAMPLE_IDS}"
    )


class ExpectNoUnexpectedRows(gxe.UnexpectedRowsExpectation):
    """``unexpected_rows_query`` returns no row; write it as :func:`counted` (ids only).

    Unlike GX's base class, it needs only the rows metric (the count rides along on each
    row), and the unexpected ids are returned in every result format.
    """

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.table",)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        rows = metrics["unexpected_rows_query.table"]
        count = int(rows[0]["unexpected_total"]) if rows else 0
        return {
            "success": count == 0,
            "result": {
                "observed_value": count,
                "details": {"unexpected_rows": [{"id": row["id"]} for row in rows]},
            },
        }


class ExpectLeadKeysToBeUnique(ExpectNoUnexpectedRows):
    # GROUP BY on the key rather than GX's compound-uniqueness expectation, whose SQL joins
    # every row to its group count: 4 s instead of a fraction of one on a million leads.
    unexpected_rows_query: str = counted(
        f"SELECT {lead_id_sql()} AS id FROM {{batch}} "
        "GROUP BY source, source_lead_id HAVING COUNT(*) > 1"
    )
    description: str = "Each lead is loaded once per platform and platform id"


class ExpectEveryLeadToHaveEmailOrPhone(ExpectNoUnexpectedRows):
    unexpected_rows_query: str = counted(
        f"SELECT {lead_id_sql()} AS id FROM {{batch}} "
        "WHERE (email IS NULL OR email = '') AND (phone IS NULL OR phone = '')"
    )
    description: str = "Every lead has an email address or a phone number to reach it by"


class ExpectLeadsNotCreatedInTheFuture(ExpectNoUnexpectedRows):
    description: str = "No lead was created in the future (a few minutes of clock skew allowed)"


class ExpectPersonIdsToBeUnique(ExpectNoUnexpectedRows):
    # GROUP BY rather than GX's uniqueness expectation (window functions over every row).
    unexpected_rows_query: str = counted(
        "SELECT person_id AS id FROM {batch} GROUP BY person_id HAVING COUNT(*) > 1"
    )
    description: str = "Each person appears once"


class ExpectLeadPeopleToBeKnown(ExpectNoUnexpectedRows):
    # lead_people has no foreign keys (identity writes it in bulk): this is their check.
    # Joins, so GX leaves the batch's alias to the query.
    unexpected_rows_query: str = counted(
        f"SELECT {lead_id_sql('b.')} AS id FROM {{batch}} AS b "
        "LEFT JOIN leads l ON l.source = b.source AND l.source_lead_id = b.source_lead_id"
        " AND NOT l.is_test "
        "LEFT JOIN people p ON p.person_id = b.person_id "
        "WHERE l.source IS NULL OR p.person_id IS NULL"
    )
    description: str = "Every lead's person is a real lead's and a known person"


class ExpectEmailPeopleToBeKnown(ExpectNoUnexpectedRows):
    # Reported by person id: the key itself is an email address.
    unexpected_rows_query: str = counted(
        "SELECT b.person_id AS id FROM {batch} AS b "
        "LEFT JOIN people p ON p.person_id = b.person_id WHERE p.person_id IS NULL"
    )
    description: str = "Every email's person is a known person"


class ExpectLifecycleStagesToBeKnown(gxe.ExpectColumnValuesToBeInSet):
    column: str = "lifecycle"
    value_set: list = list(LIFECYCLE_RANK)  # noqa: RUF012 - pydantic field default
    description: str = "A classified person's lifecycle stage is lead, engaged, mql, sql or nurture"


class ExpectStagesToBeKnown(gxe.ExpectColumnValuesToBeInSet):
    column: str = "stage"
    value_set: list = [s.value for s in Stage]  # noqa: RUF012 - pydantic field default
    description: str = "A classified person's stage is cold, warm or qualified"


class ExpectSlaStatusesToBeKnown(ExpectNoUnexpectedRows):
    # Custom SQL: the id is composed (rule:person_id), and the table is a million rows, where
    # GX's set expectation takes four passes to this one's two.
    unexpected_rows_query: str = counted(
        "SELECT rule || ':' || person_id AS id FROM {batch} "
        f"WHERE status NOT IN ({_KNOWN_STATUSES})"
    )
    description: str = "Every SLA evaluation is met, breached or pending"


@dataclass(frozen=True)
class TableSuite:
    """The named checks of one table, and the columns that identify a bad row."""

    table: str
    id_columns: tuple[str, ...]
    checks: dict[str, Callable[[], Any]]


def table_suites(future_limit_sql: str) -> list[TableSuite]:
    """The quality suites; ``future_limit_sql`` is the latest acceptable lead timestamp (SQL)."""
    future_sql = (
        f"SELECT {lead_id_sql()} AS id FROM {{batch}} WHERE created_at > {future_limit_sql}"
    )
    return [
        TableSuite(
            "leads",
            ("source", "source_lead_id"),
            {
                "lead_keys_unique": ExpectLeadKeysToBeUnique,
                "lead_has_email_or_phone": ExpectEveryLeadToHaveEmailOrPhone,
                "lead_created_not_in_future": lambda: ExpectLeadsNotCreatedInTheFuture(
                    unexpected_rows_query=counted(future_sql)
                ),
            },
        ),
        TableSuite(
            "people",
            ("person_id",),
            {
                "person_id_unique": ExpectPersonIdsToBeUnique,
                "lifecycle_known": ExpectLifecycleStagesToBeKnown,
                "stage_known": ExpectStagesToBeKnown,
            },
        ),
        TableSuite(
            "lead_people",
            ("source", "source_lead_id"),
            {"lead_person_known": ExpectLeadPeopleToBeKnown},
        ),
        TableSuite(
            "email_people",
            ("person_id",),
            {"email_person_known": ExpectEmailPeopleToBeKnown},
        ),
        TableSuite(
            "sla_evaluations",
            ("rule", "person_id"),
            {"sla_status_known": ExpectSlaStatusesToBeKnown},
        ),
    ]


def validate_quality(
    context: Any, datasource: Any, future_limit_sql: str, severity: str, run: Any
) -> list[QualityOutcome]:
    """Validate every table suite (one validation per table); one outcome per check.

    ``run`` is GX's RunIdentifier of this run.
    """
    outcomes: list[QualityOutcome] = []
    for spec in table_suites(future_limit_sql):
        asset = datasource.add_table_asset(f"{spec.table}_table", table_name=spec.table)
        suite = context.suites.add(gx.ExpectationSuite(name=f"leadflow_quality_{spec.table}"))
        for name, make in spec.checks.items():
            expectation = make()
            expectation.meta = {"check": name}
            suite.add_expectation(expectation)
        batch = asset.add_batch_definition_whole_table(spec.table)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
        )
        result = definition.run(
            result_format={
                "result_format": "SUMMARY",
                "unexpected_index_column_names": list(spec.id_columns),
                "partial_unexpected_count": SAMPLE_IDS,
            },
            run_id=run,
        )
        outcomes.extend(quality_outcome(spec, r, severity) for r in result.results)
    return outcomes


def quality_outcome(spec: TableSuite, result: Any, severity: str) -> QualityOutcome:
    """The :class:`QualityOutcome` of one expectation's validation result."""
    raise_on_exception(result)
    details = result.result
    if "observed_value" in details:  # an unexpected-rows expectation
        count = int(details["observed_value"])
        ids = {str(row["id"]) for row in details["details"]["unexpected_rows"]}
    else:
        count = int(details.get("unexpected_count") or 0)
        rows = details.get("partial_unexpected_index_list") or []
        ids = {":".join(str(row[c]) for c in spec.id_columns) for row in rows}
    return QualityOutcome(
        expectation=result.expectation_config.meta["check"],
        table=spec.table,
        success=bool(result.success),
        unexpected_count=count,
        sample_ids=sorted(ids)[:SAMPLE_IDS],
        severity=severity,
    )
