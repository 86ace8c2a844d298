"""resolve_and_classify end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import load_stream
from leadflow.models.loading.leads import load_batch
from leadflow.models.people.identity import person_id_for
from leadflow.models.people.rules import default_rules
from leadflow.models.records.activity import EngagementEvent, SalesTouch
from leadflow.models.records.contact import normalize_email, normalize_phone
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.people_tables import email_people
from leadflow.models.warehouse.tables import (
    people,
    person_id_map,
    person_merges,
    sales_touches,
    stage_transitions,
)
from leadflow.pipeline.people import NOTES_LOGGED, resolve_and_classify
from tests.people_links import event_person_ids, lead_person_ids

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
RULES = default_rules()


def lead(
    source: str, lead_id: str, email: str | None = None, phone: str | None = None, **kw: Any
) -> Lead:
    address, key = normalize_email(email)
    values: dict[str, Any] = {
        "source": source,
        "source_lead_id": lead_id,
        "account_id": f"{source}_acct",
        "created_at": T0,
        "updated_at": T0,
        "email": address,
        "email_match_key": key,
        "phone": normalize_phone(phone, "US"),
        "raw": {"id": lead_id},
    }
    return Lead(**(values | kw))


def load(engine: Engine, batch: Sequence[Lead]) -> None:
    by_source: dict[str, list[Lead]] = {}
    for item in batch:
        by_source.setdefault(item.source, []).append(item)
    with engine.begin() as conn:
        for source, found in by_source.items():
            load_batch(
                conn,
                source=source,
                account_id=f"{source}_acct",
                leads=found,
                rejected=[],
                watermark=None,
                cursor=None,
                now=T0,
            )


def run(engine: Engine, now: datetime = NOW, run_id: str = "r1") -> dict[str, Any]:
    return resolve_and_classify(engine, rules=RULES, now=now, run_id=run_id)


def person_ids(engine: Engine) -> dict[tuple[str, str], str | None]:
    return lead_person_ids(engine)


def table(engine: Engine, t: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(t)).mappings()]


def one_human() -> list[Lead]:
    return [
        lead("meta", "m1", "Ada.Lovelace@Gmail.com", "+1 415 555 0100"),
        lead("linkedin", "l1", "adalovelace+ads@gmail.com", None, first_name="Ada"),
        lead("hubspot", "h1", None, "(415) 555-0100", company="Analytical Engines"),
    ]


def test_three_platforms_one_human_is_one_person(migrated_engine: Engine) -> None:
    load(migrated_engine, one_human())
    summary = run(migrated_engine)
    ids = person_ids(migrated_engine)
    assert len(set(ids.values())) == 1 and None not in ids.values()
    (row,) = table(migrated_engine, people)
    assert row["person_id"] == ids[("meta", "m1")]
    assert row["email_match_key"] == "adalovelace@gmail.com"
    assert (row["phone"], row["first_name"], row["company"]) == (
        "+14155550100",
        "Ada",
        "Analytical Engines",
    )
    assert summary == {"people": 1, "merged": 0, "classified": 1, "transitions": 1, "qualified": 0}
    assert row["lifecycle"] == "lead" and row["classified_at"] == NOW
    assert "channel:paid_social" in row["reasons"]


def test_rerun_changes_nothing(migrated_engine: Engine) -> None:
    load(migrated_engine, [*one_human(), lead("meta", "m2", "grace@navy.mil")])
    run(migrated_engine)
    ids, history = person_ids(migrated_engine), table(migrated_engine, stage_transitions)
    summary = run(migrated_engine, run_id="r2")
    assert summary["transitions"] == 0 and summary["merged"] == 0
    assert person_ids(migrated_engine) == ids
    assert table(migrated_engine, stage_transitions) == history
    assert len(history) == 2


def test_bridging_lead_merges_two_people(migrated_engine: Engine) -> None:
    load(
        migrated_engine,
        [lead("meta", "m1", "ada@example.com"), lead("linkedin", "l1", None, "+14155550100")],
    )
    run(migrated_engine)
    before = person_ids(migrated_engine)
    assert len(set(before.values())) == 2
    later = T0 + timedelta(hours=1)
    load(
        migrated_engine,
        [lead("hubspot", "h1", "ada@example.com", "+14155550100", created_at=later)],
    )
    summary = run(migrated_engine, run_id="r2")
    after = person_ids(migrated_engine)
    # A tie (created together): the person of the smaller lead key (linkedin:l1) survives.
    survivor, merged = before[("linkedin", "l1")], before[("meta", "m1")]
    assert survivor == person_id_for("linkedin:l1")
    assert set(after.values()) == {survivor}
    (merge,) = table(migrated_engine, person_merges)
    assert (merge["from_person"], merge["into_person"]) == (merged, survivor)
    assert (merge["reason"], merge["run_id"], merge["merged_at"]) == ("email", "r2", NOW)
    assert [row["person_id"] for row in table(migrated_engine, people)] == [survivor]
    assert summary["merged"] == 1 and summary["people"] == 1
    assert {row["person_id"] for row in table(migrated_engine, stage_transitions)} == {survivor}
    run(migrated_engine, run_id="r3")
    assert person_ids(migrated_engine) == after
    assert len(table(migrated_engine, person_merges)) == 1


def test_events_and_touches_get_the_person(migrated_engine: Engine) -> None:
    load(migrated_engine, [lead("hubspot", "h1", "ada@example.com"), lead("meta", "m1", "x@y.com")])
    event = EngagementEvent(
        "hubspot", "e1", "hubspot_acct", "click", T0, email="ada@example.com",
        email_match_key="ada@example.com",
    )  # fmt: skip
    stranger = EngagementEvent(
        "hubspot", "e2", "hubspot_acct", "open", T0, email_match_key="nobody@example.com"
    )
    touch = SalesTouch("hubspot", "t1", "h1", "meeting", T0 + timedelta(hours=2), T0)
    with migrated_engine.begin() as conn:
        for stream, rows in (("engagement_events", [event, stranger]), ("sales_touches", [touch])):
            load_stream(
                conn, stream=stream, source="hubspot", account_id="hubspot_acct", rows=rows,
                rejected=[], watermark=None, state_key=stream, now=T0,
            )  # fmt: skip
    summary = run(migrated_engine)
    pid = person_ids(migrated_engine)[("hubspot", "h1")]
    assert {e: p for (_, e), p in event_person_ids(migrated_engine).items()} == {
        "e1": pid,
        "e2": None,
    }
    assert [r["person_id"] for r in table(migrated_engine, sales_touches)] == [pid]
    # The meeting is a hand-raiser: the person is an MQL since the meeting.
    (row,) = [r for r in table(migrated_engine, people) if r["person_id"] == pid]
    assert (row["lifecycle"], row["qualified_at"]) == ("mql", T0 + timedelta(hours=2))
    assert "signal:meeting_booked" in row["reasons"]
    assert summary["qualified"] == 1


def test_an_email_that_becomes_shared_gives_its_events_to_no_one(migrated_engine: Engine) -> None:
    """email_people: a key on one person's leads owns its events; once another person's
    lead carries it too (a role address links nobody), its row goes and its events belong
    to no one, as a run over both leads at once gives."""
    load(migrated_engine, [lead("hubspot", "h1", "info@acme.example", "+1 202 555 0101")])
    event = EngagementEvent(
        "hubspot", "e1", "hubspot_acct", "click", T0, email="info@acme.example",
        email_match_key="info@acme.example",
    )  # fmt: skip
    with migrated_engine.begin() as conn:
        load_stream(
            conn, stream="engagement_events", source="hubspot", account_id="hubspot_acct",
            rows=[event], rejected=[], watermark=None, state_key="engagement_events", now=T0,
        )  # fmt: skip
    run(migrated_engine)
    first = person_ids(migrated_engine)[("hubspot", "h1")]
    assert event_person_ids(migrated_engine) == {("hubspot", "e1"): first}
    load(migrated_engine, [lead("meta", "m1", "info@acme.example", "+1 202 555 0102")])
    run(migrated_engine, NOW + timedelta(minutes=5), "r2")
    ids = person_ids(migrated_engine)
    assert ids[("meta", "m1")] not in (None, first)  # two people
    assert event_person_ids(migrated_engine) == {("hubspot", "e1"): None}
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(email_people)).scalar() == 0


def test_demo_request_is_mql_from_the_lead_creation(migrated_engine: Engine) -> None:
    created = T0 - timedelta(days=3)
    demo = lead(
        "meta", "m1", "ceo@acme.io", created_at=created, updated_at=created,
        custom_fields={"form_name": "Book a demo"},
    )  # fmt: skip
    load(migrated_engine, [demo])
    summary = run(migrated_engine)
    (row,) = table(migrated_engine, people)
    assert (row["stage"], row["lifecycle"]) == ("qualified", "mql")
    assert row["qualified_at"] == created and row["lifecycle_at"] == created
    assert "signal:demo_request" in row["reasons"] and row["fit"] is not None
    (transition,) = table(migrated_engine, stage_transitions)
    assert (transition["from_lifecycle"], transition["to_lifecycle"]) == (None, "mql")
    assert (transition["at"], transition["run_id"], transition["recorded_at"]) == (
        created,
        "r1",
        NOW,
    )
    assert transition["reasons"] == row["reasons"]
    assert summary["qualified"] == 1 and summary["transitions"] == 1


def test_stage_never_moves_back_as_engagement_decays(migrated_engine: Engine) -> None:
    invited = lead("mailchimp", "c1", "ada@example.com", utm_medium="email")
    load(migrated_engine, [invited])
    click = EngagementEvent(
        "mailchimp", "e1", "mailchimp_acct", "click", T0 + timedelta(hours=1),
        email_match_key="ada@example.com",
    )  # fmt: skip
    with migrated_engine.begin() as conn:
        load_stream(
            conn, stream="engagement_events", source="mailchimp", account_id="mailchimp_acct",
            rows=[click], rejected=[], watermark=None, state_key="e", now=T0,
        )  # fmt: skip
    run(migrated_engine)
    (row,) = table(migrated_engine, people)
    assert (row["stage"], row["lifecycle"]) == ("warm", "engaged")
    later = NOW + timedelta(days=365)
    summary = run(migrated_engine, now=later, run_id="r2")
    (row,) = table(migrated_engine, people)
    assert (row["stage"], row["lifecycle"]) == ("warm", "engaged")
    assert row["engagement"] < 1  # engaged once: the facts say so, whatever the score now
    assert row["classified_at"] == later and summary["transitions"] == 0
    assert [r["to_lifecycle"] for r in table(migrated_engine, stage_transitions)] == ["engaged"]


def _reltuples(engine: Engine, table: str) -> float | None:
    """PostgreSQL's row estimate of ``table`` (-1: never analyzed); None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        query = sa.text("SELECT reltuples FROM pg_class WHERE relname = :t")
        return conn.execute(query, {"t": table}).scalar_one()


