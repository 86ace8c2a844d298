"""The people stores (``identity_store``, ``relink``, ``classification_store``): warehouse I/O
for identity resolution and classification, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import load_stream
from leadflow.models.loading.leads import load_batch
from leadflow.models.people import profile_store
from leadflow.models.people.classification_store import read_person_facts
from leadflow.models.people.classification_writes import holds_derived_rows, save_classifications
from leadflow.models.people.classify import Classification, Milestone
from leadflow.models.people.identity import Merge, Resolution, resolve
from leadflow.models.people.identity_store import (
    read_lead_keys,
    read_previous_person_ids,
    save_identity,
)
from leadflow.models.people.transitions import Transition
from leadflow.models.records.activity import SalesTouch
from leadflow.models.records.leads import Lead, Stage
from leadflow.models.warehouse.activity_tables import sales_touches
from leadflow.models.warehouse.people_tables import people, person_milestones, stage_transitions
from tests.people_links import lead_person_ids

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def lead(source: str, lead_id: str, **kw: Any) -> Lead:
    values: dict[str, Any] = {
        "source": source,
        "source_lead_id": lead_id,
        "account_id": "a1",
        "created_at": T0,
        "updated_at": T0,
        "raw": {"id": lead_id},
    }
    return Lead(**(values | kw))


def load(engine: Engine, source: str, batch: list[Lead]) -> None:
    with engine.begin() as conn:
        load_batch(
            conn, source=source, account_id="a1", leads=batch, rejected=[], watermark=None,
            cursor=None, now=T0,
        )  # fmt: skip


def identify(engine: Engine, run_id: str = "r1") -> Resolution:
    with engine.begin() as conn:
        resolution = resolve(read_lead_keys(conn), read_previous_person_ids(conn))
        save_identity(conn, resolution, T0, run_id)
    return resolution


def classification(stage: Stage, lifecycle: str, at: datetime | None = None) -> Classification:
    return Classification(stage, lifecycle, None, 10, 1.5, ("channel:x",), at, True, (), at)


def test_hubspot_merged_ids_join_leads_and_touches_follow_aliases(migrated_engine: Engine) -> None:
    merged = {"hs_merged_object_ids": "100;200"}
    load(migrated_engine, "hubspot", [lead("hubspot", "300", custom_fields=merged)])
    load(migrated_engine, "hubspot", [lead("hubspot", "100", email_match_key="a@b.c")])
    touch = SalesTouch("hubspot", "t1", "200", "call", T0, T0)  # on a contact never loaded
    with migrated_engine.begin() as conn:
        load_stream(
            conn, stream="sales_touches", source="hubspot", account_id="a1", rows=[touch],
            rejected=[], watermark=None, state_key="t", now=T0,
        )  # fmt: skip
        keys = {k.source_lead_id: k.merged_ids for k in read_lead_keys(conn)}
    assert keys == {"100": (), "300": ("100", "200")}
    resolution = identify(migrated_engine)
    (pid,) = resolution.clusters
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sales_touches.c.person_id)).scalar_one() == pid
        assert set(lead_person_ids(conn).values()) == {pid}


def test_many_people_are_read_and_saved_in_chunks(migrated_engine: Engine) -> None:
    batch = [lead("meta", f"m{n:04}", email_match_key=f"p{n}@x.io") for n in range(1200)]
    load(migrated_engine, "meta", batch)
    resolution = identify(migrated_engine)
    ids = sorted(resolution.clusters)
    assert len(ids) == 1200
    with migrated_engine.begin() as conn:
        facts = read_person_facts(conn, [*ids, "p_unknown"])
        assert [f.person_id for f in facts] == ids
        assert all(len(f.leads) == 1 and f.previous is None for f in facts)
        results = [
            (
                pid,
                classification(Stage.COLD, "lead"),
                [Transition(None, Stage.COLD, None, "lead", T0)],
            )
            for pid in ids
        ]
        assert save_classifications(conn, results, T0, "r1") == 1200
        assert save_classifications(conn, results, T0, "r2") == 0
        stored = conn.execute(sa.select(sa.func.count()).select_from(stage_transitions)).scalar()
        assert stored == 1200
        previous = read_person_facts(conn, ids[:1])[0].previous
    assert (previous.stage, previous.lifecycle, previous.qualified_at) == (Stage.COLD, "lead", None)


def test_unchanged_identity_writes_nothing(migrated_engine: Engine) -> None:
    load(migrated_engine, "meta", [lead("meta", "m1", email_match_key="a@b.c", first_name="Ada")])
    identify(migrated_engine)
    with migrated_engine.begin() as conn:
        resolution = resolve(read_lead_keys(conn), read_previous_person_ids(conn))
        counts = save_identity(conn, resolution, T0 + timedelta(days=1), "r2")
        updated_at = conn.execute(sa.select(people.c.updated_at)).scalar_one()
    assert (counts.new_people, counts.changed_profiles, counts.leads, counts.merged) == (0, 0, 0, 0)
    assert updated_at == T0


def test_a_merge_moves_the_stage_history_to_the_survivor(migrated_engine: Engine) -> None:
    load(migrated_engine, "meta", [lead("meta", "m1", email_match_key="a@b.c")])
    load(migrated_engine, "linkedin", [lead("linkedin", "l1", phone="+14155550100")])
    first = identify(migrated_engine)
    mql_at = T0 - timedelta(days=1)
    results = [
        (pid, classification(Stage.QUALIFIED, "mql", mql_at),
         [Transition(None, Stage.QUALIFIED, None, "mql", mql_at)])
        for pid in first.clusters
    ]  # fmt: skip
    with migrated_engine.begin() as conn:
        assert save_classifications(conn, results, T0, "r1") == 2
    load(
        migrated_engine,
        "hubspot",
        [lead("hubspot", "h1", email_match_key="a@b.c", phone="+14155550100",
              created_at=T0 + timedelta(hours=1))],
    )  # fmt: skip
    second = identify(migrated_engine, "r2")
    (merge,) = second.merges  # into the person of the earliest lead (linkedin:l1, a tie)
    assert isinstance(merge, Merge)
    with migrated_engine.connect() as conn:
        history = conn.execute(sa.select(stage_transitions.c.person_id)).scalars().all()
        remaining = conn.execute(sa.select(people.c.person_id)).scalars().all()
    # Both had an mql transition at the same time: the survivor's is kept, the other dropped.
    assert history == [merge.into_person] and remaining == [merge.into_person]


def test_full_identity_builds_profiles_a_batch_of_people_at_a_time(
    migrated_engine: Engine, monkeypatch: Any
) -> None:
    """Without ``changed``, leads are read back by person in batches: batches of one
    person give each person the profile of their newest lead, and a rerun finds nothing."""
    later = T0 + timedelta(hours=1)
    load(migrated_engine, "meta", [
        lead("meta", "m1", email_match_key="a@x.io", first_name="Ada", company="Old"),
        lead("meta", "m2", email_match_key="b@x.io", first_name="Bo"),
    ])  # fmt: skip
    load(migrated_engine, "hubspot", [
        lead("hubspot", "h1", email_match_key="a@x.io", first_name="Ada", company="New",
             updated_at=later),
        lead("hubspot", "h2", email_match_key="c@x.io", last_name="Cy"),
    ])  # fmt: skip
    monkeypatch.setattr(profile_store, "STREAM_SIZE", 1)
    with migrated_engine.begin() as conn:
        resolution = resolve(read_lead_keys(conn), read_previous_person_ids(conn))
        first = save_identity(conn, resolution, T0, "r1")
    monkeypatch.undo()
    with migrated_engine.connect() as conn:
        rows = conn.execute(sa.select(people.c.email_match_key, people.c.company,
                                      people.c.first_name, people.c.last_name)).all()  # fmt: skip
        assert None not in lead_person_ids(conn).values()
    assert sorted(rows, key=str) == sorted([
        ("a@x.io", "New", "Ada", None), ("b@x.io", None, "Bo", None), ("c@x.io", None, None, "Cy"),
    ], key=str)  # fmt: skip
    assert (first.people, first.new_people, first.changed_profiles, first.leads) == (3, 3, 0, 4)
    with migrated_engine.begin() as conn:
        resolution = resolve(read_lead_keys(conn), read_previous_person_ids(conn))
        again = save_identity(conn, resolution, later, "r2")
    assert (again.new_people, again.changed_profiles, again.leads) == (0, 0, 0)


def test_person_facts_read_the_form_name_from_raw_and_skip_the_rest(
    migrated_engine: Engine,
) -> None:
    big = {"answers": [{"q": "é" * 50, "n": n} for n in range(20)]}
    load(migrated_engine, "meta", [
        lead("meta", "m1", email_match_key="a@x.io", raw={"form": {"name": "Démo"}, **big}),
        lead("meta", "m2", email_match_key="b@x.io", raw={"form_name": "Pricing", "form": 3}),
        lead("meta", "m3", email_match_key="c@x.io", raw={"id": "m3"}),
    ])  # fmt: skip
    resolution = identify(migrated_engine)
    with migrated_engine.connect() as conn:
        facts = read_person_facts(conn, sorted(resolution.clusters))
    found = {f.leads[0].source_lead_id: f.leads[0].form_name for f in facts}
    assert found == {"m1": "Démo", "m2": "Pricing", "m3": None}


def test_lead_keys_share_one_source_string_per_platform(migrated_engine: Engine) -> None:
    # A million leads held with a str each for "hubspot" cost 55 MB: they share one.
    load(migrated_engine, "meta", [lead("meta", f"m{n}") for n in range(3)])
    with migrated_engine.begin() as conn:
        keys = read_lead_keys(conn)
    assert len({id(k.source) for k in keys}) == 1
    identify(migrated_engine)
    with migrated_engine.begin() as conn:
        previous_sources = [source for source, _ in read_previous_person_ids(conn)]
    assert len(previous_sources) == 3 and len({id(s) for s in previous_sources}) == 1


def test_milestones_are_replaced_unless_none_are_stored_yet(migrated_engine: Engine) -> None:
    """A first classification (nothing stored: ``holds_derived_rows`` false) inserts the
    milestones without deleting; any later one replaces each person's with the new ones."""
    batch = [lead("meta", f"m{n}", email_match_key=f"p{n}@x.io") for n in range(3)]
    load(migrated_engine, "meta", batch)
    ids = sorted(identify(migrated_engine).clusters)

    def results(at: datetime) -> list[tuple[str, Classification, list[Transition]]]:
        found = replace(classification(Stage.QUALIFIED, "mql", at), milestones=(
            Milestone(at, "mql", "form:demo"),
        ))  # fmt: skip
        return [(pid, found, []) for pid in ids]

    def stored(conn: sa.Connection) -> set[tuple[str, datetime]]:
        m = person_milestones
        return {(pid, at) for pid, at in conn.execute(sa.select(m.c.person_id, m.c.at))}

    with migrated_engine.begin() as conn:
        assert not holds_derived_rows(conn)
        save_classifications(conn, results(T0)[:2], T0, "r1", replace=False)
        assert holds_derived_rows(conn)
        save_classifications(conn, results(T0)[2:], T0, "r1", replace=False)
        assert stored(conn) == {(pid, T0) for pid in ids}
        later = T0 + timedelta(hours=1)
        save_classifications(conn, results(later)[:2], later, "r2")
        assert stored(conn) == {(ids[0], later), (ids[1], later), (ids[2], T0)}
