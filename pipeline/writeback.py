"""One writeback run: plan from the warehouse, write to HubSpot, record every outcome.

Order of a run: read what is wanted (``models.writeback.store``), subtract the ledger
(``models.writeback.plan``), cap it at ``writeback.max_writes_per_run``; then commit every
task about to be created as ``pending`` in one statement, ask HubSpot, and record the
outcomes a chunk at a time. A row still ``pending`` from an earlier run (a crash after the
request, or a 5xx whose outcome is unknown) is first looked for in HubSpot by its key, and
only created when it is not found. A refused write is recorded ``failed`` with its reason
(status, category, fields) and tried again next run; nothing here raises for a failed write
(the caller's sync never fails for it): the summary carries the error instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from leadflow.config.settings import Settings
from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    MissingScope,
    RateLimited,
    TransientError,
)
from leadflow.connectors.hubspot.client import portal_of
from leadflow.connectors.hubspot.connector import HubSpotConfig
from leadflow.connectors.hubspot.writeback import (
    BATCH_SIZE,
    HubSpotWriter,
    OutcomeUnknown,
    WriteRefused,
)
from leadflow.models.warehouse.engine import open_warehouse, write_transaction
from leadflow.models.writeback.plan import (
    PROPERTIES,
    PROPERTY_NAMES,
    TASK,
    Plan,
    PropertyWrite,
    TaskWrite,
    batches,
    candidate_keys,
    capped,
    plan_properties,
    plan_tasks,
    search_token,
)
from leadflow.models.writeback.store import (
    Outcome,
    mark_pending,
    read_candidates,
    read_former_ids,
    read_ledger,
    read_people,
    record,
)

log = logging.getLogger(__name__)
RECORD_EVERY = 25  # task outcomes recorded per transaction


class WritebackConfigError(ValueError):
    """``writeback.source`` names no hubspot source (one line, no value)."""


@dataclass
class WritebackSummary:
    """What a run wrote (or, dry, would write): counts and CRM ids, no personal data."""

    enabled: bool = True
    dry_run: bool = False
    plan: Plan | None = None
    created: list[tuple[str, str, str]] = field(default_factory=list)  # rule, person, task id
    found: int = 0
    closed: int = 0
    contacts_updated: int = 0
    properties_created: list[str] = field(default_factory=list)
    failed: int = 0
    deferred: int = 0  # left for a later run by the cap
    error: str | None = None

    def counts(self) -> dict[str, Any]:
        """The summary as the flow and CLI print it."""
        if not self.enabled:
            return {"enabled": False}
        plan = self.plan or Plan()
        return {
            "dry_run": self.dry_run,
            "tasks_planned": len(plan.create),
            "tasks_created": len(self.created),
            "tasks_found_after_crash": self.found,
            "tasks_completed": self.closed,
            "contacts_planned": len(plan.properties),
            "contacts_updated": self.contacts_updated,
            "failed": self.failed,
            "deferred_by_cap": self.deferred,
            "skipped": dict(plan.skipped),
            "error": self.error,
        }


def hubspot_source(settings: Settings) -> HubSpotConfig:
    """The source whose token writes (``writeback.source``), which must be a hubspot one."""
    name = settings.writeback.source
    source = settings.sources.get(name)
    if not isinstance(source, HubSpotConfig):
        raise WritebackConfigError(
            f"writeback.source: no hubspot source named {name!r} under sources: "
            "(its token writes the tasks and properties)"
        )
    return source


def run_writeback(
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    engine: Engine | None = None,
    writer: Callable[[HubSpotConfig], HubSpotWriter] = HubSpotWriter,
) -> WritebackSummary:
    """Plan and (unless ``dry_run``) write; nothing at all when writeback is disabled."""
    wb = settings.writeback
    if not wb.enabled:
        return WritebackSummary(enabled=False, dry_run=dry_run)
    source = hubspot_source(settings)
    now = now or datetime.now(UTC)
    if engine is None:
        with open_warehouse(settings.warehouse_url) as opened:
            return run_writeback(settings, now=now, dry_run=dry_run, engine=opened, writer=writer)
    summary = WritebackSummary(dry_run=dry_run)
    try:
        portal = portal_of(source)
    except ConnectorError as error:
        summary.error = _reason(error)
        return summary
    summary.plan, summary.deferred = _plan(settings, engine, portal, now)
    if dry_run:
        return summary
    client = writer(source)
    try:
        _write_tasks(engine, client, summary, now)
        _close_tasks(engine, client, summary, now)
        _write_properties(engine, client, summary, now)
    except _Stop as stop:
        summary.error = stop.reason
    finally:
        client.close()
    log.info("writeback: %s", summary.counts())
    return summary


def _plan(settings: Settings, engine: Engine, portal: str, now: datetime) -> tuple[Plan, int]:
    wb = settings.writeback
    with engine.connect() as conn:
        lookback = timedelta(days=wb.lookback_days)
        candidates = read_candidates(conn, portal, wb.rules, now, wb.before_minutes, lookback)
        former = read_former_ids(conn, [c.person_id for c in candidates])
        ledger = read_ledger(conn, TASK, candidate_keys(candidates, former))
        plan = plan_tasks(
            candidates, ledger, now, before_minutes=wb.before_minutes, on_met=wb.on_met,
            rules=wb.rules, former=former,
        )  # fmt: skip
        if wb.properties:
            people = read_people(conn, portal)
            done = read_ledger(conn, PROPERTIES, [p.person_id for p in people])
            plan.properties = plan_properties(people, done)
    return capped(plan, wb.max_writes_per_run)


class _Stop(Exception):
    """The credentials or the daily allowance are gone: no further write this run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _write_tasks(
    engine: Engine, client: HubSpotWriter, summary: WritebackSummary, now: datetime
) -> None:
    tasks = summary.plan.create if summary.plan else []
    fresh = [(t.key, t.person_id) for t in tasks if not t.resume]
    with write_transaction(engine) as conn:  # committed before any task is asked for
        mark_pending(conn, fresh, now)
    for chunk in batches(tasks, RECORD_EVERY):
        outcomes: list[Outcome] = []
        try:
            for task in chunk:
                outcomes.append(_write_task(client, task, summary))
                if summary.error is not None:
                    break
        finally:  # a crash before this leaves the rows pending: found by search next run
            with write_transaction(engine) as conn:
                record(conn, outcomes, now)
        if summary.error is not None:
            raise _Stop(summary.error)