def test_statistics_are_fresh_before_classification_reads_by_person(
    migrated_engine: Engine,
) -> None:
    """On PostgreSQL the tables identity just wrote person ids into are analyzed, so the
    planner looks leads up by person through the index instead of scanning the table."""
    load(migrated_engine, one_human())
    before = {t: _reltuples(migrated_engine, t) for t in ("leads", "people", "sales_touches")}
    run(migrated_engine)
    after = {t: _reltuples(migrated_engine, t) for t in ("leads", "people", "sales_touches")}
    if migrated_engine.dialect.name != "postgresql":
        with migrated_engine.connect() as conn:  # ANALYZE is PostgreSQL's only
            names = sa.inspect(conn).get_table_names()
        assert "sqlite_stat1" not in names
        return
    assert before == {"leads": -1, "people": -1, "sales_touches": -1}  # never analyzed
    assert after == {"leads": 3, "people": 1, "sales_touches": 0}


def test_identity_notes_are_logged_up_to_a_cap(
    migrated_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A phone shared by many emails is noted; past NOTES_LOGGED notes the log says how
    many more there were instead of a line each (a million leads had 12,000)."""
    phones = 23
    load(migrated_engine, [
        lead("meta", f"m{p}-{e}", f"p{p}e{e}@example.com", f"+1415555{p:04d}")
        for p in range(phones) for e in range(6)
    ])  # fmt: skip
    with caplog.at_level("WARNING", logger="leadflow.pipeline.people"):
        run(migrated_engine)
    notes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("identity:")]
    assert len(notes) == NOTES_LOGGED + 1
    assert all("shared by 6 different emails" in note for note in notes[:NOTES_LOGGED])
    assert notes[-1] == f"identity: {phones - NOTES_LOGGED} more notes like these not logged"
    assert not any("5550" in note for note in notes)  # phones stay masked


def id_map(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        m = person_id_map
        return dict(conn.execute(sa.select(m.c.old_person_id, m.c.person_id)).all())


def test_old_person_ids_map_to_the_person_holding_their_leads(migrated_engine: Engine) -> None:
    """A merge, then a rename (an older lead arrives late), then the rename undone (that
    lead becomes a test lead): every retired id points at the current person, chains
    resolved, and an id in use again leaves the map."""
    load(migrated_engine, [lead("meta", "m1", "ada@example.com"), lead("linkedin", "l1", None, "+14155550100")])  # fmt: skip
    run(migrated_engine)
    merged, survivor = person_id_for("meta:m1"), person_id_for("linkedin:l1")
    later, earlier = T0 + timedelta(hours=1), T0 - timedelta(days=1)
    load(migrated_engine, [lead("hubspot", "h1", "ada@example.com", "+14155550100", created_at=later)])  # fmt: skip
    run(migrated_engine, run_id="r2")
    # A tie at T0: the smaller key (linkedin:l1) names the merged person.
    assert set(person_ids(migrated_engine).values()) == {survivor}
    assert id_map(migrated_engine) == {merged: survivor}
    backfill = lead("google_ads", "g1", "ada@example.com", created_at=earlier)
    load(migrated_engine, [backfill])
    run(migrated_engine, run_id="r3")
    renamed = person_id_for("google_ads:g1")
    assert set(person_ids(migrated_engine).values()) == {renamed}
    assert id_map(migrated_engine) == {merged: renamed, survivor: renamed}
    load(migrated_engine, [lead("google_ads", "g1", "ada@example.com", created_at=earlier, is_test=True)])  # fmt: skip
    run(migrated_engine, run_id="r4")
    ids = person_ids(migrated_engine)
    assert ids[("google_ads", "g1")] is None and set(ids.values()) - {None} == {survivor}
    assert id_map(migrated_engine) == {merged: survivor, renamed: survivor}
