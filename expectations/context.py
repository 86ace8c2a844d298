"""One Great Expectations context per check run, reading the warehouse through a SQL datasource.

The context is ephemeral (in-memory stores), with progress bars and analytics off. Data Docs
are configured only when a folder is given, as a local site whose base directory is that
folder: GX's default for an ephemeral context would be a new temporary folder per run.
Great Expectations is imported inside the functions (its import takes seconds).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from .queries import warehouse_connection_string

DATASOURCE = "warehouse"
DOCS_SITE = "leadflow"


def project_config(data_docs_dir: str | Path | None) -> Any:
    """The GX project config: in-memory stores, no progress bars, no analytics, and a Data
    Docs site in ``data_docs_dir`` (none without it)."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites: dict[str, Any] = {}
    if data_docs_dir is not None:
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(Path(data_docs_dir).resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    return DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )


@contextmanager
def warehouse_context(
    warehouse_url: str, data_docs_dir: str | Path | None = None
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(context, datasource)``: a fresh ephemeral context and the warehouse in it.

    The datasource's database connections are closed on exit.
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral", project_config=project_config(data_docs_dir))
    connection_string = warehouse_connection_string(warehouse_url)
    sources = context.data_sources
    add = {"sqlite": sources.add_sqlite, "postgresql": sources.add_postgres}.get(
        make_url(connection_string).get_backend_name(), sources.add_sql
    )
    datasource = add(DATASOURCE, connection_string=connection_string)
    try:
        yield context, datasource
    finally:
        _close(datasource)


def run_identifier(run_id: str, run_time: datetime) -> Any:
    """GX's identifier of this run: leadflow's run id and time name the Data Docs pages."""
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_id, run_time=run_time)


def build_data_docs(context: Any, data_docs_dir: str | Path | None) -> str | None:
    """Build the Data Docs of the context's validations into ``data_docs_dir``; its index."""
    if data_docs_dir is None:
        return None
    context.build_data_docs(site_names=[DOCS_SITE])
    return str(Path(data_docs_dir).resolve() / "index.html")


def _close(datasource: Any) -> None:
    """Close the SQLAlchemy engines GX made: the datasource's and its execution engine's."""
    execution_engine = getattr(datasource, "_execution_engine", None)
    if execution_engine is not None:
        execution_engine.close()
    engine = getattr(datasource, "_engine", None)
    if engine is not None:
        engine.dispose()
