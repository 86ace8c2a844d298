"""The volume rule's roll-ups in an incremental SLA run: what a full run counts, read only
as far as the rule needs (no lead's owner without per-team targets, nothing when it is off)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.sla import store
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.run import evaluate_warehouse
from leadflow.models.warehouse.sla_tables import sla_results
from tests.models.sla.test_run import T0, H, seed

ZONE = "America/New_York"


def _settings(volume: dict[str, Any]) -> SlaSettings:
    return SlaSettings(calendar={"country": "US"}, rules={"qualified_volume": volume})


def _volume(engine: Engine, run_id: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    r = sla_results
    query = sa.select(r.c.period, r.c.group_key, r.c.numerator, r.c.denominator, r.c.status)
    query = query.where(r.c.run_id == run_id, r.c.rule == "qualified_volume")
    with engine.connect() as conn:
        return {(p, g): (n, d, s) for p, g, n, d, s in conn.execute(query)}


@pytest.mark.parametrize(
    ("volume", "owners_read"),
    [
        ({"per_period": 3}, False),
        ({"per_period": 3, "per_team": {"Inbound": 2, "Outbound": 1}}, True),
    ],
    ids=["overall-only", "per-team"],
)
def test_an_incremental_run_counts_what_a_full_run_counts(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch, volume: dict, owners_read: bool
) -> None:
    seed(migrated_engine)
    sla, now = _settings(volume), T0 + 5 * 24 * H
    evaluate_warehouse(migrated_engine, sla, ZONE, now, "full", full=True)
    full = _volume(migrated_engine, "full")
    assert full[("2026-11", "overall")] == (3, 3, "passed")
    read: list[bool] = []
    owners = store.everyones_owner
    monkeypatch.setattr(store, "everyones_owner", lambda *a: read.append(True) or owners(*a))
    evaluate_warehouse(migrated_engine, sla, ZONE, now, "incremental")
    assert _volume(migrated_engine, "incremental") == full
    assert bool(read) is owners_read
    if owners_read:
        assert full[("2026-11", "team:Inbound")] == (2, 2, "passed")
        assert full[("2026-11", "team:Outbound")] == (0, 1, "pending")  # the month runs on


def test_a_volume_rule_switched_off_reads_no_qualification(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(migrated_engine)
    sla, now = _settings({"enabled": False}), T0 + 5 * 24 * H
    evaluate_warehouse(migrated_engine, sla, ZONE, now, "first")

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("qualifications read for a rule that is off")

    monkeypatch.setattr("leadflow.models.sla.run.all_qualifications", refuse)
    outcome = evaluate_warehouse(migrated_engine, sla, ZONE, now, "second")
    assert outcome.evaluated is not None  # the incremental path
    assert _volume(migrated_engine, "second") == {}
