"""Rebuild people from scratch: identity over every lead, everyone classified, every SLA
qualification evaluated (``leadflow people rebuild``; issue 17: an incremental run gives
exactly what a rebuild gives).

The same steps a sync runs after its loads (``leadflow.pipeline.people.resolve_and_classify``
and ``leadflow.pipeline.sla.evaluate_sla``), with ``full=True``: nothing is read
from the incremental state (fact watermark, rules and SLA fingerprints), so whatever the
derived tables hold (person ids on leads, events and touches, profiles, stages, SLA
evaluations) is recomputed from the facts. The state is saved again at the end, so the next
incremental run starts from the rebuild. No Prefect; no record in ``sync_runs`` (that table
is one row per loaded source and account, and a rebuild loads nothing).

A rebuild holds the warehouse's sync lock (``leadflow.pipeline.locks.sync_lock``) as every
load does, then classification's lock, so no sync, import or erasure writes facts under
it; another run holding the lock past ``sync.lock_wait_minutes`` raises ``RunLocked``
before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from leadflow.config.settings import Settings
from leadflow.models.people.classification_store import people_per_stage
from leadflow.models.people.rules import load_rules
from leadflow.models.records.encoding import require_aware
from leadflow.models.warehouse.engine import open_warehouse
from leadflow.models.warehouse.migrate import upgrade
from leadflow.pipeline.locks import people_lock, sync_lock
from leadflow.pipeline.people import resolve_and_classify
from leadflow.pipeline.sla import evaluate_sla

log = logging.getLogger(__name__)
Logger = logging.Logger | logging.LoggerAdapter
SLA_STATUSES = ("met", "breached", "pending")


def rebuild_people(
    settings: Settings,
    *,
    now: datetime,
    run_id: str,
    logger: Logger | None = None,
    on_wait: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Migrate the warehouse, then resolve and classify everyone and evaluate every SLA
    qualification as of ``now`` (timezone-aware), under the sync lock.

    Returns {people, merged, classified, transitions, qualified} as
    ``resolve_and_classify`` counts them, ``stages`` (people per lifecycle stage), and the
    SLA's {evaluations, met, breached, pending, new_breaches, revised, periods}. Raises
    ``RunLocked`` when another run holds the lock for longer than ``sync.lock_wait_minutes``
    (``on_wait`` is called once if it has to wait).
    """
    require_aware(now=now)
    logger = logger or log
    rules = load_rules(settings.classification_rules)
    with (
        sync_lock(settings, on_wait=on_wait),
        people_lock(settings),
        # hide_parameters: a failing statement's message must not carry an email or a phone.
        open_warehouse(settings.warehouse_url, hide_parameters=True) as engine,
    ):
        upgrade(engine)
        people = resolve_and_classify(
            engine,
            rules=rules,
            now=now,
            run_id=run_id,
            logger=logger,
            hash_salt=settings.privacy.salt(),
            full=True,
        )
        outcome = evaluate_sla(engine, settings.sla, settings.timezone, now, run_id, full=True)
        with engine.connect() as conn:
            stages = people_per_stage(conn)
    summary = {
        **people,
        "stages": stages,
        "evaluations": outcome.evaluations,
        **{status: outcome.by_status.get(status, 0) for status in SLA_STATUSES},
        "new_breaches": outcome.new_breaches,
        "revised": len(outcome.revised),
        "periods": list(outcome.periods),
    }
    logger.info("people rebuild %s: %s", run_id, summary)
    return summary