def _write_task(client: HubSpotWriter, task: TaskWrite, summary: WritebackSummary) -> Outcome:
    def outcome(status: str, object_id: str | None = None, error: str | None = None) -> Outcome:
        return Outcome(TASK, task.key, task.person_id, status, object_id, error, failed=bool(error))

    if task.resume:  # asked for before, outcome unknown: never created again unless not found
        try:
            found = client.find_task(search_token(task.key), f"[leadflow:{task.key}]")
        except ConnectorError as error:  # still pending: searched for again next run
            summary.failed += 1
            if not isinstance(error, WriteRefused | TransientError):
                summary.error = _reason(error)  # credentials, daily limit: stop
            return outcome("pending", error=f"search: {_reason(error)}")
        if found is not None:
            summary.found += 1
            return outcome("created", found)
        if task.search_only:  # met meanwhile, and never stored: nothing to write now
            return outcome("failed", error="not created: the evaluation was met meanwhile")
    try:
        task_id = client.create_task(task.properties(), task.contact_id)
    except (OutcomeUnknown, TransientError) as error:  # maybe stored: search before a retry
        summary.failed += 1
        return outcome("pending", error=_reason(error))
    except WriteRefused as error:
        summary.failed += 1
        return outcome("failed", error=error.reason)
    except ConnectorError as error:  # refused before anything was stored; stop the run
        summary.failed += 1
        summary.error = _reason(error)
        return outcome("failed", error=summary.error)
    summary.created.append((task.rule, task.person_id, task_id))
    return outcome("created", task_id)


