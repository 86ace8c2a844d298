"""``leadflow forget``: erase one requester from the warehouse and keep them out of later syncs.

The work is ``leadflow.models.privacy.erasure`` (what counts as the requester's: see
``leadflow.models.privacy.requester``); this module is the command's arguments, the sync lock
and the output. It holds the warehouse's sync lock (``leadflow.pipeline.locks.sync_lock``)
so it never deletes under a running sync, waiting ``sync.lock_wait_minutes`` for one to end.
In one transaction it prints what matched and what it will remove, then removes it. The
output is counts only, never an email address or a phone number.

It calls no platform: the sources' ``${VAR}``s need not be set.

Exit codes: 0 done (or a dry run), 1 a database error (rolled back, reported without its
message, which may quote a row), 2 no salt or an unreadable request, 3 the match reaches
other email addresses and ``--include-linked`` was not given (nothing removed), 75
(EX_TEMPFAIL) another run held the sync lock for longer than ``sync.lock_wait_minutes``
(nothing removed; ``leadflow.cli.main`` prints the one line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from leadflow.cli.common import add_config_option, lock_notice
from leadflow.models.privacy.erasure import Erasure

LINKED_REFUSED = 3


def add_forget_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``forget`` on the ``leadflow`` command."""
    forget = subparsers.add_parser(
        "forget", help="erase a person everywhere and suppress them in later syncs"
    )
    add_config_option(forget)
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the requester's email address")
    who.add_argument("--person-id", help="the requester's people.person_id")
    forget.add_argument(
        "--dry-run", action="store_true", help="print what would be removed, remove nothing"
    )
    forget.add_argument(
        "--include-linked",
        action="store_true",
        help="also erase the other email addresses the match reaches (a person id holding "
        "several addresses, a lead with only a phone that other addresses share)",
    )
    return forget


def forget_person(
    warehouse_url: str,
    salt: str,
    *,
    email: str | None = None,
    person_id: str | None = None,
    region: str | None = None,
    include_linked: bool = False,
    dry_run: bool = False,
    show: Callable[[Erasure], None] | None = None,
) -> Erasure:
    """Migrate the warehouse, then plan (``show`` sees the plan) and, unless refused or a
    dry run, erase and suppress the requester: one transaction. The caller holds the lock."""
    from leadflow.models.privacy.erasure import apply_erasure, plan_erasure
    from leadflow.models.warehouse.engine import open_warehouse
    from leadflow.models.warehouse.migrate import upgrade

    # hide_parameters: a failing statement's message must not carry an email or a phone.
    with open_warehouse(warehouse_url, hide_parameters=True) as engine:
        upgrade(engine)
        with engine.begin() as conn:
            plan = plan_erasure(
                conn,
                salt=salt,
                email=email,
                person_id=person_id,
                region=region,
                include_linked=include_linked,
            )
            if show is not None:
                show(plan.erasure)
            if plan.erasure.refused or dry_run:
                return plan.erasure
            return apply_erasure(conn, plan, salt, datetime.now(UTC))


def run_forget(args: argparse.Namespace) -> int:
    """The ``forget`` command: print the plan, then what was removed (see the exit codes)."""
    from sqlalchemy.exc import SQLAlchemyError

    from leadflow.config.settings import load_settings
    from leadflow.pipeline.locks import sync_lock

    settings = load_settings(args.config, resolve_sources=False)
    salt = settings.privacy.salt()
    if salt is None:
        print(
            "leadflow: forget needs privacy.hash_salt in the configuration "
            "(the suppression list is stored as salted hashes)",
            file=sys.stderr,
        )
        return 2

    def show(plan: Erasure) -> None:
        print(f"erasure {plan.request_id}: matched (counts only)")
        print("\n".join(plan.plan_lines()))
        if plan.refused:
            return
        print("dry run, nothing removed:" if args.dry_run else "will remove:")
        print("\n".join(plan.lines()), flush=True)

    try:
        with sync_lock(settings, on_wait=lock_notice("forget", settings)):
            erasure = forget_person(
                settings.warehouse_url,
                salt,
                email=args.email,
                person_id=args.person_id,
                region=settings.default_region,
                include_linked=args.include_linked,
                dry_run=args.dry_run,
                show=show,
            )
    except ValueError as error:  # no email given; the message holds no personal data
        print(f"leadflow: forget: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:  # a driver's message may quote a row: name the kind only
        print(
            f"leadflow: forget failed ({type(error).__name__}); nothing was removed "
            "(the transaction was rolled back)",
            file=sys.stderr,
        )
        return 1
    if erasure.refused:
        print(
            f"leadflow: forget: the match reaches {erasure.other_addresses} other email "
            "address(es) besides the requester's; nothing was removed. Run again with "
            "--include-linked to erase those addresses too.",
            file=sys.stderr,
        )
        return LINKED_REFUSED
    if args.dry_run:
        return 0
    print(f"erasure {erasure.request_id}: done")
    print("\n".join(erasure.lines()))
    return 0
