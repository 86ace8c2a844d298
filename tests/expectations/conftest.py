"""A small warehouse to validate: people, leads, SLA evaluations and results inserted directly."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.expectations.runner import CheckReport, SlaRuleCheck, run_checks
from leadflow.models.warehouse.tables import leads, people, sla_evaluations, sla_results

NOW = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
RUN_ID = "run-1"


def _filler(column: sa.Column[Any]) -> Any:
    """A value for a required column the test does not care about."""
    kind = type(column.type).__name__
    return {
        "UTCDateTime": NOW - timedelta(days=1),
        "Boolean": False,
        "JSON": {},
        "Integer": 0,
        "Float": 0.0,
    }.get(kind, "x")


def _complete(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    required = [
        c for c in table.c if not c.nullable and c.server_default is None and c.default is None
    ]
    return {**{c.name: _filler(c) for c in required}, **row}


@dataclass
class Warehouse:
    """Insert rows with only the columns a test cares about; run the checks on it."""

    engine: Engine
    url: str
    _people: set[str] = field(default_factory=set)
    _clock: itertools.count = field(default_factory=itertools.count)

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        rows = [_complete(table, r) for r in rows]
        # executemany takes its columns from the first row: give every row the same keys.
        keys = {k for r in rows for k in r}
        if rows:
            with self.engine.begin() as conn:
                conn.execute(table.insert(), [dict.fromkeys(keys) | r for r in rows])

    def people(self, *person_ids: str, **values: Any) -> None:
        new = [p for p in person_ids if p not in self._people]
        self.insert(people, [{"person_id": p, **values} for p in new])
        self._people.update(new)

    def evaluations(
        self,
        rule: str,
        statuses: dict[str, str],
        *,
        month: str = "2026-11",
        week: str = "2026-W48",
    ) -> None:
        """One evaluation of ``rule`` per person id -> status."""
        self.people(*statuses)
        rows = [
            {
                "rule": rule,
                "person_id": person,
                "status": status,
                # clock_start is part of the key: a person may qualify more than once.
                "clock_start": NOW - timedelta(days=3, minutes=next(self._clock)),
                "period_month": month,
                "period_week": week,
                "severity": "critical",
                "team": "unassigned",
                "run_id": RUN_ID,
            }
            for person, status in statuses.items()
        ]
        self.insert(sla_evaluations, rows)

    def volume(self, period: str, statuses: dict[str, str], *, run_id: str = RUN_ID) -> None:
        """qualified_volume roll-ups of ``period``: group_key -> passed/failed/pending."""
        rows = [
            {
                "run_id": run_id,
                "rule": "qualified_volume",
                "period": period,
                "group_key": key,
                "period_kind": "week" if "W" in period else "month",
                "scope": "overall" if key == "overall" else "team",
                "status": status,
                "severity": "warning",
            }
            for key, status in statuses.items()
        ]
        self.insert(sla_results, rows)

    def leads(self, *rows: dict[str, Any]) -> None:
        """Leads of source 'meta' by ``id``, with an email unless the row says otherwise."""
        self.insert(
            leads,
            [
                {
                    "source": "meta",
                    "account_id": "act_1",
                    "email": f"{r['id']}@example.com",
                    "created_at": NOW - timedelta(hours=1),
                    **{k: v for k, v in r.items() if k != "id"},
                    "source_lead_id": r["id"],
                }
                for r in rows
            ],
        )

    def check(
        self,
        *rules: SlaRuleCheck,
        periods: Sequence[str] = ("2026-11",),
        **kwargs: Any,
    ) -> CheckReport:
        kwargs.setdefault("run_id", RUN_ID)
        kwargs.setdefault("now", NOW)
        return run_checks(self.url, list(rules), periods=periods, **kwargs)


@pytest.fixture
def warehouse(migrated_engine: Engine, warehouse_url: str) -> Warehouse:
    return Warehouse(migrated_engine, warehouse_url)
