"""rebuild_people (``leadflow people rebuild``): everything derived from the facts (person ids,
profiles, stages, transitions, SLA evaluations and roll-ups) comes out as a clean run gives
it, whatever the derived tables held before; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.config.settings import PrivacySettings, Settings, SyncSettings
from leadflow.models.people.rules import default_rules
from leadflow.models.records.leads import Lead
from leadflow.models.sla.run import evaluate_warehouse
from leadflow.models.warehouse.run_lock import RunLocked, warehouse_lock
from leadflow.models.warehouse.tables import lead_people, people, sla_evaluations
from leadflow.pipeline.people import resolve_and_classify
from leadflow.pipeline.rebuild import rebuild_people
from tests.people_links import lead_person_ids
from tests.pipeline.test_people import NOW, T0, lead, one_human
from tests.pipeline.test_people_incremental import load

SALT = "rebuild-test-salt-0123456789"
# What the people steps derive from the facts; leads only for their person (lead_people).
DERIVED = ("people", "stage_transitions", "person_merges", "person_id_map",
           "person_milestones", "sla_evaluations", "email_people")  # fmt: skip


def settings(url: str, lock_wait_minutes: float = 0) -> Settings:
    return Settings(
        warehouse_url=url,
        sync=SyncSettings(lock_wait_minutes=lock_wait_minutes),
        privacy=PrivacySettings(hash_salt=SALT),
    )


def demo(source: str, lead_id: str, email: str, days_ago: int) -> Lead:
    """A demo request: the person is qualified (an MQL, an SLA clock) from its creation."""
    created = T0 - timedelta(days=days_ago)
    return lead(
        source, lead_id, email, created_at=created, updated_at=created,
        custom_fields={"form_name": "Book a demo"},
    )  # fmt: skip


def first_leads() -> list[Lead]:
    return [
        *one_human(),  # three platforms, one person
        demo("meta", "m2", "ceo@acme.io", 3),
        demo("hubspot", "h2", "cto@initech.com", 2),
        lead("meta", "m3", "grace@navy.mil"),
    ]


def sync_run(engine: Engine, run_id: str, now: Any = NOW) -> dict[str, Any]:
    """What a sync does after its loads: resolve and classify (incrementally), then the SLA."""
    found = resolve_and_classify(engine, rules=default_rules(), now=now, run_id=run_id,
                                 hash_salt=SALT)  # fmt: skip
    evaluate_warehouse(engine, Settings().sla, "UTC", now, run_id)
    return found


def _rows(conn: sa.Connection, table: sa.Table, run_id: str | None = None) -> list[str]:
    """The table's rows as sorted JSON text, without surrogate keys and run ids (a rebuild
    is another run); ``run_id``: only that run's rows."""
    query = sa.select(table)
    if run_id is not None:
        query = query.where(table.c.run_id == run_id)
    kept = [c.name for c in table.columns if c.name != "id" and not c.name.endswith("run_id")]
    rows = conn.execute(query).mappings()
    return sorted(
        json.dumps({c: row[c] for c in kept}, default=str, sort_keys=True) for row in rows
    )


def derived_state(engine: Engine, sla_run: str) -> dict[str, Any]:
    """Every derived table (those this schema has), each lead's person id, and the SLA
    roll-ups of run ``sla_run``."""
    meta = sa.MetaData()
    meta.reflect(engine, only=lambda name, _: name in (*DERIVED, "sla_results"))
    with engine.connect() as conn:
        state: dict[str, Any] = {
            name: _rows(conn, meta.tables[name]) for name in DERIVED if name in meta.tables
        }
        state["leads"] = sorted((*key, pid) for key, pid in lead_person_ids(conn).items())
        state["sla_results"] = _rows(conn, meta.tables["sla_results"], sla_run)
    return state


