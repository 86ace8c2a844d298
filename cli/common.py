"""What the ``leadflow`` subcommands share: ``--config`` before or after the command, the
exit code of a lock refusal, the notice printed before waiting for a lock, and SIGTERM
turned into an exception (``Stopped``) so that a stopped command lets go of what it holds.

``--config FILE`` may come before the command (``leadflow --config F sync``) or after it
(``leadflow sync --config F``); given in both places, the two must name the same file,
or the command is refused (exit 2) before anything is read.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


class Stopped(BaseException):
    """The command got SIGTERM: raised in the main thread, like KeyboardInterrupt for
    Ctrl-C, so that what it holds is let go on the way out (exit 128 + the signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Stopped`` (in the main thread; elsewhere, nothing
    changes). A flow run installs Prefect's handler over it while it runs."""

    def stop(signum: int, frame: object) -> None:
        raise Stopped(signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
