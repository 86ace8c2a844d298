"""The writeback as a flow step: SLA breaches to HubSpot tasks (and scores to properties),
after the SLA check of ``speed-to-lead`` when ``writeback.enabled``.

It never fails the run: a refused write is recorded in ``writebacks`` and tried again next
run, and anything else is logged (its kind only) and left to the next run. The markdown
artifact ``writeback-tasks`` lists the counts and the HubSpot ids of the tasks created.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from leadflow.config.settings import Settings
from leadflow.pipeline.writeback import WritebackConfigError, run_writeback, writeback_markdown


@task(name="writeback", cache_policy=NO_CACHE)
def writeback_task(settings: Settings) -> dict[str, Any]:
    """Write what the SLA says is due; its counts (``error`` when it stopped)."""
    logger = get_run_logger()
    try:
        summary = run_writeback(settings)
    except WritebackConfigError as error:  # names the key and the source, no value
        logger.warning("writeback did not run: %s", error)
        return {"error": str(error)}
    except Exception as error:  # never fails the sync: the next run tries again
        logger.warning(
            "writeback did not run (%s); the run goes on, the next one tries again",
            type(error).__name__,
        )
        return {"error": type(error).__name__}
    create_markdown_artifact(key="writeback-tasks", markdown=writeback_markdown(summary))
    if summary.error:
        logger.warning("writeback stopped: %s", summary.error)
    return summary.counts()
