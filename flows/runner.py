"""Where a sync's partition tasks run, and how the flow waits for them with progress.

``task_runner: thread`` (the default) runs them in a thread pool inside the flow run's
process; ``task_runner: dask`` hands them to prefect-dask's ``DaskTaskRunner``, on the
cluster at ``dask_address`` or on a local cluster of ``dask_workers`` processes. The flow
chooses the runner after it has read the configuration, so one deployment serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from leadflow.config.settings import Settings
from leadflow.connectors.http import redact


def task_runner_for(settings: Settings) -> TaskRunner:
    """A fresh (not yet started) task runner for the configured ``task_runner``."""
    if settings.task_runner == "thread":
        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    # Processes, not threads: extraction maps records in Python, so threads share one GIL.
    cluster = {"n_workers": settings.dask_workers, "processes": True, "threads_per_worker": 1}
    return DaskTaskRunner(cluster_kwargs={**cluster, "dashboard_address": None})


def wait_for_partitions(
    futures: Mapping[str, PrefectFuture[Any]], description: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Wait for every partition task, updating one progress artifact as each one ends.

    Returns the results by partition name and, for the partitions that failed, why (the
    error redacted). A failure does not stop the wait: the other partitions still load.
    """
    names = {future: name for name, future in futures.items()}
    total = len(futures)
    artifact = create_progress_artifact(0.0 if total else 100.0, description=description)
    results: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for done, future in enumerate(as_completed(list(futures.values())), start=1):
        name = names[future]
        try:
            results[name] = future.result()
        except Exception as error:
            failed[name] = redact(f"{type(error).__name__}: {error}")
        note = f"{description}: {done} of {total} partitions finished, {len(failed)} failed"
        update_progress_artifact(artifact, 100.0 * done / total, description=note)
    if failed:
        get_run_logger().warning("failed partitions: %s", ", ".join(sorted(failed)))
    return results, failed
