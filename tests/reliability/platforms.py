"""What the reliability tests share: the five sandbox platforms, their sources tuned for
fast failure, one-account syncs without Prefect, and snapshots of what a warehouse holds."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from leadflow.cli.demo import TOKENS, Sandboxes, demo_config, running_sandboxes
from leadflow.config.settings import parse_settings
from leadflow.connectors.base import SourceConfig
from leadflow.connectors.errors import ConnectorError
from leadflow.connectors.registry import REGISTRY
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.migrate import upgrade
from leadflow.models.warehouse.tables import leads, quarantine, sync_state
from leadflow.pipeline.source_sync import RunContext, SourceSummary, sync_account

HEAVY = os.environ.get("LEADFLOW_HEAVY") == "1"
PLATFORMS = ("hubspot", "meta", "google_ads", "linkedin", "mailchimp")
SECRETS = tuple(TOKENS.values())

# Fail fast in tests: short timeouts, tiny backoff, few attempts; HubSpot re-reads nothing
# before its watermark, so a watermark that ran ahead of the data would lose leads.
TUNING: dict[str, Any] = {
    "timeout_seconds": 1.0,
    "connect_timeout_seconds": 1.0,
    "backoff_seconds": 0.01,
    "max_attempts": 4,
}
PER_PLATFORM: dict[str, dict[str, Any]] = {
    # HubSpot allows 5 searches a second: a 10 ms backoff would trip its secondly limit.
    "hubspot": {"lookback_minutes": 0, "page_size": 50, "discover_properties": False,
                "backoff_seconds": 0.5, "max_attempts": 5,
                "sales_reps": False, "sales_touches": False,
                "streams": {"crm_status_changes": False}},
    "meta": {"page_size": 25, "max_throttle_wait_seconds": 5.0},
    "google_ads": {"max_retry_delay_seconds": 5.0},
    "linkedin": {"count": 25},
    "mailchimp": {"page_size": 50},
}  # fmt: skip


@dataclass
class Platforms:
    """The running sandboxes and one tuned source configuration per platform."""

    boxes: Sandboxes
    sources: dict[str, SourceConfig]

    def box(self, platform: str) -> Any:
        name = {"google_ads": "google"}.get(platform, platform)
        return getattr(self.boxes, name)


@contextmanager
def running_platforms(contacts: int = 300) -> Iterator[Platforms]:
    """Every sandbox platform and its tuned source (the demo configuration's sources)."""
    with running_sandboxes(contacts=contacts) as boxes:
        settings = parse_settings(
            _yaml(demo_config(boxes, "sqlite://")), origin="<demo>", env=TOKENS
        )
        sources = {
            name: settings.sources[name].model_copy(update=TUNING | PER_PLATFORM[name])
            for name in PLATFORMS
        }
        yield Platforms(boxes, sources)


def _yaml(text: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(text)


_TEMPLATE: dict[str, Path] = {}


def fresh_warehouse(url: str) -> sa.Engine:
    """A migrated warehouse; SQLite files are copied from one migrated template (fast)."""
    target = make_url(url).database
    if make_url(url).get_backend_name() != "sqlite" or not target:
        engine = create_engine(url)
        upgrade(engine)
        return engine
    if "sqlite" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="leadflow-template-"))
        template = create_engine(f"sqlite:///{folder / 'w.db'}")
        upgrade(template)
        with template.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        template.dispose()
        _TEMPLATE["sqlite"] = folder / "w.db"
    shutil.copyfile(_TEMPLATE["sqlite"], target)
    return create_engine(url)


@dataclass
class Outcome:
    """One platform's sync: a summary per account, or the error that stopped it."""

    summaries: list[SourceSummary]
    errors: dict[str, Exception]


def sync_platform(source: SourceConfig, engine: sa.Engine, run_id: str) -> Outcome:
    """Every lead account of one source, as the flow's tasks would run them (no Prefect)."""
    connector = REGISTRY[source.type]
    run = RunContext(engine=engine, run_id=run_id, default_region="US")
    summaries, errors = [], {}
    try:
        accounts = connector.accounts(source)
    except ConnectorError as error:  # Mailchimp lists its audiences through the API
        return Outcome([], {"<accounts>": error})
    for account in accounts:
        try:
            summaries.append(sync_account(connector, source, account, run))
        except ConnectorError as error:
            errors[account] = error
    return Outcome(summaries, errors)


@dataclass(frozen=True)
class Snapshot:
    """What a warehouse holds for one source: lead content hashes, quarantined keys,
    watermarks per partition, and how many lead rows (duplicates would show here)."""

    hashes: dict[str, str]
    quarantined: frozenset[str]
    watermarks: dict[str, datetime | None]
    rows: int


def snapshot(engine: sa.Engine, source: str) -> Snapshot:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(leads.c.source_lead_id, leads.c.row_hash).where(leads.c.source == source)
        ).all()
        keys = conn.execute(
            sa.select(quarantine.c.record_key).where(quarantine.c.source == source)
        ).scalars()
        marks = conn.execute(
            sa.select(sync_state.c.account_id, sync_state.c.watermark).where(
                sync_state.c.source == source
            )
        ).all()
        quarantined = frozenset(keys)
    return Snapshot(dict(found), quarantined, dict(marks), len(found))


def aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)
