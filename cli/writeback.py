"""``leadflow writeback [--dry-run] [--now TIME]``: SLA breaches to HubSpot tasks, and
(``writeback.properties``) stage and scores to contact properties.

Off unless ``writeback.enabled``: then it says so and writes nothing. Refused before
anything is written (exit 2): a bad configuration or ``--now``, ``writeback.sources`` naming
no hubspot source, or (dry run) a warehouse not migrated yet. ``--dry-run`` prints what
would be written and writes nothing, to HubSpot or to the warehouse. A real run takes the
warehouse's sync lock (75 when another run holds it) and migrates the warehouse first; a
write HubSpot refused is recorded and tried again next run (exit 0, counted); exit 1 when
the run stopped (credentials refused, daily limit, the portal unreachable). Nothing printed
names a person beyond their id: no email, no phone.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from leadflow.cli.common import add_config_option, lock_notice
from leadflow.cli.people import NOW_EXAMPLE, parse_now
from leadflow.config.settings import ConfigError, check_warehouse, load_settings


def add_writeback_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``writeback`` on the ``leadflow`` command."""
    command = subparsers.add_parser(
        "writeback", help="write SLA breaches (tasks) and scores (properties) to HubSpot"
    )
    add_config_option(command)
    command.add_argument(
        "--dry-run", action="store_true", help="print what would be written; write nothing"
    )
    command.add_argument(
        "--now", help=f"evaluate deadlines as of this ISO-8601 time ({NOW_EXAMPLE}); default: now"
    )
    return command


def format_writeback(summary: Any) -> str:
    """What was written (or, dry, would be): one line per write, then the counts."""
    lines = []
    plan = summary.plan
    if summary.dry_run and plan is not None:
        for task in plan.create:
            if task.search_only:
                lines.append(
                    f"would look for the task of {task.rule} person {task.person_id} (asked "
                    "for before, its outcome unknown; met since: not created again)"
                )
                continue
            state = "breached" if task.breached else "due soon"
            owner = task.owner_id or "no owner"
            lines.append(
                f"would create task: {task.rule} person {task.person_id} contact "
                f"{task.contact_id} owner {owner} due {task.due_at.isoformat()} ({state})"
                + (" after a search for an earlier attempt" if task.resume else "")
            )
        for close in plan.complete:
            lines.append(f"would complete task {close.object_id}: person {close.person_id} (met)")
        for write in plan.properties:
            values = ", ".join(f"{k}={v!r}" for k, v in write.properties.items())
            lines.append(
                f"would update contact {write.contact_id} (person {write.person_id}): {values}"
            )
    for rule, person_id, task_id, crm in summary.created:
        lines.append(f"created {crm} task {task_id}: {rule} person {person_id}")
    counts = summary.counts()
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v not in (None, {}, 0, False))
    head = "writeback (dry run, nothing written)" if summary.dry_run else "writeback"
    lines.append(f"{head}: {shown or 'nothing to write'}")
    return "\n".join(lines)


def run_writeback_command(args: argparse.Namespace) -> int:
    """The ``writeback`` command: see the module's exit codes."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    from leadflow.models.warehouse.engine import open_warehouse
    from leadflow.models.warehouse.migrate import upgrade
    from leadflow.pipeline.locks import sync_lock
    from leadflow.pipeline.writeback import (
        WritebackConfigError,
        run_writeback,
        writing_sources,
    )

    try:
        now = parse_now(args.now)
    except ValueError as error:
        print(f"leadflow: writeback: {error}", file=sys.stderr)
        return 2
    config = getattr(args, "config", None)
    settings = load_settings(config)
    if not settings.writeback.enabled:
        print("writeback is off (writeback.enabled is false): nothing written")
        return 0
    try:
        writing_sources(settings)
    except WritebackConfigError as error:
        raise ConfigError(f"{config or 'configuration'}: {error}") from None
    check_warehouse(settings.warehouse_url, config)
    try:
        if args.dry_run:
            with open_warehouse(settings.warehouse_url) as engine:
                if not sa.inspect(engine).has_table("writebacks"):
                    print(
                        "leadflow: writeback: the warehouse has no writebacks table yet: run "
                        "leadflow db upgrade first (a dry run changes nothing)",
                        file=sys.stderr,
                    )
                    return 2
                summary = run_writeback(settings, now=now, dry_run=True, engine=engine)
        else:
            with sync_lock(settings, on_wait=lock_notice("writeback", settings)):
                upgrade(settings.warehouse_url)
                summary = run_writeback(settings, now=now)
    except SQLAlchemyError as error:  # a driver's message may quote a row: the kind only
        print(
            f"leadflow: writeback failed ({type(error).__name__}); what was recorded "
            "stays: run it again",
            file=sys.stderr,
        )
        return 1
    print(format_writeback(summary))
    if summary.error:
        print(f"leadflow: writeback stopped: {summary.error}", file=sys.stderr)
        return 1
    return 0
