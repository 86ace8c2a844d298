"""One CRM's part of a writeback run: create, find and complete tasks, write properties.

Each step works on a ``CrmRun`` (the CRM's name, its writer and its share of the plan) and
adds to the run's ``Tally``. A writer is the CRM's connector side
(``leadflow.connectors.hubspot.writeback.HubSpotWriter``,
``leadflow.connectors.salesforce.writeback.SalesforceWriter``): the same calls, each CRM's
own requests. A refused write is recorded ``failed`` with its reason (status, category,
fields) and tried again next run; nothing here raises for a failed write except ``Stop``,
when the credentials or the daily allowance are gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    MissingScope,
    RateLimited,
    TransientError,
)
from leadflow.models.warehouse.engine import write_transaction
from leadflow.models.writeback.plan import (
    PROPERTIES,
    PROPERTY_NAMES,
    TASK,
    Plan,
    PropertyWrite,
    TaskWrite,
    batches,
    search_token,
)
from leadflow.models.writeback.store import Outcome, mark_pending, record

RECORD_EVERY = 25  # task outcomes recorded per transaction


class CrmWriter(Protocol):
    """What a run asks of a CRM (every CRM's writer answers these the same way)."""

    batch_size: int
    missing_reason: str  # a record a property update found gone
    refused: tuple[type[ConnectorError], ...]  # a write refused: recorded failed
    unknown: tuple[type[ConnectorError], ...]  # a creation whose outcome is unknown

    def create_task(self, fields: Mapping[str, str], record_id: str) -> str: ...
    def find_task(self, token: str, marker: str) -> str | None: ...
    def complete_task(self, task_id: str) -> None: ...
    def ensure_properties(self, names: Sequence[str]) -> list[str]: ...
    def update_contacts(self, inputs: Sequence[tuple[str, Mapping[str, str]]]) -> set[str]: ...
    def close(self) -> None: ...


@dataclass
class CrmRun:
    """One CRM's share of a run: its name (``hubspot``, ``salesforce``), writer and plan."""

    name: str
    writer: CrmWriter
    plan: Plan


@dataclass
class Tally:
    """What the run's steps did, over every CRM."""

    created: list[tuple[str, str, str, str]] = field(default_factory=list)  # rule, person, id, crm
    found: int = 0
    closed: int = 0
    contacts_updated: int = 0
    properties_created: list[str] = field(default_factory=list)
    failed: int = 0
    error: str | None = None


def task_fields(crm: str, task: TaskWrite) -> dict[str, str]:
    """The task as ``crm`` stores it."""
    return task.salesforce_fields() if crm == "salesforce" else task.properties()


class Stop(Exception):
    """The credentials or the daily allowance are gone: no further write this run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def write_tasks(engine: Engine, crm: CrmRun, summary: Tally, now: datetime) -> None:
    """Create the plan's tasks in ``crm``: pending rows committed first, outcomes recorded
    every ``RECORD_EVERY``; stops the run (``Stop``) when the credentials or allowance go."""
    tasks = crm.plan.create
    fresh = [(t.key, t.person_id) for t in tasks if not t.resume]
    with write_transaction(engine) as conn:  # committed before any task is asked for
        mark_pending(conn, fresh, now, crm.name)
    for chunk in batches(tasks, RECORD_EVERY):
        outcomes: list[Outcome] = []
        try:
            for task in chunk:
                outcomes.append(_write_task(crm, task, summary))
                if summary.error is not None:
                    break
        finally:  # a crash before this leaves the rows pending: found by search next run
            with write_transaction(engine) as conn:
                record(conn, outcomes, now, crm.name)
        if summary.error is not None:
            raise Stop(summary.error)


def _write_task(crm: CrmRun, task: TaskWrite, summary: Tally) -> Outcome:
    def outcome(status: str, object_id: str | None = None, error: str | None = None) -> Outcome:
        return Outcome(TASK, task.key, task.person_id, status, object_id, error, failed=bool(error))

    if task.resume:  # asked for before, outcome unknown: never created again unless not found
        try:
            found = crm.writer.find_task(search_token(task.key), f"[leadflow:{task.key}]")
        except ConnectorError as error:  # still pending: searched for again next run
            summary.failed += 1
            if not isinstance(error, (*crm.writer.refused, TransientError)):
                summary.error = reason(error)  # credentials, daily limit: stop
            return outcome("pending", error=f"search: {reason(error)}")
        if found is not None:
            summary.found += 1
            return outcome("created", found)
        if task.search_only:  # met meanwhile, and never stored: nothing to write now
            return outcome("failed", error="not created: the evaluation was met meanwhile")
    try:
        task_id = crm.writer.create_task(task_fields(crm.name, task), task.contact_id)
    except (*crm.writer.unknown, TransientError) as error:  # maybe stored: search first
        summary.failed += 1
        return outcome("pending", error=reason(error))
    except crm.writer.refused as error:
        summary.failed += 1
        return outcome("failed", error=reason(error))
    except ConnectorError as error:  # refused before anything was stored; stop the run
        summary.failed += 1
        summary.error = reason(error)
        return outcome("failed", error=summary.error)
    summary.created.append((task.rule, task.person_id, task_id, crm.name))
    return outcome("created", task_id)


def close_tasks(engine: Engine, crm: CrmRun, summary: Tally, now: datetime) -> None:
    """Complete the tasks whose evaluation became met (``on_met: complete``)."""
    closes = crm.plan.complete
    for chunk in batches(closes, RECORD_EVERY):
        outcomes = []
        for close in chunk:
            try:
                crm.writer.complete_task(close.object_id)
            except ConnectorError as error:
                summary.failed += 1
                outcomes.append(Outcome(TASK, close.key, close.person_id, "created",
                                        close.object_id, reason(error), failed=True))  # fmt: skip
                continue
            summary.closed += 1
            outcomes.append(Outcome(TASK, close.key, close.person_id, "closed", close.object_id))
        with write_transaction(engine) as conn:
            record(conn, outcomes, now, crm.name)


def write_properties(engine: Engine, crm: CrmRun, summary: Tally, now: datetime) -> None:
    """Write the plan's property values to the CRM's records, a batch at a time."""
    writes = crm.plan.properties
    if not writes:
        return
    try:
        summary.properties_created += crm.writer.ensure_properties(PROPERTY_NAMES)
    except ConnectorError as error:
        _record_failed(engine, crm, writes, f"creating the properties: {reason(error)}", now)
        summary.failed += len(writes)
        return
    for batch in batches(writes, crm.writer.batch_size):
        try:
            missing = crm.writer.update_contacts([(w.contact_id, w.properties) for w in batch])
        except ConnectorError as error:
            _record_failed(engine, crm, batch, reason(error), now)
            summary.failed += len(batch)
            continue
        outcomes = [
            Outcome(PROPERTIES, w.key, w.person_id, "failed", w.contact_id,
                    crm.writer.missing_reason, failed=True)
            if w.contact_id in missing
            else Outcome(PROPERTIES, w.key, w.person_id, "created", w.contact_id,
                         payload_hash=w.payload_hash)
            for w in batch
        ]  # fmt: skip
        summary.contacts_updated += len(batch) - len(missing & {w.contact_id for w in batch})
        summary.failed += sum(o.failed for o in outcomes)
        with write_transaction(engine) as conn:
            record(conn, outcomes, now, crm.name)


def _record_failed(
    engine: Engine, crm: CrmRun, writes: Sequence[PropertyWrite], why: str, now: datetime
) -> None:
    outcomes = [
        Outcome(PROPERTIES, w.key, w.person_id, "failed", w.contact_id, why, failed=True)
        for w in writes
    ]
    with write_transaction(engine) as conn:
        record(conn, outcomes, now, crm.name)


def reason(error: Exception) -> str:
    """Why a write failed, safe to store: status, category and fields, never a value."""
    if isinstance(getattr(error, "reason", None), str):  # a refusal or an unknown outcome
        return str(error.reason)  # type: ignore[attr-defined]
    if isinstance(error, RateLimited):
        return "rate limited (HTTP 429) after the transport's retries"
    if isinstance(error, MissingScope):
        return f"the token lacks the {error.scope or 'write'} scope (HTTP 403 MISSING_SCOPES)"
    if isinstance(error, AuthError):
        return f"credentials refused or missing a scope ({type(error).__name__}); re-authorize"
    if isinstance(error, TransientError):
        return "server or network failure after the transport's retries: outcome unknown"
    return f"{type(error).__name__}: refused by the CRM"
