"""The ``leadflow`` command: demo, sync, sandbox, db upgrade, import, sla, report, forget,
people rebuild, intake, writeback.

``--config FILE`` may come before or after the command (``leadflow.cli.common``). Exit
codes: 0 done, 1 the run failed, 2 refused before anything was written (configuration,
arguments), 3 see the command, 75 (EX_TEMPFAIL) nothing was run, try again: another run
held the warehouse's sync lock, or Prefect's temporary API server did not start (one line,
printed here for every command), 143 stopped by SIGTERM, 130 by Ctrl-C (one line; a flow
run it had started ends Crashed: ``leadflow.flows.session``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from leadflow.cli.common import (
    EX_TEMPFAIL,
    Stopped,
    add_config_option,
    chosen_config,
    lock_notice,
    stop_on_sigterm,
)
from leadflow.cli.forget import add_forget_command, run_forget
from leadflow.cli.import_file import add_import_command, run_import
from leadflow.cli.intake import add_intake_command, run_intake
from leadflow.cli.people import add_people_command, run_people
from leadflow.cli.report import add_report_command, run_report
from leadflow.cli.sla import add_sla_command, compliance_for, format_compliance, run_sla_command
from leadflow.cli.writeback import add_writeback_command, run_writeback_command
from leadflow.models.records.masking import mask_personal

DEMO_DIR = Path(".leadflow")
DEMO_REPORT = Path("report.html")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadflow", description=__doc__)
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $LEADFLOW_CONFIG); may also follow the command",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="sync the built-in sandbox into SQLite")
    demo.add_argument("--warehouse-url", default="sqlite:///leadflow.db")
    demo.add_argument("--contacts", type=int, default=2500, help="sandbox HubSpot contacts")
    sync = commands.add_parser("sync", help="run the sync flow with the configuration")
    add_config_option(sync)
    sync.add_argument("--source", action="append", help="only this source (repeatable)")
    box = commands.add_parser("sandbox", help="serve the sandbox platforms until Ctrl-C")
    box.add_argument("--contacts", type=int, default=2500)
    box.add_argument("--port", type=int, default=0, help="HubSpot port (0: any free port)")
    serve = commands.add_parser(
        "serve", help="serve prefect.yaml's deployments from this process (schedules stay on)"
    )
    add_config_option(serve)
    database = commands.add_parser("db", help="warehouse schema")
    database.add_argument("action", choices=["upgrade"])
    add_config_option(database)
    add_import_command(commands)
    add_sla_command(commands)
    add_report_command(commands)
    add_forget_command(commands)
    add_people_command(commands)
    add_intake_command(commands)
    add_writeback_command(commands)
    return parser


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """The run summary as a fixed-width table."""
    columns = ("source", "account_id", "status", "pages", "records", "inserted", "updated")
    columns += ("unchanged", "quarantined", "suppressed", "duplicates", "watermark", "seconds")
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    notes = [
        f"{row['source']} {row['account_id']}: {row['error']}" for row in rows if row.get("error")
    ]
    notes += [
        f"{row['source']} {row['account_id']}: warning: {warning}"
        for row in rows
        for warning in (row.get("warnings") or "").splitlines()
    ]
    return "\n".join(lines + [mask_personal(note) for note in notes])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return str(value)


def run_sync(config_path: str | None, sources: list[str] | None = None) -> int:
    """Run the flow, print the summary the warehouse recorded, return an exit code.

    Everything that can be refused is refused before Prefect starts, in one line: the
    configuration (exit 2), an unknown ``--source`` (2), the sync lock held by another run
    (``LockHeld`` to ``main``: 75). The lock is taken here and passed on to the flow, which
    runs in this process, after Prefect's API is up (a temporary server this command owns,
    unless PREFECT_API_URL names one; if it does not start: one line, 75) and the runs of
    killed syncs are marked Crashed (``leadflow.flows.session``). On the console, Prefect's
    own reports of failed task and flow runs and every traceback are left out (they stay
    in the Prefect UI's logs): the summary has one line per failed account, and the last
    line says how the run ended.
    """
    from leadflow.flows.console import quiet_console
    from leadflow.flows.server import ServerNotStarted
    from leadflow.flows.session import prefect_session
    from leadflow.flows.sync_leads import sync_leads
    from leadflow.pipeline.locks import sync_lock
    from leadflow.pipeline.sources import choose_sources

    settings = settings_to_sync(config_path)
    try:
        choose_sources(settings, sources)
    except ValueError as error:  # an unknown --source: names only
        print(f"leadflow: sync: --source: {error}", file=sys.stderr)
        return 2
    try:
        with (
            sync_lock(settings, on_wait=lock_notice("sync", settings)),
            prefect_session("sync") as session,
            quiet_console(),
        ):
            state = session.run(sync_leads, config_path=config_path, sources=sources)
            return _report_sync(settings, state)
    except ServerNotStarted as error:  # before the flow: nothing was written
        print(f"leadflow: sync: {error}", file=sys.stderr)
        return EX_TEMPFAIL


def _report_sync(settings: Any, state: Any) -> int:
    """Print what the flow run ``state`` recorded and how it ended; its exit code."""
    from leadflow.flows.check_sla import SlaBreached
    from leadflow.flows.run_steps import SyncFailed
    from leadflow.models.warehouse.run_lock import RunLocked
    from leadflow.pipeline.summaries import people_summary, read_summary

    warehouse_url = settings.warehouse_url
    run_id = state.state_details.flow_run_id
    rows = read_summary(warehouse_url, str(run_id)) if run_id else []
    completed = state.is_completed()
    if rows or completed:  # nothing of another run's
        print(format_summary(rows) if rows else "no account to sync")
        stages = people_summary(warehouse_url)
        counts = ", ".join(f"{stage} {count}" for stage, count in stages.items())
        print(f"people: {sum(stages.values())} ({counts})")
        print("\nSLA compliance (leadflow sla --team NAME for its reps):")
        print(format_compliance(compliance_for(settings), periods=1))
    if completed:
        return 0
    try:
        error = state.result(raise_on_failure=False)  # Failed or Crashed: the exception
    except Exception:  # a result that cannot be read back: the state's message says it
        error = None
    if isinstance(error, RunLocked):
        raise error  # main: one line, exit 75
    if isinstance(error, SlaBreached):
        print(f"SLA breached (the data is loaded): {state.message}", file=sys.stderr)
        return SLA_BREACHED
    if isinstance(error, SyncFailed):
        print(f"sync failed: {_failures(error, rows)}", file=sys.stderr)
        return 1
    print(f"sync failed: {mask_personal(str(state.message))}", file=sys.stderr)
    return 1


def _failures(error: Any, rows: Sequence[dict[str, Any]]) -> str:
    """SyncFailed in one line: which syncs failed; why only for those whose summary line
    above does not say it already (a source whose accounts could not even be listed)."""
    failed: dict[str, str] = getattr(error, "failed", None) or {}
    if not failed:
        return mask_personal(str(error))
    shown = {row.get("error") for row in rows}
    names = ", ".join(
        name if why in shown else f"{name} ({why})" for name, why in sorted(failed.items())
    )
    total = getattr(error, "total", None) or len(failed)
    return mask_personal(f"{len(failed)} of {total} syncs failed: {names}")


SLA_BREACHED = 3  # exit code: every source loaded, but a critical SLA rule failed


def run_demo(warehouse_url: str, contacts: int) -> int:
    """Start the sandboxes, write a config that points at them, sync, print the summary."""
    from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes, write_salesforce_key

    with running_sandboxes(contacts, weather=True) as boxes:
        DEMO_DIR.mkdir(exist_ok=True)
        config = DEMO_DIR / "demo.yaml"
        key = write_salesforce_key(DEMO_DIR / "salesforce-sandbox-key.pem")
        config.write_text(demo_config(boxes, warehouse_url, DEMO_DIR / "samples", "critical", key))
        os.environ.update(TOKENS)
        for name, url in boxes.urls().items():
            print(f"sandbox {name:<10} {url}")
        print(f"configuration written to {config}", flush=True)
        code = run_sync(str(config))
        if code in (0, SLA_BREACHED):
            _demo_writeback(str(config), boxes.hubspot, boxes.salesforce)
    if code == SLA_BREACHED:  # the sandbox's reps are slow on purpose: breaches are the demo
        print("demo: the sync loaded everything; the Failed SLA check above is the point")
        code = 0
    if code == 0:
        from leadflow.report.html import write_report

        print(f"report written to {write_report(warehouse_url, DEMO_REPORT)}")
    return code


def _demo_writeback(config_path: str, hubspot: Any, salesforce: Any) -> None:
    """The breaches written back to the sandbox CRMs: what leadflow wrote, and what the
    sandbox HubSpot and Salesforce now hold (tasks with their owner, deadline and record)."""
    from leadflow.cli.writeback import format_writeback
    from leadflow.config.settings import load_settings
    from leadflow.pipeline.writeback import run_writeback

    summary = run_writeback(load_settings(config_path))
    print("\nWriteback to the sandbox CRMs:")
    print(format_writeback(summary).splitlines()[-1])
    tasks = hubspot.writes.tasks
    print(f"sandbox HubSpot now holds {len(tasks)} leadflow tasks, e.g.:")
    for task in tasks[:3]:
        props = task["properties"]
        contact = task["associations"][0]["to"] if task["associations"] else "-"
        owner = props.get("hubspot_owner_id", "-")
        print(
            f"  task {task['id']}: {props['hs_task_subject']} (owner {owner}, "
            f"due {props['hs_timestamp']}, contact {contact})"
        )
    if salesforce is not None:
        written = [w for w in salesforce.writes if w.object_name == "Task"]
        print(f"sandbox Salesforce now holds {len(written)} leadflow Tasks, e.g.:")
        for write in written[:3]:
            fields = write.fields
            print(
                f"  Task {write.id}: {fields.get('Subject')} (owner {fields.get('OwnerId', '-')}, "
                f"due {fields.get('ActivityDate')}, lead {fields.get('WhoId')})"
            )


def run_sandbox(contacts: int, port: int) -> int:
    """Serve the sandbox platforms in the foreground, printing a config that uses them."""
    import tempfile
    import time

    from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes, write_salesforce_key

    with running_sandboxes(contacts, port) as boxes:
        for name, url in boxes.urls().items():
            print(f"{name:<10} {url}", flush=True)
        key = write_salesforce_key(Path(tempfile.mkdtemp()) / "salesforce-sandbox-key.pem")
        print("\n# a configuration for these servers (tokens: the LEADFLOW_DEMO_* variables)")
        print(demo_config(boxes, "sqlite:///leadflow.db", salesforce_key=key))
        print("\n".join(f"# export {name}={value}" for name, value in TOKENS.items()), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


DEMO_CONFIG_REFUSED = (
    "leadflow: demo: --config is not used: the demo writes its own configuration for the "
    "built-in sandbox"
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from leadflow.config.settings import ConfigError
    from leadflow.models.warehouse.run_lock import RunLocked

    command = " ".join(
        part for part in (args.command, getattr(args, "people_command", None)) if part
    )
    if args.command == "demo" and args.config:
        print(DEMO_CONFIG_REFUSED, file=sys.stderr)
        return 2
    try:
        args.config = chosen_config(args)
        with stop_on_sigterm():
            return _run(args)
    except ConfigError as error:
        print(f"leadflow: {error}", file=sys.stderr)
        return 2
    except RunLocked as error:  # the sync lock, held by another run: one line
        print(f"leadflow: {command}: {error}", file=sys.stderr)
        return EX_TEMPFAIL
    except (Stopped, KeyboardInterrupt) as stop:  # the flow run's end in a note
        code = 128 + stop.signum if isinstance(stop, Stopped) else 130
        why = str(stop) if isinstance(stop, Stopped) else "stopped by Ctrl-C (SIGINT)"
        notes = "".join(f"; {note}" for note in getattr(stop, "__notes__", ()))
        print(f"leadflow: {command}: {why}{notes}", file=sys.stderr, flush=True)
        return code


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return run_demo(args.warehouse_url, args.contacts)
    if args.command == "sync":
        return run_sync(args.config, args.source)
    if args.command == "sandbox":
        return run_sandbox(args.contacts, args.port)
    if args.command == "import":
        return run_import(args)
    if args.command == "serve":
        return run_serve(args.config)
    if args.command == "sla":
        return run_sla_command(args)
    if args.command == "report":
        return run_report(args)
    if args.command == "forget":
        return run_forget(args)
    if args.command == "people":
        return run_people(args)
    if args.command == "intake":
        return run_intake(args)
    if args.command == "writeback":
        return run_writeback_command(args)
    return run_db_upgrade(args.config)


def settings_to_sync(config_path: str | None) -> Any:
    """The configuration, checked as everything that syncs needs it (the warehouse
    reachable and writable, something enabled to sync): ``ConfigError`` (one line, exit 2)
    before any run."""
    from leadflow.config.settings import check_can_sync, check_warehouse, load_settings

    settings = load_settings(config_path)
    check_warehouse(settings.warehouse_url, config_path)
    check_can_sync(settings, config_path)
    return settings


def run_serve(config_path: str | None) -> int:
    """``leadflow serve``: the configuration checked as for a sync (one line, exit 2), then
    the deployments served with a Prefect server this command owns (unless PREFECT_API_URL
    names one): a full one, whose scheduler starts the scheduled runs."""
    from leadflow.flows import serve
    from leadflow.flows.server import ServerNotStarted
    from leadflow.flows.session import prefect_session

    settings_to_sync(config_path)
    try:
        with prefect_session("serve", ephemeral=False):
            serve.serve_all(config_path)
    except ServerNotStarted as error:
        print(f"leadflow: serve: {error}", file=sys.stderr)
        return EX_TEMPFAIL
    return 0


def run_db_upgrade(config_path: str | None) -> int:
    """``leadflow db upgrade``: apply the warehouse migrations (no platform is called, so the
    sources' variables need not be set)."""
    from leadflow.config.settings import check_warehouse, load_settings
    from leadflow.models.warehouse.engine import redact_url
    from leadflow.models.warehouse.migrate import upgrade

    settings = load_settings(config_path, resolve_sources=False)
    check_warehouse(settings.warehouse_url, config_path)
    upgrade(settings.warehouse_url)
    print(f"warehouse {redact_url(settings.warehouse_url)} is at the latest schema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
