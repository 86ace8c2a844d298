"""``leadflow people rebuild [--now TIME]``: rebuild people from scratch (issue 17).

The work is ``leadflow.pipeline.rebuild.rebuild_people`` (identity over every lead, everyone
classified, every SLA qualification evaluated, under the warehouse's sync lock); this module
is the command's arguments and output. The output is counts only, never an email address or
a phone number.

It calls no platform: the sources' ``${VAR}``s need not be set.

Exit codes, as ``leadflow forget``'s: 0 done, 1 a database error (reported without its
message, which may quote a row), 2 a bad configuration or ``--now``, 75 (EX_TEMPFAIL)
another run held the sync lock for longer than ``sync.lock_wait_minutes`` (nothing
written; ``leadflow.cli.main`` prints the one line).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leadflow.cli.common import add_config_option, lock_notice
from leadflow.models.records.masking import mask_personal

NOW_EXAMPLE = "2026-11-20T09:00:00Z"


def add_people_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``people rebuild`` on the ``leadflow`` command."""
    people = subparsers.add_parser("people", help="people: identity and stages")
    actions = people.add_subparsers(dest="people_command", required=True)
    rebuild = actions.add_parser(
        "rebuild",
        help="resolve and classify everyone and evaluate every SLA qualification from scratch",
    )
    add_config_option(rebuild)
    rebuild.add_argument(
        "--now", help=f"classify as of this ISO-8601 time with a UTC offset ({NOW_EXAMPLE}); "
        "default: now"
    )  # fmt: skip
    return people


def parse_now(value: str | None) -> datetime:
    """``--now``: an ISO-8601 date-time with a UTC offset (``Z`` too); None: the current
    time. Raises ValueError saying what is expected, without echoing the value."""
    if value is None:
        return datetime.now(UTC)
    try:
        found = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--now: not an ISO-8601 date-time (e.g. {NOW_EXAMPLE})") from None
    if found.utcoffset() is None:
        raise ValueError(f"--now: needs a UTC offset (e.g. {NOW_EXAMPLE})")
    return found


def format_rebuild(summary: Mapping[str, Any], run_id: str, now: datetime) -> str:
    """The rebuild's counts as a few lines (no personal data)."""
    stages = ", ".join(f"{stage} {count}" for stage, count in summary["stages"].items())
    periods = ", ".join(summary["periods"]) or "-"
    lines = [
        f"people rebuilt (run {run_id}, as of {now.isoformat(timespec='seconds')})",
        f"people: {summary['people']}" + (f" ({stages})" if stages else ""),
        f"merged {summary['merged']}, classified {summary['classified']}, "
        f"new stage transitions {summary['transitions']}, qualified {summary['qualified']}",
        f"SLA ({periods}): {summary['evaluations']} evaluations: met {summary['met']}, "
        f"breached {summary['breached']}, pending {summary['pending']}; "
        f"new breaches {summary['new_breaches']}, revised to met {summary['revised']}",
    ]
    return "\n".join(mask_personal(line) for line in lines)


def run_people(args: argparse.Namespace) -> int:
    """The ``people`` command (its one action, ``rebuild``): see the exit codes."""
    from sqlalchemy.exc import SQLAlchemyError

    from leadflow.config.settings import check_warehouse, load_settings
    from leadflow.pipeline.rebuild import rebuild_people

    try:
        now = parse_now(args.now)
    except ValueError as error:
        print(f"leadflow: people rebuild: {error}", file=sys.stderr)
        return 2
    config = getattr(args, "config", None)
    settings = load_settings(config, resolve_sources=False)
    check_warehouse(settings.warehouse_url, config)  # one line and exit 2, before any lock
    run_id = str(uuid.uuid4())
    waiting = lock_notice("people rebuild", settings)
    try:
        summary = rebuild_people(settings, now=now, run_id=run_id, on_wait=waiting)
    except SQLAlchemyError as error:  # a driver's message may quote a row: name the kind only
        print(
            f"leadflow: people rebuild failed ({type(error).__name__}); what was committed "
            "before it stays: run it again to finish",
            file=sys.stderr,
        )
        return 1
    print(format_rebuild(summary, run_id, now))
    return 0