def test_a_rebuild_after_incremental_runs_changes_nothing(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    load(migrated_engine, first_leads())
    sync_run(migrated_engine, "r1")
    # More facts, picked up incrementally: grace asks for a demo, a new person arrives.
    load(migrated_engine, [demo("linkedin", "l2", "grace@navy.mil", 1),
                           lead("linkedin", "l3", "linus@example.org")])  # fmt: skip
    incremental = sync_run(migrated_engine, "r2")
    assert incremental["classified"] < incremental["people"]  # r2 was incremental
    before = derived_state(migrated_engine, "r2")
    assert before["sla_evaluations"] and before["sla_results"]

    summary = rebuild_people(settings(warehouse_url), now=NOW, run_id="rebuild")

    assert derived_state(migrated_engine, "rebuild") == before
    assert summary["people"] == summary["classified"] == 5  # everyone, from scratch
    assert (summary["merged"], summary["transitions"], summary["qualified"]) == (0, 0, 3)
    assert summary["stages"] == {"lead": 2, "mql": 3}
    assert summary["evaluations"] == len(before["sla_evaluations"])
    assert summary["evaluations"] == sum(summary[s] for s in ("met", "breached", "pending"))
    assert summary["breached"] > 0 and summary["periods"]


def _corrupt(engine: Engine) -> None:
    """Damage every kind of derived state by hand, as a bug or a manual fix would."""
    ada = people.c.email_match_key == "adalovelace@gmail.com"
    with engine.begin() as conn:
        # A lead loses its person; another person's row is deleted (its transitions and SLA
        # evaluations go with it: ON DELETE; its leads' lead_people rows are left behind).
        conn.execute(lead_people.delete().where(lead_people.c.source == "linkedin"))
        conn.execute(people.delete().where(people.c.email_match_key == "ceo@acme.io"))
        # A qualified person pushed back to a first-touch lead, evaluations gone.
        cto = sa.select(people.c.person_id).where(people.c.email_match_key == "cto@initech.com")
        conn.execute(
            people.update()
            .where(people.c.person_id == cto.scalar_subquery())
            .values(stage="cold", lifecycle="lead", qualified_at=None, fit=None, reasons=[])
        )
        conn.execute(sla_evaluations.delete().where(sla_evaluations.c.person_id.in_(cto)))
        # A profile and a hash edited.
        conn.execute(people.update().where(ada).values(company="Wrong Inc", email_hash=None))


def test_a_rebuild_restores_what_a_clean_run_gives(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    load(migrated_engine, first_leads())
    sync_run(migrated_engine, "clean")
    clean = derived_state(migrated_engine, "clean")
    _corrupt(migrated_engine)
    damaged = derived_state(migrated_engine, "clean")
    for name in ("leads", "people", "stage_transitions", "sla_evaluations"):
        assert damaged[name] != clean[name], name  # each kind of damage took

    summary = rebuild_people(settings(warehouse_url), now=NOW, run_id="rebuild")

    assert derived_state(migrated_engine, "rebuild") == clean
    assert summary["people"] == summary["classified"] == 4 and summary["qualified"] == 2
    assert summary["stages"] == {"lead": 2, "mql": 2}


def test_an_incremental_run_leaves_direct_damage_that_a_rebuild_repairs(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    """Why the command exists: an incremental run looks only at people whose facts
    changed, so a stage edited by hand stays wrong until a rebuild."""
    load(migrated_engine, first_leads())
    sync_run(migrated_engine, "clean")
    clean = derived_state(migrated_engine, "clean")
    _corrupt(migrated_engine)
    sync_run(migrated_engine, "incremental")
    assert derived_state(migrated_engine, "incremental")["people"] != clean["people"]
    rebuild_people(settings(warehouse_url), now=NOW, run_id="rebuild")
    assert derived_state(migrated_engine, "rebuild") == clean


def test_a_held_sync_lock_refuses_the_rebuild_before_it_writes(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    load(migrated_engine, first_leads())
    waited: list[bool] = []
    with warehouse_lock(warehouse_url, "sync"), pytest.raises(RunLocked, match="sync lock"):
        rebuild_people(
            settings(warehouse_url), now=NOW, run_id="rebuild", on_wait=lambda: waited.append(True)
        )
    assert waited == []  # sync.lock_wait_minutes 0: refused at once, no "waiting" first
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(people)).scalar_one() == 0
        assert set(lead_person_ids(conn).values()) == {None}


def test_a_naive_now_is_refused_before_the_warehouse_is_opened(tmp_path: Path) -> None:
    database = tmp_path / "w.db"
    with pytest.raises(ValueError, match="timezone-aware"):
        rebuild_people(settings(f"sqlite:///{database}"), now=NOW.replace(tzinfo=None), run_id="r")
    assert not database.exists()
