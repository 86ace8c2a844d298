"""``leadflow people rebuild [--now TIME]``: rebuild people from scratch (issue 17).

The work is ``leadflow.pipeline.rebuild.rebuild_people`` (identity over every lead, everyone
classified, every SLA qualification evaluated, under the warehouse's sync lock); this module
is the command's arguments and output. The output is counts only, never an email address or
a phone number.

Exit codes, as ``leadflow forget``'s: 0 done, 1 a database error (reported without its
message, which may quote a row), 2 a bad configuration or ``--now``, 4 another run held the
sync lock for longer than ``sync.lock_wait_minutes`` (nothing written).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leadflow.cli.forget import LOCKED
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
    # Also accepted after the command; default SUPPRESS keeps a --config given before it.
    rebuild.add_argument(
        "--config", default=argparse.SUPPRESS, help="configuration file (as leadflow --config)"
    )
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
    from leadflow.models.warehouse.run_lock import RunLocked
    from leadflow.pipeline.rebuild import rebuild_people

    try:
        now = parse_now(args.now)
    except ValueError as error:
        print(f"leadflow: people rebuild: {error}", file=sys.stderr)
        return 2
    config = getattr(args, "config", None)
    settings = load_settings(config)
    check_warehouse(settings.warehouse_url, config)  # one line and exit 2, before any lock
    wait = settings.sync.lock_wait_minutes

    def waiting() -> None:
        print(
            f"people rebuild: a sync of this warehouse is running: waiting for it to finish "
            f"(up to {wait:g} min, sync.lock_wait_minutes)",
            flush=True,
        )

    run_id = str(uuid.uuid4())
    try:
        summary = rebuild_people(settings, now=now, run_id=run_id, on_wait=waiting)
    except RunLocked as error:
        print(f"leadflow: people rebuild: {error}", file=sys.stderr)
        return LOCKED
    except SQLAlchemyError as error:  # a driver's message may quote a row: name the kind only
        print(
            f"leadflow: people rebuild failed ({type(error).__name__}); what was committed "
            "before it stays: run it again to finish",
            file=sys.stderr,
        )
        return 1
    print(format_rebuild(summary, run_id, now))
    return 0
