"""Incremental classification: only people whose facts, identity or rules changed are
classified again, and the answer is the one a full run gives (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.leads import load_batch
from leadflow.models.people.rules import default_rules
from leadflow.models.people.scope import read_state
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.tables import people, stage_transitions
from leadflow.pipeline.people import resolve_and_classify
from tests.pipeline.test_people import NOW, T0, lead

RULES = default_rules()
LOADS = iter(T0 + timedelta(seconds=n) for n in range(1, 10_000))


def load(engine: Engine, batch: list[Lead]) -> None:
    """Load ``batch`` with a load clock that moves forward on every call, as a sync's does
    (a load cannot share the instant of a load that an earlier classification saw)."""
    at = next(LOADS)
    with engine.begin() as conn:
        for source in sorted({item.source for item in batch}):
            found = [item for item in batch if item.source == source]
            load_batch(
                conn, source=source, account_id=f"{source}_acct", leads=found, rejected=[],
                watermark=None, cursor=None, now=at,
            )  # fmt: skip


def run(engine: Engine, run_id: str, now: Any = NOW, **kw: Any) -> dict[str, Any]:
    return resolve_and_classify(engine, rules=kw.pop("rules", RULES), now=now, run_id=run_id, **kw)


def people_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    columns = ("stage", "lifecycle", "qualified_at", "fit", "engagement", "reasons")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(people)).mappings().all()
    return {row["person_id"]: {c: row[c] for c in columns} for row in rows}


def classified_at(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        query = sa.select(people.c.email_match_key, people.c.classified_at)
        return dict(conn.execute(query).all())


def test_a_rerun_with_nothing_new_classifies_nobody(migrated_engine: Engine) -> None:
    load(migrated_engine, [lead("meta", f"m{i}", f"p{i}@example.com") for i in range(5)])
    first = run(migrated_engine, "r1")
    assert first["classified"] == first["people"] == 5
    before = people_rows(migrated_engine)
    later = NOW + timedelta(hours=1)
    again = run(migrated_engine, "r2", now=later)
    assert again["classified"] == 0 and again["people"] == 5 and again["transitions"] == 0
    assert people_rows(migrated_engine) == before
    assert set(classified_at(migrated_engine).values()) == {NOW}  # nobody was touched


def test_only_the_changed_person_is_classified_and_matches_a_full_run(
    migrated_engine: Engine,
) -> None:
    load(migrated_engine, [lead("meta", f"m{i}", f"p{i}@example.com") for i in range(5)])
    run(migrated_engine, "r1")
    later = NOW + timedelta(hours=1)
    demo = lead(
        "hubspot", "h9", "p3@example.com", created_at=T0 + timedelta(minutes=5),
        updated_at=T0 + timedelta(minutes=5), form_id="demo-request",
        custom_fields={"form_name": "Request a demo"},
    )  # fmt: skip
    load(migrated_engine, [demo])
    summary = run(migrated_engine, "r2", now=later)
    assert summary["classified"] == 1
    stamps = classified_at(migrated_engine)
    assert stamps.pop("p3@example.com") == later and set(stamps.values()) == {NOW}
    incremental = people_rows(migrated_engine)
    full = run(migrated_engine, "r3", now=later, full=True)
    assert full["classified"] == 5 and full["transitions"] == 0
    assert people_rows(migrated_engine) == incremental


def test_a_merge_reclassifies_the_survivor(migrated_engine: Engine) -> None:
    load(
        migrated_engine,
        [lead("meta", "m1", "ada@example.com"), lead("linkedin", "l1", None, "+14155550100")],
    )
    run(migrated_engine, "r1")
    later = T0 + timedelta(hours=1)
    load(
        migrated_engine,
        [lead("hubspot", "h1", "ada@example.com", "+14155550100", created_at=later)],
    )
    summary = run(migrated_engine, "r2", now=NOW + timedelta(hours=1))
    assert summary["merged"] == 1 and summary["people"] == 1 and summary["classified"] == 1
    (merged,) = profiles(migrated_engine).values()
    assert (merged["email"], merged["phone"]) == ("ada@example.com", "+14155550100")
    incremental = profiles(migrated_engine)
    run(migrated_engine, "r3", now=NOW + timedelta(hours=1), full=True)
    assert profiles(migrated_engine) == incremental  # identity read only the merged leads


def test_a_changed_lead_rebuilds_its_persons_profile_only(migrated_engine: Engine) -> None:
    load(migrated_engine, [lead("meta", f"m{i}", f"p{i}@example.com") for i in range(3)])
    run(migrated_engine, "r1")
    load(migrated_engine, [lead("meta", "m1", "p1@example.com", company="Analytical Engines")])
    run(migrated_engine, "r2", now=NOW + timedelta(hours=1))
    found = {row["email"]: row["company"] for row in profiles(migrated_engine).values()}
    assert found == {"p0@example.com": None, "p1@example.com": "Analytical Engines",
                     "p2@example.com": None}  # fmt: skip
    incremental = profiles(migrated_engine)
    run(migrated_engine, "r3", now=NOW + timedelta(hours=1), full=True)
    assert profiles(migrated_engine) == incremental


def profiles(engine: Engine) -> dict[str, dict[str, Any]]:
    from leadflow.models.people.profile_store import PROFILE_COLUMNS

    with engine.connect() as conn:
        rows = conn.execute(sa.select(people)).mappings().all()
    return {row["person_id"]: {c: row[c] for c in PROFILE_COLUMNS} for row in rows}


def test_new_rules_classify_everyone(migrated_engine: Engine) -> None:
    load(migrated_engine, [lead("meta", f"m{i}", f"p{i}@example.com") for i in range(3)])
    run(migrated_engine, "r1")
    stricter = RULES.model_copy(
        update={"thresholds": RULES.thresholds.model_copy(update={"fit": 99})}
    )
    assert run(migrated_engine, "r2", rules=stricter)["classified"] == 3
    assert run(migrated_engine, "r3", rules=stricter)["classified"] == 0


def test_a_lead_dated_in_the_future_is_classified_when_its_time_comes(
    migrated_engine: Engine,
) -> None:
    load(migrated_engine, [lead("meta", "m1", "ada@example.com")])
    future = NOW + timedelta(days=2)
    demo = lead(
        "hubspot", "h1", "ada@example.com", created_at=future, updated_at=future,
        form_id="demo-request", custom_fields={"form_name": "Request a demo"},
    )  # fmt: skip
    load(migrated_engine, [demo])
    run(migrated_engine, "r1")
    (row,) = people_rows(migrated_engine).values()
    assert row["lifecycle"] == "lead"  # the demo request is not there yet at NOW
    assert run(migrated_engine, "r2", now=NOW + timedelta(days=1))["classified"] == 0
    summary = run(migrated_engine, "r3", now=future + timedelta(minutes=1))
    assert summary["classified"] == 1
    (row,) = people_rows(migrated_engine).values()
    assert row["lifecycle"] == "mql" and row["qualified_at"] == future


def test_a_failed_batch_keeps_the_watermark_and_the_next_run_finishes(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(migrated_engine, [lead("meta", f"m{i}", f"p{i}@example.com") for i in range(5)])
    import leadflow.pipeline.classification as module  # where a batch is saved

    real, calls = module.store_classifications, []

    def failing(*args: Any, **kw: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(*args, **kw)

    monkeypatch.setattr(module, "store_classifications", failing)
    with pytest.raises(RuntimeError):
        run(migrated_engine, "r1", batch_size=2)
    with migrated_engine.connect() as conn:
        assert read_state(conn) is None
    monkeypatch.setattr(module, "store_classifications", real)
    summary = run(migrated_engine, "r2", batch_size=2)
    assert summary["classified"] == 5
    with migrated_engine.connect() as conn:
        assert read_state(conn) is not None
        count = sa.select(sa.func.count()).select_from(stage_transitions)
        assert conn.execute(count).scalar_one() == 5
