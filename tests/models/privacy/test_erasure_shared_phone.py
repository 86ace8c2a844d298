"""Issue #18: forgetting one address of a person joined to others by a shared switchboard
phone erases the requester only; the others stay, unsuppressed, through the next load and
identity pass. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.privacy.erasure import forget, plan_erasure
from leadflow.models.privacy.suppression import drop_suppressed, identifier_hash, lead_key
from leadflow.models.warehouse.tables import (
    engagement_events,
    leads,
    people,
    quarantine,
    sales_touches,
    stage_transitions,
    suppression_list,
    sync_runs,
)
from tests.bi_seed import traces
from tests.models.privacy.switchboard import (
    ANN,
    ANN_LEADS,
    ANN_MOBILE,
    ANN_NEEDLES,
    COLLEAGUE_LEADS,
    COLLEAGUES,
    NOW,
    SALT,
    SWITCHBOARD,
    all_leads,
    build,
    lead,
    links,
    load,
    resolve,
)


def _rows(engine: Engine, table: sa.Table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(table)).mappings()]


def _lead_keys(engine: Engine) -> set[tuple[str, str]]:
    return {(r["source"], r["source_lead_id"]) for r in _rows(engine, leads)}


def test_forgetting_one_address_of_a_switchboard_cluster_keeps_the_others(
    migrated_engine: Engine,
) -> None:
    person = build(migrated_engine)
    transitions_before = _rows(migrated_engine, stage_transitions)
    assert _lead_keys(migrated_engine) == ANN_LEADS | COLLEAGUE_LEADS
    everyone = (ANN, *COLLEAGUES)
    assert links(migrated_engine) == (
        dict.fromkeys(ANN_LEADS | COLLEAGUE_LEADS, person),
        dict.fromkeys(everyone, person),
    )
    with migrated_engine.begin() as conn:
        erasure = forget(conn, salt=SALT, now=NOW, email=" ANN@acmecorp.com ")
    assert not erasure.refused and erasure.applied
    assert erasure.removed["leads"] == 3 and erasure.removed["people"] == 0
    assert erasure.removed["lead_people"] == 3 and erasure.removed["email_people"] == 1
    assert erasure.removed["sla_evaluations"] == erasure.removed["stage_transitions"] == 0
    assert erasure.profiles_recomputed == 1
    # Ann's leads are gone, the colleagues' leads are intact, switchboard and all.
    kept = {(r["source"], r["source_lead_id"]): r for r in _rows(migrated_engine, leads)}
    assert set(kept) == COLLEAGUE_LEADS
    assert {r["phone"] for r in kept.values()} == {SWITCHBOARD, None}
    # No narrow row is left on Ann's leads or email; the colleagues' rows stay, on the person.
    assert links(migrated_engine) == (
        dict.fromkeys(COLLEAGUE_LEADS, person),
        dict.fromkeys(COLLEAGUES, person),
    )
    # The person stays, without Ann's profile details; its history stays too.
    (row,) = _rows(migrated_engine, people)
    assert row["person_id"] == person and row["email_match_key"] in COLLEAGUES
    assert row["phone"] == SWITCHBOARD and row["first_name"] != "Annie"
    assert row["company"] == "Acme"
    assert row["email_hash"] == identifier_hash("email", row["email_match_key"], SALT)
    assert _rows(migrated_engine, stage_transitions) == transitions_before
    assert [r["event_id"] for r in _rows(migrated_engine, engagement_events)] == [
        "e-bo@acmecorp.com"
    ]
    assert [r["lead_id"] for r in _rows(migrated_engine, sales_touches)] == ["b1"]
    # Free text: Ann's lines are gone, the others' lines are kept.
    runs = {r["run_id"]: r for r in _rows(migrated_engine, sync_runs)}
    assert runs["old-1"]["warnings"].startswith("count mismatch: 3 vs 4\n[line removed")
    assert runs["old-2"]["warnings"] == "bo@acmecorp.com bounced"
    assert {r["record_key"] for r in _rows(migrated_engine, quarantine)} == {"q2", "q3", "q4"}
    with migrated_engine.connect() as conn:
        assert traces(conn, ANN_NEEDLES) == []
        assert traces(conn, [*COLLEAGUES, SWITCHBOARD]) != []
    # Exactly Ann's identifiers are suppressed: her email, her own mobile, her three leads.
    hashes = {r["key_hash"]: r["kind"] for r in _rows(migrated_engine, suppression_list)}
    wanted = {identifier_hash("email", ANN, SALT), identifier_hash("phone", ANN_MOBILE, SALT)}
    wanted |= {identifier_hash("lead", lead_key(*k), SALT) for k in ANN_LEADS}
    assert set(hashes) == wanted
    assert identifier_hash("phone", SWITCHBOARD, SALT) not in hashes


def test_the_next_load_keeps_the_colleagues_and_drops_the_requester(
    migrated_engine: Engine,
) -> None:
    build(migrated_engine)
    with migrated_engine.begin() as conn:
        forget(conn, salt=SALT, now=NOW, email=ANN)
    again = [*all_leads(), lead("meta", "a9", None, "+1 415 555 0100")]  # a new switchboard lead
    with migrated_engine.connect() as conn:
        kept, _, dropped = drop_suppressed(conn, SALT, again, [], "US")
    assert {r.natural_key for r in kept} == COLLEAGUE_LEADS | {("meta", "a9")}
    assert dropped == 3
    load(migrated_engine, kept)
    resolve(migrated_engine, run_id="r2")  # the identity pass after the erasure
    assert _lead_keys(migrated_engine) == COLLEAGUE_LEADS | {("meta", "a9")}
    by_lead, by_email = links(migrated_engine)
    assert set(by_lead) == COLLEAGUE_LEADS | {("meta", "a9")} and len(set(by_lead.values())) == 1
    assert set(by_email) == set(COLLEAGUES) and set(by_email.values()) == set(by_lead.values())
    with migrated_engine.connect() as conn:
        assert traces(conn, ANN_NEEDLES) == []


def test_a_lead_with_only_the_shared_phone_needs_include_linked(
    migrated_engine: Engine,
) -> None:
    build(migrated_engine)
    load(migrated_engine, [lead("meta", "a0", None, SWITCHBOARD)])  # whose lead is that?
    resolve(migrated_engine, run_id="r2")
    with migrated_engine.begin() as conn:
        refused = forget(conn, salt=SALT, now=NOW, email=ANN)
    assert refused.refused and refused.other_addresses == 3 and not refused.applied
    assert len(_lead_keys(migrated_engine)) == 8 and _rows(migrated_engine, suppression_list) == []
    by_lead, by_email = links(migrated_engine)
    assert len(by_lead) == 8 and set(by_email) == {ANN, *COLLEAGUES}  # a refusal writes nothing
    with migrated_engine.begin() as conn:
        erasure = forget(conn, salt=SALT, now=NOW, email=ANN, include_linked=True)
    assert erasure.applied and erasure.removed["leads"] == 8 and erasure.removed["people"] == 1
    assert _rows(migrated_engine, people) == []
    assert links(migrated_engine) == ({}, {})  # nothing points at the erased person


def test_person_id_of_a_multi_address_person_needs_include_linked(
    migrated_engine: Engine,
) -> None:
    person = build(migrated_engine)
    with migrated_engine.begin() as conn:
        plan = plan_erasure(conn, salt=SALT, person_id=person)
        refused = forget(conn, salt=SALT, now=NOW, person_id=person)
    assert plan.erasure.refused and plan.erasure.other_addresses == 3
    assert refused.refused and sum(refused.removed.values()) > 0  # the plan's counts
    assert len(_lead_keys(migrated_engine)) == 7 and _rows(migrated_engine, suppression_list) == []
    assert links(migrated_engine) == (
        dict.fromkeys(ANN_LEADS | COLLEAGUE_LEADS, person),
        dict.fromkeys((ANN, *COLLEAGUES), person),
    )
    with migrated_engine.begin() as conn:
        erasure = forget(conn, salt=SALT, now=NOW, person_id=person, include_linked=True)
    assert erasure.applied and erasure.removed["leads"] == 7 and erasure.removed["people"] == 1
    assert erasure.removed["lead_people"] == 7 and erasure.removed["email_people"] == 4
    assert links(migrated_engine) == ({}, {})  # nothing points at the erased person
    kinds = sorted(r["kind"] for r in _rows(migrated_engine, suppression_list))
    assert kinds == ["email"] * 4 + ["lead"] * 7 + ["phone"] * 2


def test_plan_output_is_counts_only(migrated_engine: Engine) -> None:
    build(migrated_engine)
    with migrated_engine.begin() as conn:
        plan = plan_erasure(conn, salt=SALT, email=ANN).erasure
    text = "\n".join([*plan.plan_lines(), *plan.lines()])
    lines = {" ".join(line.split()) for line in text.splitlines()}
    assert {
        "email (the one given) 2 leads",
        "phone only on the requester's leads 1 phone",
        "no email, the requester's phone 1 lead",
        "phone shared with other people (kept) 1 phone",
        "leads 3 rows to remove",
        "people 0 rows to remove",
        "people 1 profiles to recompute (other people's leads stay)",
        "sync_runs (text) 1 rows to rewrite",
        "suppression_list 5 identifiers to add",
    } <= lines
    lowered = text.lower()
    assert not any(n.lower() in lowered for n in [*ANN_NEEDLES, *COLLEAGUES, SWITCHBOARD])
    assert "4155550100" not in text
