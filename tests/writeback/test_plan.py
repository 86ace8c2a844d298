"""The pure plan: which tasks and property writes a run wants, from rows alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadflow.models.writeback.plan import (
    Candidate,
    Ledger,
    PersonValues,
    Plan,
    capped,
    payload_hash,
    plan_properties,
    plan_tasks,
    task_key,
)

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
START = NOW - timedelta(hours=2)
RULES = ("first_touch", "accept_reject")


def candidate(person: str, status: str, due_in: float = -10, **kw: object) -> Candidate:
    values = {"rule": "first_touch", "person_id": person, "clock_start": START,
              "due_at": NOW + timedelta(minutes=due_in), "status": status,
              "contact_id": f"c-{person}", "owner_id": "o1"} | kw  # fmt: skip
    return Candidate(**values)  # type: ignore[arg-type]


def plan(items: list[Candidate], ledger: dict[str, Ledger] | None = None, **kw: object) -> Plan:
    options = {"before_minutes": 0, "on_met": "leave", "rules": RULES} | kw
    return plan_tasks(items, ledger or {}, NOW, **options)  # type: ignore[arg-type]


def test_breached_and_due_soon_become_tasks_once() -> None:
    items = [
        candidate("p1", "breached"),
        candidate("p2", "pending", due_in=20),
        candidate("p3", "pending", due_in=90),
        candidate("p4", "met"),
        candidate("p5", "breached", rule="touch_attempts"),
        candidate("p6", "breached", contact_id=None),
    ]
    wanted = plan(items, before_minutes=30)
    assert [(t.person_id, t.breached) for t in wanted.create] == [("p1", True), ("p2", False)]
    assert wanted.skipped == {"no_contact": 1}
    done = {task_key("first_touch", "p1", START): Ledger("k", "created", "t1")}
    assert [t.person_id for t in plan(items, done, before_minutes=30).create] == ["p2"]


def test_a_pending_row_is_resumed_and_a_failed_one_retried() -> None:
    key = task_key("first_touch", "p1", START)
    resumed = plan([candidate("p1", "breached")], {key: Ledger(key, "pending")}).create
    assert resumed[0].resume is True
    recent = Ledger(key, "pending", updated_at=NOW - timedelta(seconds=30))
    settling = plan([candidate("p1", "breached")], {key: recent})
    assert settling.create == [] and settling.skipped == {"pending_settling": 1}
    older = Ledger(key, "pending", updated_at=NOW - timedelta(minutes=5))
    assert plan([candidate("p1", "breached")], {key: older}).create[0].resume is True
    retried = plan([candidate("p1", "breached")], {key: Ledger(key, "failed", attempts=2)}).create
    assert retried[0].resume is False


def test_met_tasks_completed_only_when_asked() -> None:
    key = task_key("first_touch", "p1", START)
    ledger = {key: Ledger(key, "created", "t9")}
    assert plan([candidate("p1", "met")], ledger).complete == []
    closing = plan([candidate("p1", "met")], ledger, on_met="complete").complete
    assert [(c.key, c.object_id) for c in closing] == [(key, "t9")]


def test_task_properties_carry_the_deadline_and_the_key() -> None:
    (task,) = plan([candidate("p1", "breached", owner_id=None)]).create
    props = task.properties()
    assert props["hs_timestamp"] == "2026-12-07T14:50:00.000Z"
    assert "hubspot_owner_id" not in props  # no owner: an unassigned task
    assert f"[leadflow:{task.key}]" in props["hs_task_body"]


def test_properties_only_when_changed() -> None:
    person = PersonValues("p1", "c1", "qualified", 40, 3.25, ["a", "b"])
    (first,) = plan_properties([person], {})
    assert first.properties["leadflow_engagement_score"] == "3.2"
    ledger = {"p1": Ledger("p1", "created", "c1", payload_hash=first.payload_hash)}
    assert plan_properties([person], ledger) == []
    moved = PersonValues("p1", "c2", "qualified", 40, 3.25, ["a", "b"])  # another contact
    assert len(plan_properties([moved], ledger)) == 1
    failed = {"p1": Ledger("p1", "failed", "c1", payload_hash=first.payload_hash)}
    assert len(plan_properties([person], failed)) == 1
    assert payload_hash("c1", {"a": "1"}) != payload_hash("c1", {"a": "2"})


def test_the_cap_keeps_tasks_first() -> None:
    items = [candidate(f"p{i}", "breached") for i in range(3)]
    wanted = plan(items)
    wanted.properties = plan_properties([PersonValues("p1", "c1", "cold", 1, 0, [])], {})
    kept, left = capped(wanted, 2)
    assert (len(kept.create), len(kept.properties), left) == (2, 0, 2)


def test_a_pending_row_whose_evaluation_was_met_is_only_searched_for() -> None:
    key = task_key("first_touch", "p1", START)
    asked = {key: Ledger(key, "pending", updated_at=NOW - timedelta(minutes=10))}
    (task,) = plan([candidate("p1", "met")], asked).create
    assert task.resume and task.search_only
    created = {key: Ledger(key, "created", "t1")}
    assert plan([candidate("p1", "met")], created).create == []


def test_a_task_written_before_a_merge_is_the_survivors_task() -> None:
    """p1's breach had its task; p1 merged into p2 (person_id_map): p2's evaluation of the
    same clock is the same task, not a second one, and its completion closes it."""
    old = task_key("first_touch", "p1", START)
    ledger = {old: Ledger(old, "created", "t1")}
    former = {"p2": ["p0", "p1"]}
    assert plan([candidate("p2", "breached")], ledger, former=former).create == []
    closed = plan([candidate("p2", "met")], ledger, former=former, on_met="complete").complete
    assert [(t.key, t.person_id, t.object_id) for t in closed] == [(old, "p2", "t1")]
    # Another clock of the survivor is another task; without the map, p2 is someone new.
    later = candidate("p2", "breached", clock_start=START + timedelta(days=1))
    assert len(plan([later], ledger, former=former).create) == 1
    assert len(plan([candidate("p2", "breached")], ledger).create) == 1
