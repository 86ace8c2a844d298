"""Mapping against fetching, per platform (issue 20: "fetch+map ÷ fetch+parse", target
:data:`TARGET_RATIO`).

The five sandbox platforms run in a process of their own (:mod:`bench.sandbox_host`, no
rate limits on HubSpot, no weather), HubSpot holding ``n`` contacts and each other platform
``n`` leads, so their CPU is not this process's. Per platform, each round, interleaved:

- **fetch+parse**: the connector's lead pages of every configured account, exactly as a
  sync reads them (``CONNECTOR.pages(client, account, start_for)`` on a new client: the
  requests, the platform's paging, the JSON parsing, whatever lookups the connector makes
  per page), the records counted and dropped;
- **fetch+map**: the same pages, each mapped as a sync maps it
  (``leadflow.pipeline.mapping.normalize_records``: ``to_lead`` on every record, contact
  normalization, quarantine of what cannot be mapped). The per-process caches of normalized
  emails and phones are emptied before every pass, as in a new sync process.

The ratio of the medians is what mapping adds to reading the platform: the sync's own CPU
per record beyond what any client pays to fetch and parse the same pages.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import Check, Row

TARGET_RATIO = 2.0
FETCH = "fetch+parse"
MAPPED = "fetch+map"
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def _sources(config_text: str) -> dict[str, Any]:
    from leadflow.cli.demo import TOKENS
    from leadflow.config.settings import load_settings

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(config_text)
        settings = load_settings(path, env={**os.environ, **TOKENS})
    return dict(settings.enabled_sources())


def _one_pass(source: Any, mapped: bool) -> tuple[float, int, int]:
    """Seconds, records read and leads mapped for one pass over ``source``'s lead pages."""
    from leadflow.connectors.base import LeadContext
    from leadflow.connectors.registry import REGISTRY
    from leadflow.pipeline.mapping import normalize_records

    connector = REGISTRY[source.type]
    records = leads = 0
    _cold_caches()
    began = time.perf_counter()
    client = connector.open(source)
    try:
        for account in connector.accounts(source):
            context = LeadContext(connector.name, account, None)
            for page in connector.pages(client, account, _from_the_start):
                records += len(page.records)
                if mapped:
                    rows, _ = normalize_records(connector, page.records, context, now=NOW)
                    leads += len(rows)
    finally:
        close: Callable[[], None] | None = getattr(client, "close", None)
        if close is not None:
            close()
    return time.perf_counter() - began, records, leads


def _from_the_start(partition: str) -> None:
    return None


def _cold_caches() -> None:
    """Forget the emails and phones normalized so far: each pass pays for its own, as a
    new sync process does (the caches would otherwise carry one round into the next)."""
    from leadflow.models.records.contact import forget_normalized

    forget_normalized()


def measure_mapping(n: int, runs: int) -> list[Row]:
    """Per platform, a fetch+parse row and a fetch+map row (``ratio``: map ÷ fetch)."""
    from bench.sandbox_host import SandboxHost

    rows: list[Row] = []
    with SandboxHost(n, leads=n, weather=False) as host:
        sources = _sources(host.config("sqlite:///unused.db"))  # nothing is written
        for name, source in sources.items():
            fetch, mapped = Row(f"{FETCH}: {name}", "-", 0), Row(f"{MAPPED}: {name}", "-", 0)
            for round_ in range(runs):
                print(f"  mapping {name} round {round_ + 1}/{runs}", file=sys.stderr, flush=True)
                seconds, records, _ = _one_pass(source, mapped=False)
                fetch.seconds.append(seconds)
                fetch.rows = records
                seconds, records, leads = _one_pass(source, mapped=True)
                mapped.seconds.append(seconds)
                mapped.rows, mapped.extra["leads"] = records, leads
            mapped.ratio = mapped.median / fetch.median
            fetch.note = f"{name}: the connector's lead pages, read and dropped"
            mapped.note = (
                f"{mapped.ratio:.2f}x fetch+parse; {mapped.extra['leads']:,} leads mapped from "
                f"{mapped.rows:,} records (the rest quarantined or out of range)"
            )
            rows += [fetch, mapped]
    return rows


def mapping_checks(rows: list[Row]) -> list[Check]:
    """Each platform's fetch+map within :data:`TARGET_RATIO` of its fetch+parse."""
    return [
        Check(
            f"fetch+map ÷ fetch+parse ({row.path.removeprefix(MAPPED + ': ')}, {row.rows:,})",
            row.ratio,
            f"<= {TARGET_RATIO}",
            row.ratio <= TARGET_RATIO,
        )
        for row in rows
        if row.path.startswith(MAPPED) and row.ratio is not None
    ]
