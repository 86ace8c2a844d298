"""A people run after which no lead changed, moved or was erased does not compare the email
keys' and touches' people again (they are what the last run wrote), and still gives what a
full run gives: a touch loaded alone gets its person, and an erasure, which deletes leads
no later change dates, is followed by the full comparison (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import load_stream
from leadflow.models.people import identity_store
from leadflow.models.people.scope import erased_since
from leadflow.models.privacy.erasure import forget
from leadflow.models.records.activity import SalesTouch
from leadflow.models.warehouse.tables import email_people, lead_people, sales_touches
from tests.pipeline.test_people import NOW, T0, lead
from tests.pipeline.test_people_incremental import load, run

SALT = "quiet-relink-salt-0123456789"


def links(engine: Engine) -> dict[str, Any]:
    """Identity's links: each lead's, email key's and touch's person."""
    lp, ep, t = lead_people.c, email_people.c, sales_touches.c
    with engine.connect() as conn:
        return {
            "leads": set(conn.execute(sa.select(lp.source, lp.source_lead_id, lp.person_id))),
            "emails": set(conn.execute(sa.select(ep.email_match_key, ep.person_id))),
            "touches": set(conn.execute(sa.select(t.touch_id, t.person_id))),
        }


def load_touches(engine: Engine, touches: list[SalesTouch], at: Any) -> None:
    with engine.begin() as conn:
        load_stream(
            conn, stream="sales_touches", source="hubspot", account_id="hubspot_acct",
            rows=touches, rejected=[], watermark=None, state_key="sales_touches", now=at,
        )  # fmt: skip


def count_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"repoint_events": 0, "repoint_touches": 0}
    for name in calls:
        real = getattr(identity_store, name)

        def counted(*args: Any, _name: str = name, _real: Any = real, **kw: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kw)

        monkeypatch.setattr(identity_store, name, counted)
    return calls


def test_nothing_new_compares_nothing_again_and_a_new_touch_gets_its_person(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(migrated_engine, [lead("hubspot", "h1", "ada@example.com"), lead("meta", "m1", "b@y.com")])
    load_touches(migrated_engine, [SalesTouch("hubspot", "t1", "h1", "call", T0, T0)], T0)
    run(migrated_engine, "r1")
    first = links(migrated_engine)
    (ada,) = [pid for source, _, pid in first["leads"] if source == "hubspot"]
    assert first["touches"] == {("t1", ada)}
    calls = count_calls(monkeypatch)
    run(migrated_engine, "r2", now=NOW + timedelta(hours=1))
    assert calls == {"repoint_events": 0, "repoint_touches": 0}
    assert links(migrated_engine) == first
    # A touch loaded with no lead changing: the touches are compared, the email keys not.
    later = NOW + timedelta(hours=2)
    load_touches(migrated_engine, [SalesTouch("hubspot", "t2", "h1", "email", later, later)], later)
    run(migrated_engine, "r3", now=later + timedelta(minutes=1))
    assert calls == {"repoint_events": 0, "repoint_touches": 1}
    assert links(migrated_engine)["touches"] == {("t1", ada), ("t2", ada)}
    run(migrated_engine, "full", now=later + timedelta(minutes=2), full=True)
    assert links(migrated_engine)["touches"] == {("t1", ada), ("t2", ada)}


def test_after_an_erasure_the_links_are_what_a_full_run_gives(migrated_engine: Engine) -> None:
    # Ann's lead and Bo's share a phone: one person. Forgetting Ann deletes her lead (and
    # the person); Bo's lead is kept and needs a person again.
    phone = "+1 202 555 0101"
    load(
        migrated_engine,
        [lead("hubspot", "h1", "ann@acme.example", phone), lead("meta", "m1", "bo@acme.example", phone)],
    )  # fmt: skip
    load_touches(migrated_engine, [SalesTouch("hubspot", "t1", "m1", "call", T0, T0)], T0)
    run(migrated_engine, "r1")
    with migrated_engine.connect() as conn:
        assert not erased_since(conn, T0)
    with migrated_engine.begin() as conn:
        done = forget(conn, salt=SALT, now=NOW + timedelta(minutes=1), email="ann@acme.example")
    assert not done.refused
    with migrated_engine.connect() as conn:
        assert erased_since(conn, NOW)
        assert not erased_since(conn, NOW + timedelta(minutes=1))
    run(migrated_engine, "r2", now=NOW + timedelta(hours=1))
    incremental = links(migrated_engine)
    ((_, lead_id, bo),) = incremental["leads"]
    assert lead_id == "m1"
    assert incremental["emails"] == {("bo@acme.example", bo)}
    run(migrated_engine, "full", now=NOW + timedelta(hours=2), full=True)
    assert links(migrated_engine) == incremental