def _close_tasks(
    engine: Engine, client: HubSpotWriter, summary: WritebackSummary, now: datetime
) -> None:
    closes = summary.plan.complete if summary.plan else []
    for chunk in batches(closes, RECORD_EVERY):
        outcomes = []
        for close in chunk:
            try:
                client.complete_task(close.object_id)
            except ConnectorError as error:
                summary.failed += 1
                outcomes.append(Outcome(TASK, close.key, close.person_id, "created",
                                        close.object_id, _reason(error), failed=True))  # fmt: skip
                continue
            summary.closed += 1
            outcomes.append(Outcome(TASK, close.key, close.person_id, "closed", close.object_id))
        with write_transaction(engine) as conn:
            record(conn, outcomes, now)


def _write_properties(
    engine: Engine, client: HubSpotWriter, summary: WritebackSummary, now: datetime
) -> None:
    writes = summary.plan.properties if summary.plan else []
    if not writes:
        return
    try:
        summary.properties_created = client.ensure_properties(PROPERTY_NAMES)
    except ConnectorError as error:
        _record_failed(engine, writes, f"creating the properties: {_reason(error)}", now)
        summary.failed += len(writes)
        return
    for batch in batches(writes, BATCH_SIZE):
        try:
            missing = client.update_contacts([(w.contact_id, w.properties) for w in batch])
        except ConnectorError as error:
            _record_failed(engine, batch, _reason(error), now)
            summary.failed += len(batch)
            continue
        outcomes = [
            Outcome(PROPERTIES, w.key, w.person_id, "failed", w.contact_id,
                    "HTTP 207 OBJECT_NOT_FOUND: the contact", failed=True)
            if w.contact_id in missing
            else Outcome(PROPERTIES, w.key, w.person_id, "created", w.contact_id,
                         payload_hash=w.payload_hash)
            for w in batch
        ]  # fmt: skip
        summary.contacts_updated += len(batch) - len(missing & {w.contact_id for w in batch})
        summary.failed += sum(o.failed for o in outcomes)
        with write_transaction(engine) as conn:
            record(conn, outcomes, now)


def _record_failed(
    engine: Engine, writes: Sequence[PropertyWrite], reason: str, now: datetime
) -> None:
    outcomes = [
        Outcome(PROPERTIES, w.key, w.person_id, "failed", w.contact_id, reason, failed=True)
        for w in writes
    ]
    with write_transaction(engine) as conn:
        record(conn, outcomes, now)


def _reason(error: Exception) -> str:
    """Why a write failed, safe to store: status, category and fields, never a value."""
    if isinstance(error, WriteRefused | OutcomeUnknown):
        return error.reason
    if isinstance(error, RateLimited):
        return "rate limited (HTTP 429) after the transport's retries"
    if isinstance(error, MissingScope):
        return f"the token lacks the {error.scope or 'write'} scope (HTTP 403 MISSING_SCOPES)"
    if isinstance(error, AuthError):
        return f"credentials refused or missing a scope ({type(error).__name__}); re-authorize"
    if isinstance(error, TransientError):
        return "server or network failure after the transport's retries: outcome unknown"
    return f"{type(error).__name__}: refused by HubSpot"


def writeback_markdown(summary: WritebackSummary) -> str:
    """The run's writes for a Prefect markdown artifact: counts and HubSpot task ids, by
    rule and person id (no email, no phone)."""
    counts = summary.counts()
    lines = ["# Writeback to HubSpot", ""]
    lines += [f"- {name.replace('_', ' ')}: {value}" for name, value in counts.items()
              if value not in (None, {})]  # fmt: skip
    if summary.created:
        lines += ["", "| rule | person | HubSpot task id |", "| --- | --- | --- |"]
        lines += [f"| {rule} | {person} | {task_id} |" for rule, person, task_id in summary.created]
    return "\n".join(lines) + "\n"
