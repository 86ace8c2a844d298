"""``leadflow forget``: erase one person from the warehouse and keep them out of later syncs.

The work is ``leadflow.models.privacy.erasure.forget`` in one transaction; this module is the
command's arguments and output. The output is counts only, never the person's data.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from leadflow.models.privacy.erasure import Erasure


def add_forget_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``forget`` on the ``leadflow`` command."""
    forget = subparsers.add_parser(
        "forget", help="erase a person everywhere and suppress them in later syncs"
    )
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the person's email address (any of their leads')")
    who.add_argument("--person-id", help="the person's people.person_id")
    return forget


def forget_person(
    warehouse_url: str,
    salt: str,
    *,
    email: str | None = None,
    person_id: str | None = None,
    region: str | None = None,
) -> Erasure:
    """Migrate the warehouse, then erase and suppress the person in one transaction."""
    from leadflow.models.privacy.erasure import forget
    from leadflow.models.warehouse.engine import open_warehouse
    from leadflow.models.warehouse.migrate import upgrade

    with open_warehouse(warehouse_url) as engine:
        upgrade(engine)
        with engine.begin() as conn:
            return forget(
                conn,
                salt=salt,
                now=datetime.now(UTC),
                email=email,
                person_id=person_id,
                region=region,
            )


def run_forget(args: argparse.Namespace) -> int:
    """The ``forget`` command: print what was removed; exit 2 without a configured salt."""
    from leadflow.config.settings import load_settings

    settings = load_settings(args.config)
    salt = settings.privacy.salt()
    if salt is None:
        print(
            "leadflow: forget needs privacy.hash_salt in the configuration "
            "(the suppression list is stored as salted hashes)",
            file=sys.stderr,
        )
        return 2
    try:
        erasure = forget_person(
            settings.warehouse_url,
            salt,
            email=args.email,
            person_id=args.person_id,
            region=settings.default_region,
        )
    except ValueError as error:  # an unreadable email address
        print(f"leadflow: forget: {error}", file=sys.stderr)
        return 2
    print(f"erasure {erasure.request_id}:")
    print("\n".join(erasure.lines()))
    return 0
