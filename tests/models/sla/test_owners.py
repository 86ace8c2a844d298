"""A person's owner for the SLA (rep and team) is their latest owned lead's, by update time,
then source, then lead id compared as text (by code point, not by a database's collation):
the volume roll-ups' read of everyone (``everyones_owner``) and the batch reads
(``read_facts``, ``read_between``) choose the same rep, on SQLite and PostgreSQL alike,
when leads tie on their update time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.sla import store
from leadflow.models.warehouse.tables import (
    lead_people,
    leads,
    people,
    person_milestones,
    sales_reps,
)

T0 = datetime(2026, 10, 1, tzinfo=UTC)
# Lead ids that a language collation orders unlike code points do (case, punctuation).
IDS = ("a10", "a-2", "B1", "b1", "a1", "_x", "Z9")


def _warehouse(rng: random.Random) -> tuple[dict[sa.Table, list[dict[str, Any]]], dict]:
    persons = [f"P{i:02d}" for i in range(30)]
    rows: dict[sa.Table, list[dict[str, Any]]] = {
        people: [
            {"person_id": pid, "created_at": T0, "updated_at": T0, "lifecycle": "mql"}
            for pid in persons
        ],
        person_milestones: [
            {"person_id": pid, "kind": "mql", "at": T0, "reason": "test"} for pid in persons
        ],
        sales_reps: [
            {"source": source, "rep_id": rep, "team": team, "archived": False}
            | {"updated_at": T0, "raw": {}, "row_hash": "x" * 64}
            | {"first_loaded_at": T0, "last_changed_at": T0}
            for source in ("hubspot", "salesforce")
            for rep, team in (("r1", "east"), ("r2", "west"), ("r3", None))
        ],
        leads: [],
        lead_people: [],
    }
    expected: dict[str, tuple[Any, ...]] = {}
    n = 0
    for pid in persons:
        for _ in range(rng.randint(1, 4)):
            n += 1
            source = rng.choice(("hubspot", "salesforce"))
            lead_id = f"{rng.choice(IDS)}-{n % 3}" if rng.random() < 0.5 else rng.choice(IDS)
            lead_id = f"{lead_id}.{n}" if rng.random() < 0.3 else lead_id
            if any(r["source"] == source and r["source_lead_id"] == lead_id for r in rows[leads]):
                continue
            updated = T0 + timedelta(hours=rng.choice((0, 0, 1)))  # ties, often
            owner = rng.choice((None, "r1", "r2", "r3", "r9"))
            rows[leads].append(
                {"source": source, "source_lead_id": lead_id, "account_id": "a"}
                | {"created_at": T0, "updated_at": updated, "owner_id": owner}
                | {"is_test": False, "custom_fields": {}, "raw": {}, "row_hash": "x" * 64}
                | {"first_loaded_at": T0, "last_changed_at": T0}
            )
            rows[lead_people].append(
                {"source": source, "source_lead_id": lead_id, "person_id": pid}
            )
            if owner is not None:
                key = (updated, source, lead_id)
                if pid not in expected or key > expected[pid][0]:
                    expected[pid] = (key, source, owner)
    return rows, expected


def test_every_read_chooses_the_same_owner(migrated_engine: Engine) -> None:
    for seed in (1, 2, 3):
        with migrated_engine.begin() as conn:
            for table in (lead_people, leads, person_milestones, people, sales_reps):
                conn.execute(table.delete())
            rows, expected = _warehouse(random.Random(seed))
            for table, found in rows.items():
                conn.execute(sa.insert(table), found)
        teams = {("hubspot", "r1"): "east", ("hubspot", "r2"): "west"}
        teams |= {("salesforce", "r1"): "east", ("salesforce", "r2"): "west"}
        want = {
            pid: (source, owner, teams.get((source, owner), "unassigned"))
            for pid, (_, source, owner) in expected.items()
        }
        with migrated_engine.connect() as conn:
            everyone = store.everyones_owner(conn)
            batch = {
                f.qualification.person_id: (
                    f.qualification.rep_source, f.qualification.rep_id, f.qualification.team,
                )
                for f in store.read_facts(conn)
                if f.qualification.rep_id is not None
            }  # fmt: skip
            ranged = store.read_between(conn, "P00", "P99")
        assert len(want) > 15
        assert everyone == want
        assert batch == want
        assert {f.qualification.person_id: f.qualification.rep_id for f in ranged} == {
            pid: want.get(pid, (None, None))[1]
            for pid in {f.qualification.person_id for f in ranged}
        }
