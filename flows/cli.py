"""The ``leadflow`` command: demo, sync, sandbox, db upgrade."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

DEMO_DIR = Path(".leadflow")
DEMO_TOKEN_ENV = "LEADFLOW_DEMO_HUBSPOT_TOKEN"
DEMO_CONFIG = """\
# Written by `leadflow demo`: the sandbox platforms on 127.0.0.1, an SQLite warehouse.
warehouse_url: {warehouse_url}
timezone: America/New_York
default_region: US
sources:
  hubspot:
    base_url: {hubspot_url}
    access_token: ${{{token_env}}}
    portal_id: "{portal_id}"
    start_date: 2026-01-01T00:00:00Z
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadflow", description=__doc__)
    parser.add_argument("--config", help="configuration file (default: $LEADFLOW_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="sync the built-in sandbox into SQLite")
    demo.add_argument("--warehouse-url", default="sqlite:///leadflow.db")
    demo.add_argument("--contacts", type=int, default=2500, help="sandbox HubSpot contacts")
    sync = commands.add_parser("sync", help="run the sync flow with the configuration")
    sync.add_argument("--source", action="append", help="only this source (repeatable)")
    box = commands.add_parser("sandbox", help="serve the sandbox platforms until Ctrl-C")
    box.add_argument("--contacts", type=int, default=2500)
    box.add_argument("--port", type=int, default=0, help="HubSpot port (0: any free port)")
    database = commands.add_parser("db", help="warehouse schema")
    database.add_argument("action", choices=["upgrade"])
    return parser


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """The run summary as a fixed-width table."""
    columns = ("source", "status", "pages", "records", "inserted", "updated", "unchanged")
    columns += ("quarantined", "watermark", "seconds")
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    errors = [f"{row['source']}: {row['error']}" for row in rows if row.get("error")]
    return "\n".join(lines + errors)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return str(value)


def run_sync(config_path: str | None, sources: list[str] | None = None) -> int:
    """Run the flow, print the summary the warehouse recorded, return an exit code."""
    from flows.config import load_settings
    from flows.sync_leads import latest_summary, sync_leads

    settings = load_settings(config_path)
    state = sync_leads(config_path=config_path, sources=sources, return_state=True)
    print(format_summary(latest_summary(settings.warehouse_url)))
    if state.is_failed():
        print(f"sync failed: {state.message}", file=sys.stderr)
        return 1
    return 0


def run_demo(warehouse_url: str, contacts: int) -> int:
    """Start the sandbox, write a config that points at it, sync, print the summary."""
    from sandbox.data import hubspot_contacts
    from sandbox.hubspot import HubSpotSandbox

    token = "demo-hubspot-private-app-token"
    with HubSpotSandbox(hubspot_contacts(contacts), token=token) as hubspot:
        DEMO_DIR.mkdir(exist_ok=True)
        config = DEMO_DIR / "demo.yaml"
        config.write_text(
            DEMO_CONFIG.format(
                warehouse_url=warehouse_url,
                hubspot_url=hubspot.base_url,
                token_env=DEMO_TOKEN_ENV,
                portal_id="sandbox-portal",
            )
        )
        os.environ[DEMO_TOKEN_ENV] = token
        print(f"sandbox HubSpot at {hubspot.base_url}; config written to {config}")
        return run_sync(str(config))


def run_sandbox(contacts: int, port: int) -> int:
    """Serve the sandbox platforms in the foreground."""
    import time

    from sandbox.data import hubspot_contacts
    from sandbox.hubspot import HubSpotSandbox

    token = "sandbox-hubspot-token"
    with HubSpotSandbox(hubspot_contacts(contacts), token=token, port=port) as hubspot:
        print(f"hubspot  {hubspot.base_url}  (Authorization: Bearer {token})", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from flows.config import ConfigError

    try:
        if args.command == "demo":
            return run_demo(args.warehouse_url, args.contacts)
        if args.command == "sync":
            return run_sync(args.config, args.source)
        if args.command == "sandbox":
            return run_sandbox(args.contacts, args.port)
        from flows.config import load_settings
        from models.migrate import upgrade
        from models.warehouse import redact_url

        settings = load_settings(args.config)
        upgrade(settings.warehouse_url)
        print(f"warehouse {redact_url(settings.warehouse_url)} is at the latest schema")
        return 0
    except ConfigError as error:
        print(f"leadflow: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
