"""Resolve people across platforms, then classify each: the warehouse glue, no Prefect.

Identity resolution runs over every lead in one transaction (it must see them all to
join them); classification then runs in batches of ``BATCH_SIZE`` people, one transaction
each, so a failure keeps the batches already done and a rerun finishes the rest.

Every person is classified on every run: engagement decays with time, so a person whose
facts did not change can still change lifecycle. (Optimisation left for later: skip people
whose leads, events and touches did not change since ``people.classified_at`` and who
cannot decay or qualify by time alone.)
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from models.classify import classify, transitions
from models.identity import resolve
from models.leads import Stage
from models.people import (
    read_lead_keys,
    read_person_facts,
    read_previous_person_ids,
    save_classifications,
    save_identity,
)
from models.privacy import refresh_email_hashes
from models.rules import Rules
from models.upsert import chunks, require_aware

log = logging.getLogger(__name__)
Logger = logging.Logger | logging.LoggerAdapter
BATCH_SIZE = 2_000


def resolve_and_classify(
    engine: Engine,
    *,
    rules: Rules,
    now: datetime,
    run_id: str,
    logger: Logger | None = None,
    batch_size: int = BATCH_SIZE,
    hash_salt: str | None = None,
) -> dict[str, Any]:
    """Resolve every lead into people, store them, and classify every person as of ``now``.

    Returns {people, merged, classified, transitions, qualified}: people resolved, merges
    this run, people classified, new stage transitions stored, people now qualified.
    Rerunning with the same data adds no transition and keeps every person id.
    With ``hash_salt`` (privacy.hash_salt), ``people.email_hash`` is brought up to date too.
    """
    logger = logger or log
    require_aware(now=now)
    with engine.begin() as conn:
        resolution = resolve(read_lead_keys(conn), read_previous_person_ids(conn))
        identity = save_identity(conn, resolution, now, run_id)
        if hash_salt:
            refresh_email_hashes(conn, hash_salt)
    for note in resolution.notes:
        logger.warning("identity: %s", note)
    logger.info(
        "identity: %d people (%d new, %d profiles changed), %d merged; re-pointed %d leads, "
        "%d event emails, %d touched leads",
        identity.people,
        identity.new_people,
        identity.changed_profiles,
        identity.merged,
        identity.leads,
        identity.events,
        identity.touches,
    )
    classified = new_transitions = qualified = 0
    for batch in chunks(sorted(resolution.clusters), batch_size):
        with engine.begin() as conn:
            results = []
            for facts in read_person_facts(conn, batch):
                found = classify(facts, rules, now)
                results.append((facts.person_id, found, transitions(facts.previous, found, now)))
            new_transitions += save_classifications(conn, results, now, run_id)
        classified += len(results)
        qualified += sum(1 for _, found, _ in results if found.stage == Stage.QUALIFIED)
    summary = {
        "people": identity.people,
        "merged": identity.merged,
        "classified": classified,
        "transitions": new_transitions,
        "qualified": qualified,
    }
    logger.info("classification: %s", summary)
    return summary
