"""What the ``leadflow`` subcommands share: ``--config`` before or after the command, the
exit code of a lock refusal, and the notice printed before waiting for a lock.

``--config FILE`` may come before the command (``leadflow --config F sync``) or after it
(``leadflow sync --config F``); given in both places, the two must name the same file,
or the command is refused (exit 2) before anything is read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from leadflow.config.settings import ConfigError, Settings

EX_TEMPFAIL = 75  # sysexits.h: a lock held by another run; try again later
_AFTER = "config_after"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` after the command ``parser`` parses (see ``chosen_config``)."""
    parser.add_argument(
        "--config",
        dest=_AFTER,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="configuration file (default: $LEADFLOW_CONFIG); may also come before the command",
    )


def chosen_config(args: argparse.Namespace) -> str | None:
    """The ``--config`` given before or after the command (None: neither). Raises
    ConfigError when both are given and name different files."""
    before, after = getattr(args, "config", None), getattr(args, _AFTER, None)
    if before and after and Path(before).resolve() != Path(after).resolve():
        raise ConfigError(
            f"--config names {before} before the command and {after} after it: give one file"
        )
    return after or before


def lock_notice(command: str, settings: Settings) -> Callable[[], None]:
    """What ``command`` prints once (standard error) before it waits for the sync lock."""
    from leadflow.pipeline.locks import waiting_message

    def notice() -> None:
        print(f"leadflow: {command}: {waiting_message(settings)}", file=sys.stderr, flush=True)

    return notice
