"""What a run started from the ``leadflow`` command shows on the console.

Prefect's console handler prints every record the engines log, so one failed account
printed its error three times, the traceback of the task and that of the flow above the
run summary. Within ``quiet_console()``, the console handlers (stream handlers on the
standard streams; file handlers are left alone) print:

- no error report of Prefect's engines (``Task run failed with exception ...``,
  ``Encountered exception during execution ...``: the reason and a traceback), and their
  ``Finished in state Failed('...')`` as ``Finished in state Failed``: the command prints
  the summary, one line per failed account saying why, and how the run ended;
- no "Running hook ..." / "Hook ... finished running successfully" lines (the flow's
  ``on_running`` hooks record its process: ``leadflow.flows.crashed``);
- every other record without its traceback (the record's first line).

Nothing changes for the other handlers: the Prefect API's (the run's logs in the UI) and
any file handler added through ``PREFECT_LOGGING_SETTINGS_PATH`` get the records whole,
tracebacks included.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

_ENGINE_MODULES = frozenset({"flow_engine", "task_engine"})
_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
_FINISHED = re.compile(r"(Finished in state \w+)\(.*", re.DOTALL)
_HOOK_CHATTER = re.compile(r"Running hook '|Hook '[^']*' finished running successfully")


def _from_engine(record: logging.LogRecord) -> bool:
    return record.name.startswith(_RUN_LOGGERS) and record.module in _ENGINE_MODULES


class _NoEngineErrors(logging.Filter):
    """Drops the engines' error reports, except their "Finished in state" lines, and
    their notes on running hooks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.name.startswith("prefect"):
            return _HOOK_CHATTER.match(record.getMessage()) is None
        if record.levelno < logging.ERROR or not _from_engine(record):
            return True
        return _FINISHED.match(record.getMessage()) is not None


class _NoTraceback(logging.Formatter):
    """Formats with ``inner`` a copy of the record without its traceback or stack, and an
    engine's "Finished in state Failed('why')" without the why."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        finished = _FINISHED.match(record.getMessage()) if _from_engine(record) else None
        if record.exc_info or record.exc_text or record.stack_info or finished:
            record = copy.copy(record)  # the other handlers still get the record whole
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            if finished:
                record.msg, record.args = finished.group(1), ()
        return self.inner.format(record)


def console_handlers() -> list[logging.Handler]:
    """The stream handlers (not file handlers) of every configured logger, root included."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    found: dict[int, logging.Handler] = {}
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                found.setdefault(id(handler), handler)
    return list(found.values())


@contextmanager
def quiet_console() -> Iterator[None]:
    """Within the block, console handlers print no tracebacks and no engine failure reports."""
    handlers = console_handlers()
    drop = _NoEngineErrors()
    saved = [(handler, handler.formatter) for handler in handlers]
    for handler, formatter in saved:
        handler.setFormatter(_NoTraceback(formatter))
        handler.addFilter(drop)
    try:
        yield
    finally:
        for handler, formatter in saved:
            handler.setFormatter(formatter)
            handler.removeFilter(drop)
