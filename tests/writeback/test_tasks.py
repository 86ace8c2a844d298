"""SLA breaches written back as HubSpot tasks, against the sandbox served over HTTP:
exactly one task per breach across reruns, crashes, 5xx and 429 answers; on both SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.connectors.hubspot.writeback import HubSpotWriter
from leadflow.models.warehouse.tables import (
    lead_people,
    people,
    person_id_map,
    sla_evaluations,
)
from leadflow.models.writeback.plan import search_token
from leadflow.pipeline import writeback_steps as writeback
from leadflow.pipeline.writeback import run_writeback
from tests.writeback.support import NOW, evaluation, ledger, portal, seed_people, settings, writes

TASKS = "/crm/v3/objects/tasks"
LATER = NOW + timedelta(minutes=10)  # the next speed-to-lead run


def test_one_task_per_breach_across_reruns(migrated_engine: Engine, warehouse_url: str) -> None:
    with portal() as hs:
        seeded = seed_people(migrated_engine, hs, 4)
        start = evaluation(migrated_engine, "p1", "breached")
        evaluation(migrated_engine, "p2", "breached", rule="accept_reject", due_in_minutes=-5)
        evaluation(migrated_engine, "p3", "pending", due_in_minutes=30)  # not yet: horizon 0
        evaluation(migrated_engine, "p4", "met")
        config = settings(hs, warehouse_url)

        first = run_writeback(config, now=NOW, engine=migrated_engine)
        again = run_writeback(config, now=NOW, engine=migrated_engine)

        tasks = hs.writes.tasks
        assert len(tasks) == 2 and len(first.created) == 2 and again.created == []
        assert writes(hs).count(("POST", TASKS)) == 2
        task = next(t for t in tasks if "first_touch:p1:" in t["properties"]["hs_task_body"])
        props = task["properties"]
        key = f"first_touch:p1:{start.isoformat()}"
        assert f"[leadflow:{key}]" in props["hs_task_body"]
        assert (
            props["hs_task_subject"] == f"leadflow SLA: First touch overdue [{search_token(key)}]"
        )
        assert props["hubspot_owner_id"] == seeded[0]["owner_id"]
        assert props["hs_timestamp"] == "2026-12-07T14:30:00.000Z"  # the deadline
        assert props["hs_task_priority"] == "HIGH"
        assert task["associations"] == [{"to": seeded[0]["contact_id"], "associationTypeId": 204}]
        assert "example.com" not in str(tasks)  # no email in what is written
        rows = ledger(migrated_engine)
        assert [(r["key"].split(":")[0], r["status"]) for r in rows] == [
            ("accept_reject", "created"),
            ("first_touch", "created"),
        ]
        assert {r["object_id"] for r in rows} == {t["id"] for t in tasks}

        # Due within before_minutes: a task now, and still only one for it later.
        soon = settings(hs, warehouse_url, before_minutes=60)
        run_writeback(soon, now=NOW, engine=migrated_engine)
        run_writeback(soon, now=NOW, engine=migrated_engine)
        assert len(hs.writes.tasks) == 3
        assert hs.writes.tasks[-1]["properties"]["hs_task_priority"] == "MEDIUM"


def test_crash_after_post_before_recording_finds_the_task(
    migrated_engine: Engine, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached")
        evaluation(migrated_engine, "p2", "breached")
        config = settings(hs, warehouse_url)
        real_record = writeback.record

        def crash(*args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt("killed after the POSTs, before the ids were recorded")

        monkeypatch.setattr(writeback, "record", crash)
        with pytest.raises(KeyboardInterrupt):
            run_writeback(config, now=NOW, engine=migrated_engine)
        assert len(hs.writes.tasks) == 2
        assert [r["status"] for r in ledger(migrated_engine)] == ["pending", "pending"]

        monkeypatch.setattr(writeback, "record", real_record)
        asked = len(hs.requests)
        at_once = run_writeback(config, now=NOW, engine=migrated_engine)  # search may lag
        assert at_once.counts()["skipped"] == {"pending_settling": 2}
        assert len(hs.requests) == asked  # neither searched nor created yet
        summary = run_writeback(config, now=LATER, engine=migrated_engine)

        assert len(hs.writes.tasks) == 2  # found by search, not created again
        assert summary.found == 2 and summary.created == []
        rows = ledger(migrated_engine)
        assert {r["object_id"] for r in rows} == {t["id"] for t in hs.writes.tasks}
        assert {r["status"] for r in rows} == {"created"}


def test_5xx_on_create_is_resolved_next_run_without_a_second_task(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached")
        evaluation(migrated_engine, "p2", "breached")
        config = settings(hs, warehouse_url)

        def stored_then_500(response: Any) -> Any:
            response.status = 500  # HubSpot stored the task, then answered 500
            return response

        hs.faults.push(503, {"status": "error"}, method="POST", path=f"{TASKS}$")  # not stored
        hs.faults.push_transform(stored_then_500, method="POST", path=f"{TASKS}$")
        first = run_writeback(config, now=NOW, engine=migrated_engine)
        assert len(hs.writes.tasks) == 1 and first.created == [] and first.failed == 2
        rows = ledger(migrated_engine)
        assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1), ("pending", 1)]
        assert all("HTTP 50" in r["last_error"] for r in rows)
        assert writes(hs).count(("POST", TASKS)) == 2  # a create's 5xx is not repeated blindly

        second = run_writeback(config, now=LATER, engine=migrated_engine)
        assert len(hs.writes.tasks) == 2  # one found, one created: one per breach
        assert second.found == 1 and len(second.created) == 1
        assert {r["status"] for r in ledger(migrated_engine)} == {"created"}
        assert (
            run_writeback(config, now=LATER, engine=migrated_engine).counts()["tasks_planned"] == 0
        )


def test_a_create_cut_off_after_it_was_sent_is_not_sent_again(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    """HubSpot stored the task and its answer was cut mid-body: the transport does not send
    the creation again (it may have been acted on); the next run finds the task."""
    with portal() as hs:
        seed_people(migrated_engine, hs, 1)
        evaluation(migrated_engine, "p1", "breached")
        config = settings(hs, warehouse_url)
        hs.faults.push_disconnect(0.3, method="POST", path=f"{TASKS}$")
        first = run_writeback(config, now=NOW, engine=migrated_engine)
        assert first.created == [] and len(hs.writes.tasks) == 1
        assert writes(hs).count(("POST", TASKS)) == 1
        assert [r["status"] for r in ledger(migrated_engine)] == ["pending"]
        second = run_writeback(config, now=LATER, engine=migrated_engine)
        assert second.found == 1 and second.created == [] and len(hs.writes.tasks) == 1
        assert [r["status"] for r in ledger(migrated_engine)] == ["created"]


def test_a_429_is_honoured_and_the_task_created_once(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 1)
        evaluation(migrated_engine, "p1", "breached")
        slept: list[float] = []

        def writer(config: Any) -> HubSpotWriter:
            client = HubSpotWriter(config)
            client.client.session.sleep = slept.append
            client.creating.session.sleep = slept.append  # task creations go through this one
            return client

        hs.push_rate_limit(times=1, path=f"{TASKS}$")  # max_attempts is 3
        hs.faults.push(429, {"status": "error", "message": "You have reached your ten_secondly_"
                             "rolling limit.", "errorType": "RATE_LIMIT",
                             "policyName": "TEN_SECONDLY_ROLLING"},
                       {"Retry-After": "7"}, path=f"{TASKS}$")  # fmt: skip
        summary = run_writeback(
            settings(hs, warehouse_url), now=NOW, engine=migrated_engine, writer=writer
        )
        assert len(hs.writes.tasks) == 1 and len(summary.created) == 1
        assert writes(hs).count(("POST", TASKS)) == 3  # two 429s, then the task
        assert 7.0 in slept  # Retry-After honoured


def test_a_validation_error_is_recorded_failed_naming_the_field(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached", rep_id="987654321")  # not an owner
        evaluation(migrated_engine, "p2", "breached")
        config = settings(hs, warehouse_url)

        summary = run_writeback(config, now=NOW, engine=migrated_engine)
        assert len(hs.writes.tasks) == 1 and summary.failed == 1 and summary.error is None
        failed = next(r for r in ledger(migrated_engine) if r["status"] == "failed")
        assert failed["person_id"] == "p1" and failed["attempts"] == 1
        assert "VALIDATION_ERROR" in failed["last_error"]
        assert "hubspot_owner_id (INVALID_OWNER_ID)" in failed["last_error"]
        assert "987654321" not in failed["last_error"]  # the field, never the value

        run_writeback(config, now=NOW, engine=migrated_engine)  # retried next run
        failed = next(r for r in ledger(migrated_engine) if r["person_id"] == "p1")
        assert (failed["status"], failed["attempts"]) == ("failed", 2)
        assert len(hs.writes.tasks) == 1


def test_dry_run_writes_nothing(migrated_engine: Engine, warehouse_url: str) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached")
        evaluation(migrated_engine, "p2", "breached")
        config = settings(hs, warehouse_url, properties=True)

        summary = run_writeback(config, now=NOW, dry_run=True, engine=migrated_engine)

        assert summary.plan is not None
        assert len(summary.plan.create) == 2 and len(summary.plan.properties) == 2
        assert hs.requests == [] and hs.writes.tasks == []
        assert ledger(migrated_engine) == [] and ledger(migrated_engine, "properties") == []


def test_nothing_is_written_when_disabled(migrated_engine: Engine, warehouse_url: str) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 1)
        evaluation(migrated_engine, "p1", "breached")
        config = settings(hs, warehouse_url, enabled=False, properties=True)

        summary = run_writeback(config, now=NOW, engine=migrated_engine)

        assert summary.counts() == {"enabled": False}
        assert hs.requests == [] and ledger(migrated_engine) == []


def test_met_tasks_are_completed_or_left(migrated_engine: Engine, warehouse_url: str) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 1)
        evaluation(migrated_engine, "p1", "breached")
        run_writeback(settings(hs, warehouse_url), now=NOW, engine=migrated_engine)
        with migrated_engine.begin() as conn:  # a late touch: the breach turned met
            conn.execute(sa.update(sla_evaluations).values(status="met"))

        run_writeback(settings(hs, warehouse_url), now=NOW, engine=migrated_engine)  # leave
        assert hs.writes.tasks[0]["properties"]["hs_task_status"] == "NOT_STARTED"

        complete = settings(hs, warehouse_url, on_met="complete")
        summary = run_writeback(complete, now=NOW, engine=migrated_engine)
        assert summary.closed == 1
        assert hs.writes.tasks[0]["properties"]["hs_task_status"] == "COMPLETED"
        assert [r["status"] for r in ledger(migrated_engine)] == ["closed"]
        assert run_writeback(complete, now=NOW, engine=migrated_engine).closed == 0
        assert len(hs.writes.tasks) == 1


def test_the_cap_leaves_the_rest_for_the_next_run(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 3)
        for person in ("p1", "p2", "p3"):
            evaluation(migrated_engine, person, "breached")
        config = settings(hs, warehouse_url, max_writes_per_run=2)

        first = run_writeback(config, now=NOW, engine=migrated_engine)
        assert len(first.created) == 2 and first.deferred == 1
        second = run_writeback(config, now=NOW, engine=migrated_engine)
        assert len(second.created) == 1 and second.deferred == 0
        assert len(hs.writes.tasks) == 3


def test_a_missing_write_scope_stops_the_run_naming_it(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached")
        evaluation(migrated_engine, "p2", "breached")
        config = settings(hs, warehouse_url)
        hs.writes.revoke_scope("crm.objects.contacts.write")

        summary = run_writeback(config, now=NOW, engine=migrated_engine)

        assert summary.error is not None and "crm.objects.contacts.write" in summary.error
        assert hs.writes.tasks == [] and writes(hs).count(("POST", TASKS)) == 1  # stopped
        rows = {r["person_id"]: r for r in ledger(migrated_engine)}
        assert rows["p1"]["status"] == "failed" and "MISSING_SCOPES" in rows["p1"]["last_error"]
        assert rows["p2"]["status"] == "pending"  # never asked: searched for, then created

        hs.writes.revoked.clear()  # the scope granted again
        run_writeback(config, now=LATER, engine=migrated_engine)
        assert len(hs.writes.tasks) == 2
        assert {r["status"] for r in ledger(migrated_engine)} == {"created"}


def test_a_task_met_before_its_outcome_was_known(
    migrated_engine: Engine, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached")
        evaluation(migrated_engine, "p2", "breached")
        config = settings(hs, warehouse_url, on_met="complete")
        # p1's creation is stored but its answer lost (500); p2's is refused before (503).
        hs.faults.push(503, {"status": "error"}, method="POST", path=f"{TASKS}$")
        hs.faults.push_transform(_status(500), method="POST", path=f"{TASKS}$")
        run_writeback(config, now=NOW, engine=migrated_engine)
        assert len(hs.writes.tasks) == 1
        assert {r["status"] for r in ledger(migrated_engine)} == {"pending"}
        with migrated_engine.begin() as conn:  # both touched meanwhile: met
            conn.execute(sa.update(sla_evaluations).values(status="met"))

        found = run_writeback(config, now=LATER, engine=migrated_engine)
        assert found.found == 1 and found.created == [] and len(hs.writes.tasks) == 1
        rows = {r["object_id"]: r for r in ledger(migrated_engine)}
        stored = hs.writes.tasks[0]["id"]
        assert rows[stored]["status"] == "created"  # found; the other is not created again
        assert rows[None]["status"] == "failed" and "met" in rows[None]["last_error"]

        closed = run_writeback(config, now=LATER, engine=migrated_engine)
        assert closed.closed == 1 and hs.writes.tasks[0]["properties"]["hs_task_status"] == (
            "COMPLETED"
        )
        assert len(hs.writes.tasks) == 1


def _status(code: int) -> Any:
    def change(response: Any) -> Any:
        response.status = code
        return response

    return change


def test_a_failed_search_keeps_the_row_pending_and_creates_nothing(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 1)
        evaluation(migrated_engine, "p1", "breached")
        config = settings(hs, warehouse_url)
        hs.faults.push_transform(_status(502), method="POST", path=f"{TASKS}$")  # stored
        run_writeback(config, now=NOW, engine=migrated_engine)
        body = {"status": "error", "message": "There was a problem with the request.",
                "category": "VALIDATION_ERROR"}  # fmt: skip
        hs.faults.push(400, body, method="POST", path=f"{TASKS}/search")

        refused = run_writeback(config, now=LATER, engine=migrated_engine)

        assert refused.error is None and refused.failed == 1 and len(hs.writes.tasks) == 1
        (row,) = ledger(migrated_engine)
        assert row["status"] == "pending" and row["last_error"].startswith("search: HTTP 400")
        assert (row["attempts"], writes(hs).count(("POST", TASKS))) == (2, 1)
        later = run_writeback(config, now=LATER + timedelta(minutes=10), engine=migrated_engine)
        assert later.found == 1 and len(hs.writes.tasks) == 1
        assert ledger(migrated_engine)[0]["object_id"] == hs.writes.tasks[0]["id"]


def test_a_merge_brings_no_second_task_and_the_survivors_touch_completes_it(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    """p1 had its task; identity then merged p1 into p2 (p1's lead moved, person_id_map
    records it) and p2's evaluation has p1's clock: still one task, completed when met."""
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached")
        config = settings(hs, warehouse_url, on_met="complete")
        assert len(run_writeback(config, now=NOW, engine=migrated_engine).created) == 1
        with migrated_engine.begin() as conn:
            moved = lead_people.update().where(lead_people.c.person_id == "p1")
            conn.execute(moved.values(person_id="p2"))
            conn.execute(people.delete().where(people.c.person_id == "p1"))  # its SLA rows go
            conn.execute(person_id_map.insert().values(
                old_person_id="p1", person_id="p2", mapped_at=NOW, run_id="merge"))  # fmt: skip
        evaluation(migrated_engine, "p2", "breached")  # the same clock start as p1's
        again = run_writeback(config, now=LATER, engine=migrated_engine)
        assert again.created == [] and len(hs.writes.tasks) == 1
        evaluation(migrated_engine, "p2", "met")
        run_writeback(config, now=LATER, engine=migrated_engine)
        assert [t["properties"]["hs_task_status"] for t in hs.writes.tasks] == ["COMPLETED"]
        assert [(r["person_id"], r["status"]) for r in ledger(migrated_engine)] == [
            ("p2", "closed")
        ]


def test_breaches_older_than_the_lookback_get_no_task(
    migrated_engine: Engine, warehouse_url: str
) -> None:
    with portal() as hs:
        seed_people(migrated_engine, hs, 2)
        evaluation(migrated_engine, "p1", "breached", due_in_minutes=-60 * 24 * 8)  # 8 days
        evaluation(migrated_engine, "p2", "breached", due_in_minutes=-60 * 24 * 6)  # 6 days
        summary = run_writeback(settings(hs, warehouse_url), now=NOW, engine=migrated_engine)
        assert [
            t["properties"]["hs_task_body"].count("first_touch:p2:") for t in hs.writes.tasks
        ] == [1]
        assert len(summary.created) == 1
        wider = settings(hs, warehouse_url, lookback_days=10)
        assert len(run_writeback(wider, now=NOW, engine=migrated_engine).created) == 1  # p1 now
        assert len(hs.writes.tasks) == 2
