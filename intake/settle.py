"""After leads land from webhooks: the people and SLA pass a sync runs, so a new lead's
person, stage and first-touch clock exist seconds after the platform sent it.

The pass is the incremental one every sync runs (``pipeline.people.resolve_and_classify``
then ``models.sla.run.evaluate_warehouse``): only people whose facts changed since the last
pass are classified and evaluated. It takes the people lock without waiting: when a sync
(or another intake process) is classifying, this pass is skipped and tried again on the next
turn of the loop, so nothing waits on a nightly sync and no change is counted twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from leadflow.config.settings import Settings
from leadflow.models.people.rules import load_rules
from leadflow.models.sla.run import evaluate_warehouse
from leadflow.pipeline.locks import LockHeld, people_lock
from leadflow.pipeline.people import resolve_and_classify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    """What one pass did: people classified, and SLA evaluations stored."""

    classified: int
    evaluated: int


def settle(engine: Engine, settings: Settings, now: datetime | None = None) -> Settled | None:
    """Classify and evaluate who changed; None when another run holds the people lock."""
    at = now or datetime.now(UTC)
    run_id = f"intake-{uuid.uuid4()}"
    try:
        with people_lock(settings, wait_minutes=0):
            people = resolve_and_classify(
                engine,
                rules=load_rules(settings.classification_rules),
                now=at,
                run_id=run_id,
                logger=log,
                hash_salt=settings.privacy.salt(),
            )
            outcome = evaluate_warehouse(engine, settings.sla, settings.timezone, at, run_id)
    except LockHeld:
        log.info("intake: people are being classified by another run; settling later")
        return None
    evaluated = outcome.evaluations if outcome.evaluated is None else outcome.evaluated
    done = Settled(int(people.get("classified", 0)), evaluated)
    log.info("intake: %d people classified, %d SLA evaluations", done.classified, done.evaluated)
    return done
