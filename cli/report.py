"""``leadflow report [--out FILE] [--period P]``: write the HTML report and print its path."""

from __future__ import annotations

import argparse
from typing import Any

from leadflow.cli.common import add_config_option
from leadflow.config.settings import load_settings
from leadflow.report.html import write_report


def add_report_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``report`` on the ``leadflow`` command."""
    report = subparsers.add_parser("report", help="write the HTML report with charts")
    add_config_option(report)
    report.add_argument("--out", default="report.html", help="file to write (report.html)")
    report.add_argument("--period", help="YYYY-MM or YYYY (default: everything)")
    return report


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` command: write the file and print its path."""
    settings = load_settings(args.config, resolve_sources=False)  # calls no platform
    try:
        path = write_report(settings.warehouse_url, args.out, args.period)
    except ValueError as error:
        print(f"leadflow: report: {error}")
        return 2
    print(f"report written to {path}")
    return 0
