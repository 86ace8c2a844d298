"""``leadflow serve``: the four deployments of prefect.yaml, served from this process.

No work pool or worker is needed: Prefect's ``serve()`` registers the deployments and
runs their scheduled and manual runs itself. The deployments are read from prefect.yaml
(names, entrypoints, schedules, concurrency, parameters), so the file stays the single
description of what is deployed. Stopping ``serve`` leaves the schedules active
(``pause_on_shutdown=False``): a restart must not silently pause the nightly sync.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from leadflow.flows.deploy_steps import PROJECT_DIR, leadflow_settings

PREFECT_YAML = PROJECT_DIR / "prefect.yaml"


def deployment_specs(
    config_path: str | None = None, path: Path = PREFECT_YAML
) -> list[dict[str, Any]]:
    """prefect.yaml's deployments with ``{{ leadflow.* }}`` filled in from the config."""
    from prefect.utilities.templating import apply_values

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    values = {"leadflow": leadflow_settings(config_path)}
    return [apply_values(spec, values) for spec in document["deployments"]]


def load_entrypoint(entrypoint: str) -> Any:
    """The flow named by a prefect.yaml entrypoint (``flows/sync_leads.py:sync_leads``),
    imported as a module of this package, not as a loose file."""
    path, name = entrypoint.split(":")
    module = importlib.import_module("leadflow." + path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def to_runner_deployment(spec: dict[str, Any]) -> Any:
    """One ``RunnerDeployment`` of a prefect.yaml deployment entry."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.schedules import Cron

    flow = load_entrypoint(spec["entrypoint"])
    limit = spec.get("concurrency_limit")
    return flow.to_deployment(
        name=spec["name"],
        description=spec.get("description"),
        tags=spec.get("tags"),
        parameters=spec.get("parameters") or {},
        # The slugs match `prefect deploy`'s, so serving updates those deployments in place.
        schedules=[
            Cron(item["cron"], timezone=item.get("timezone"), slug=item.get("slug"))
            for item in spec.get("schedules") or []
        ],
        concurrency_limit=ConcurrencyLimitConfig(**limit) if limit else None,
        enforce_parameter_schema=spec.get("enforce_parameter_schema", True),
    )


def serve_all(config_path: str | None = None) -> None:
    """Register and serve every deployment until interrupted; schedules stay active."""
    from prefect import serve

    deployments = [to_runner_deployment(spec) for spec in deployment_specs(config_path)]
    serve(*deployments, pause_on_shutdown=False)
