"""One writeback run: plan from the warehouse, write to each CRM, record every outcome.

The CRMs written to are ``writeback.sources`` (hubspot and salesforce sources; by default
every one configured). Order of a run: read what is wanted from each CRM's side of the
warehouse (``models.writeback.store``: evaluations of people who have a lead there), give
each qualification's task to one CRM (the one its ledger row names, else the CRM of the
evaluation's rep, else the first writing source holding a lead of the person), subtract the
ledger (``models.writeback.plan``), cap each CRM's at ``writeback.max_writes_per_run``; then
per CRM commit every task about to be created as ``pending`` in one statement, ask the CRM,
and record the outcomes a chunk at a time (``pipeline.writeback_steps``). A row still
``pending`` from an earlier run (a crash after the request, or a 5xx whose outcome is
unknown) is first looked for in its CRM by its key, and only created when not found. A
refused write is recorded ``failed`` with its reason and tried again next run; nothing here
raises for a failed write (the caller's sync never fails for it): the summary carries it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from leadflow.config.settings import Settings
from leadflow.connectors.base import SourceConfig
from leadflow.connectors.errors import ConnectorError
from leadflow.connectors.hubspot.client import portal_of
from leadflow.connectors.hubspot.writeback import HubSpotWriter
from leadflow.models.warehouse.engine import open_warehouse
from leadflow.models.writeback.plan import (
    PROPERTIES,
    TASK,
    Candidate,
    Plan,
    candidate_keys,
    capped,
    plan_properties,
    plan_tasks,
    task_key,
)
from leadflow.models.writeback.store import (
    read_candidates,
    read_former_ids,
    read_ledger,
    read_people,
)
from leadflow.pipeline.writeback_steps import (
    CrmRun,
    CrmWriter,
    Stop,
    Tally,
    close_tasks,
    reason,
    write_properties,
    write_tasks,
)

log = logging.getLogger(__name__)
CRM_TYPES = ("hubspot", "salesforce")
WriterFactory = Callable[[Any], CrmWriter]


class WritebackConfigError(ValueError):
    """``writeback.sources`` names no CRM source (one line, no value)."""


@dataclass
class WritebackSummary(Tally):
    """What a run wrote (or, dry, would write): counts and CRM ids, no personal data."""

    enabled: bool = True
    dry_run: bool = False
    plan: Plan | None = None
    deferred: int = 0  # left for a later run by the cap
    crms: list[str] = field(default_factory=list)

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


@dataclass(frozen=True)
class WritingSource:
    """A CRM source that writes: its configured name, type (``crm``), settings, account."""

    name: str
    crm: str
    config: SourceConfig


def writing_sources(settings: Settings) -> list[WritingSource]:
    """The sources ``writeback`` writes to, in order: ``sources`` (or the older ``source``),
    else every hubspot and salesforce source configured."""
    wb = settings.writeback
    names = list(wb.sources) or ([wb.source] if wb.source else [])
    if not names:
        names = [n for n, s in settings.sources.items() if getattr(s, "type", None) in CRM_TYPES]
        if not names:
            raise WritebackConfigError(
                "writeback: no hubspot or salesforce source under sources: to write to"
            )
    found = []
    for name in names:
        source = settings.sources.get(name)
        crm = getattr(source, "type", None)
        if source is None or crm not in CRM_TYPES:
            raise WritebackConfigError(
                f"writeback.sources: no hubspot or salesforce source named {name!r} under "
                "sources: (its credentials write the tasks and properties)"
            )
        found.append(WritingSource(name, str(crm), source))
    return found


def account_of(source: WritingSource) -> str:
    """The CRM account the source's leads are stored under: the portal or org id."""
    if source.crm == "salesforce":
        from leadflow.connectors.salesforce.client import org_of

        return org_of(source.config)  # type: ignore[arg-type]
    return portal_of(source.config)  # type: ignore[arg-type]


def default_writer(source: WritingSource) -> CrmWriter:
    if source.crm == "salesforce":
        from leadflow.connectors.salesforce.writeback import SalesforceWriter

        return SalesforceWriter(source.config)  # type: ignore[arg-type]
    return HubSpotWriter(source.config)  # type: ignore[arg-type]


def run_writeback(
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    engine: Engine | None = None,
    writer: WriterFactory | None = None,
) -> WritebackSummary:
    """Plan and (unless ``dry_run``) write; nothing at all when writeback is disabled.
    ``writer`` makes the HubSpot writer from its source's settings (tests)."""
    if not settings.writeback.enabled:
        return WritebackSummary(enabled=False, dry_run=dry_run)
    sources = writing_sources(settings)
    now = now or datetime.now(UTC)
    if engine is None:
        with open_warehouse(settings.warehouse_url) as opened:
            return run_writeback(settings, now=now, dry_run=dry_run, engine=opened, writer=writer)
    summary = WritebackSummary(dry_run=dry_run, crms=[s.crm for s in sources])
    try:
        accounts = [account_of(source) for source in sources]
    except ConnectorError as error:
        summary.error = reason(error)
        return summary
    plans = _plan(settings, engine, sources, accounts, now, summary)
    if dry_run:
        return summary
    for source, plan in zip(sources, plans, strict=True):
        if plan.writes and summary.error is None:
            _write(engine, source, plan, summary, now, writer)
    log.info("writeback: %s", summary.counts())
    return summary


