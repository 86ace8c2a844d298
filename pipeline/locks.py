"""The warehouse locks a run takes (``leadflow.models.warehouse.run_lock``), with the
configured wait."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from leadflow.config.settings import Settings
from leadflow.models.warehouse.run_lock import warehouse_lock


def sync_lock(
    settings: Settings, on_wait: Callable[[], None] | None = None
) -> AbstractContextManager[None]:
    """The warehouse's sync lock: a second sync (or import: it loads leads like a sync, and
    incremental classification relies on loads never overlapping it) waits
    ``sync.lock_wait_minutes``, then fails. ``on_wait`` is called once if it has to wait."""
    wait = settings.sync.lock_wait_minutes * 60
    return warehouse_lock(settings.warehouse_url, "sync", wait_seconds=wait, on_wait=on_wait)


def people_lock(settings: Settings) -> AbstractContextManager[None]:
    """Classification's lock: every flow classifies through it, one at a time, or a stage
    change would be counted twice."""
    wait = settings.sync.lock_wait_minutes * 60
    return warehouse_lock(settings.warehouse_url, "people", wait_seconds=wait)
