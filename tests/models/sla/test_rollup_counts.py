"""An incremental SLA run counts its roll-ups from the stored evaluations (``status_groups``):
every rule's, group's and period's numbers equal a full run's, and on SQLite the count
reads the index that holds its columns, not the rows (revision 0015)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.sla import store
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.run import evaluate_warehouse
from leadflow.models.warehouse.sla_tables import ROLLUP_COLUMNS, sla_evaluations, sla_results
from tests.models.sla.test_run import T0, H, seed

ZONE = "America/New_York"


def _results(engine: Engine, run_id: str) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    r = sla_results
    query = sa.select(
        r.c.rule, r.c.period, r.c.group_key, r.c.numerator, r.c.denominator, r.c.pending,
        r.c.status,
    ).where(r.c.run_id == run_id)  # fmt: skip
    with engine.connect() as conn:
        return {(rule, p, g): rest for rule, p, g, *rest in conn.execute(query)}


def test_incremental_roll_ups_equal_a_full_run(migrated_engine: Engine) -> None:
    seed(migrated_engine)
    sla = SlaSettings(calendar={"country": "US"}, rules={"qualified_volume": {"per_period": 3}})
    now = T0 + 5 * 24 * H
    evaluate_warehouse(migrated_engine, sla, ZONE, now, "full", full=True)
    outcome = evaluate_warehouse(migrated_engine, sla, ZONE, now, "incremental")
    assert outcome.evaluated is not None  # the incremental path: roll-ups from status_groups
    full, incremental = _results(migrated_engine, "full"), _results(migrated_engine, "incremental")
    assert len({rule for rule, _, _ in full}) >= 3
    assert incremental == full
    with migrated_engine.connect() as conn:
        groups = store.status_groups(conn)
        stored = conn.execute(
            sa.select(*(sla_evaluations.c[name] for name in ROLLUP_COLUMNS))
        ).all()
    # Each field in its place (the query's columns are in the index's order).
    counted = {
        (g.rule, g.status, g.period_month, g.period_week, g.team, g.rep_id, g.rep_source): g.count
        for g in groups
    }
    expected: dict[tuple[Any, ...], int] = {}
    for row in stored:
        expected[tuple(row)] = expected.get(tuple(row), 0) + 1
    assert counted == expected


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)  # PostgreSQL: by statistics
def test_sqlite_counts_roll_ups_from_the_index_alone(migrated_engine: Engine) -> None:
    sql = str(store.status_groups_query().compile(migrated_engine))
    with migrated_engine.connect() as conn:
        plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "USING COVERING INDEX ix_sla_evaluations_rollups" in plan
    assert "TEMP B-TREE" not in plan