def _write(
    engine: Engine,
    source: WritingSource,
    plan: Plan,
    summary: WritebackSummary,
    now: datetime,
    writer: WriterFactory | None,
) -> None:
    make = writer if writer is not None and source.crm == "hubspot" else None
    client = make(source.config) if make else default_writer(source)
    crm = CrmRun(source.crm, client, plan)
    try:
        write_tasks(engine, crm, summary, now)
        close_tasks(engine, crm, summary, now)
        write_properties(engine, crm, summary, now)
    except Stop as stop:
        summary.error = stop.reason
    finally:
        client.close()


def _plan(
    settings: Settings,
    engine: Engine,
    sources: Sequence[WritingSource],
    accounts: Sequence[str],
    now: datetime,
    summary: WritebackSummary,
) -> list[Plan]:
    """Each source's plan, every qualification given to one CRM, capped as a whole; the
    summary gets the plans together and how many writes the cap left for later."""
    wb = settings.writeback
    lookback = timedelta(days=wb.lookback_days)
    with engine.connect() as conn:
        found = [
            read_candidates(conn, account, wb.rules, now, wb.before_minutes, lookback, s.crm)
            for s, account in zip(sources, accounts, strict=True)
        ]
        people = {c.person_id for group in found for c in group}
        former = read_former_ids(conn, people)
        everyone = [c for group in found for c in group]
        ledger = read_ledger(conn, TASK, candidate_keys(everyone, former))
        owners = assign_crm(found, [s.crm for s in sources], ledger)
        plans = []
        for index, (source, account) in enumerate(zip(sources, accounts, strict=True)):
            mine = [c for c in found[index] if owners.get(_key(c)) == index]
            plan = plan_tasks(
                mine, ledger, now, before_minutes=wb.before_minutes, on_met=wb.on_met,
                rules=wb.rules, former=former,
            )  # fmt: skip
            if wb.properties:
                values = read_people(conn, account, source.crm)
                done = read_ledger(conn, PROPERTIES, [p.person_id for p in values], source.crm)
                plan.properties = plan_properties(values, done)
            plans.append(plan)
    return _capped(plans, wb.max_writes_per_run, summary)


def _key(candidate: Candidate) -> tuple[str, str, datetime]:
    return candidate.rule, candidate.person_id, candidate.clock_start


def assign_crm(
    found: Sequence[Sequence[Candidate]], crms: Sequence[str], ledger: Mapping[str, Any]
) -> dict[tuple[str, str, datetime], int]:
    """Which writing source (its index) each qualification's task belongs to: the CRM its
    ledger row is in, else the CRM of the evaluation's rep, else the first source where
    the person has a lead (a person with none anywhere stays with the first source, to be
    counted as ``no_contact``)."""
    options: dict[tuple[str, str, datetime], list[tuple[int, Candidate]]] = {}
    for index, group in enumerate(found):
        for candidate in group:
            options.setdefault(_key(candidate), []).append((index, candidate))
    owners = {}
    for key, held in options.items():
        row = ledger.get(task_key(*key))
        reachable = [(i, c) for i, c in held if c.contact_id is not None]
        pick = [i for i, _ in held if row is not None and crms[i] == row.crm]
        pick += [i for i, c in reachable if c.rep_source == crms[i]]
        pick += [i for i, _ in reachable] + [i for i, _ in held]
        owners[key] = pick[0]
    return owners


def _capped(plans: list[Plan], limit: int, summary: WritebackSummary) -> list[Plan]:
    """Each CRM's plan within ``limit`` writes (each CRM has its own allowance and pace)."""
    kept, deferred = [], 0
    together = Plan()
    for plan in plans:
        mine, more = capped(plan, limit)
        deferred += more
        kept.append(mine)
        together.create += mine.create
        together.complete += mine.complete
        together.properties += mine.properties
        for name, count in mine.skipped.items():
            together.skipped[name] = together.skipped.get(name, 0) + count
    summary.plan, summary.deferred = together, deferred
    return kept


def writeback_markdown(summary: WritebackSummary) -> str:
    """The run's writes for a Prefect markdown artifact: counts and the CRMs' task ids, by
    rule and person id (no email, no phone)."""
    counts = summary.counts()
    lines = ["# Writeback to the CRM", ""]
    lines += [f"- {name.replace('_', ' ')}: {value}" for name, value in counts.items()
              if value not in (None, {})]  # fmt: skip
    if summary.created:
        lines += ["", "| rule | person | CRM | task id |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {rule} | {person} | {crm} | {task_id} |"
            for rule, person, task_id, crm in summary.created
        ]
    return "\n".join(lines) + "\n"
