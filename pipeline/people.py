"""Resolve people across platforms, then classify each: the warehouse glue, no Prefect.

Identity resolution runs over every lead's keys in one transaction (it must see them all
to join them), but rebuilds only the profiles of people whose leads changed. Classification
then runs in batches of ``BATCH_SIZE`` people, one transaction each, so a failure keeps the
batches already done and a rerun finishes the rest.

On PostgreSQL, a first run builds ``people``'s secondary indexes with its last batch, after
every classification (identity left them unbuilt); a run that stopped before then left them
missing, and the next run builds them first.

Only the people whose classification can differ from the stored one are classified: those
whose facts changed since the last run, whom identity touched, whose dated facts stopped
being in the future, or whose non-zero engagement score is older than ``rescore_after``
(``leadflow.models.people.scope`` says why that is exact). New rules, a first run, or ``full=True``
classify everyone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from leadflow.models.people.classification_writes import holds_derived_rows
from leadflow.models.people.identity import id_texts, resolve
from leadflow.models.people.identity_lookup import holds_id
from leadflow.models.people.identity_store import read_identity_input, save_identity
from leadflow.models.people.rules import Rules
from leadflow.models.people.scope import (
    changed_lead_keys,
    erased_since,
    fact_watermark,
    mark_for_classification,
    people_to_classify,
    qualified_count,
    read_state,
    rules_fingerprint,
    save_state,
    touches_changed_since,
)
from leadflow.models.privacy.suppression import refresh_email_hashes
from leadflow.models.records.encoding import chunks, require_aware
from leadflow.models.warehouse.engine import analyze, analyze_if_stale
from leadflow.models.warehouse.indexes import (
    build_missing_indexes,
    create_secondary_indexes,
    table_empty,
)
from leadflow.models.warehouse.tables import (
    email_people,
    engagement_events,
    lead_people,
    leads,
    people,
    sales_touches,
    stage_transitions,
)
from leadflow.pipeline.classification import (
    ClassificationJob,
    classify_in_parallel,
    parallel_worthwhile,
)

log = logging.getLogger(__name__)
Logger = logging.Logger | logging.LoggerAdapter
BATCH_SIZE = 2_000
RESCORE_AFTER = timedelta(hours=12)
NOTES_LOGGED = 20  # identity notes (phones too shared to match on) logged per run
# Whether a first run classifies everyone before people's secondary indexes are built, by
# database: each classification rewrites the indexed lifecycle, which on PostgreSQL writes a
# new entry in every index of the row (1M leads: classify 126.5 -> 101.5 s, 1.7 s to build
# them after). On SQLite, building them after made the stage slower (78.8 -> 84.6-86.9 s).
UNINDEXED_WHILE_CLASSIFYING = {"postgresql": True}
# The facts classification reads by person, which the loads wrote.
FACTS = (leads, engagement_events, sales_touches)


def resolve_and_classify(
    engine: Engine,
    *,
    rules: Rules,
    now: datetime,
    run_id: str,
    logger: Logger | None = None,
    batch_size: int = BATCH_SIZE,
    hash_salt: str | None = None,
    rescore_after: timedelta = RESCORE_AFTER,
    full: bool = False,
) -> dict[str, Any]:
    """Resolve every lead into people, store them, and classify who needs it as of ``now``.

    Returns {people, merged, classified, transitions, qualified}: people resolved, merges
    this run, people classified this run, new stage transitions stored, people qualified
    now. Rerunning with the same data adds no transition and keeps every person id.
    With ``hash_salt`` (privacy.hash_salt), ``people.email_hash`` is brought up to date too.
    """
    logger = logger or log
    require_aware(now=now)
    fingerprint = rules_fingerprint(rules)
    with engine.begin() as conn:
        # A first run that stopped before building people's indexes left them missing.
        if missing := build_missing_indexes(conn, people):
            logger.warning(
                "people lacked %d of its indexes (a run stopped): built them", len(missing)
            )
        state = None if full else read_state(conn)
        if state is not None and state.rules != fingerprint:
            logger.info("classification rules changed: classifying everyone")
            state = None
        watermark = fact_watermark(conn)
        changed, touched, erased = None, True, True
        if state is not None and state.watermark is not None:
            changed = changed_lead_keys(conn, state.watermark)
            erased = erased_since(conn, state.watermark)
            # Whether the touches need comparing is asked only when nothing else says so.
            touched = bool(changed) or erased or touches_changed_since(conn, state.watermark)
        found = read_identity_input(conn)
        keys, previous = found.keys, found.previous
        # Last run's ids only report changes: none to report on a first run, and the moves
        # (every lead, 64 MB at a million) are only needed by an incremental save.
        last = previous if changed is not None or previous.held() else None
        resolution = resolve(keys, last, rules=rules.identity)
        unindexed = UNINDEXED_WHILE_CLASSIFYING.get(engine.dialect.name, False)
        identity = save_identity(
            conn, resolution, now, run_id, changed=changed, test_held=found.test_held,
            touches_changed=touched, erased=erased, keep_people_unindexed=unindexed,
        )  # fmt: skip
        del keys, previous, last, found
        if hash_salt:
            refresh_email_hashes(conn, hash_salt)
        # What identity just wrote (uncommitted): PostgreSQL must know before batches read
        # by person. The facts the loads brought only when their statistics are stale (no
        # later step analyzes them, and autovacuum may not have yet; a freshly analyzed
        # leads table sampled again cost 0.8 s of a 100k first run). Nothing when no lead
        # changed and identity wrote nothing (2.4 s of a 100k rerun's 11 s, under load).
        if identity.wrote or changed:
            wrote = [t for t in (lead_people, email_people, sales_touches, people)
                     if t.name in identity.wrote]  # fmt: skip
            analyze(conn, *wrote)
            analyze_if_stale(conn, *(t for t in FACTS if t not in wrote))
        replace = holds_derived_rows(conn)  # a first classification has nothing to replace
        transitions_stored = not table_empty(conn, stage_transitions)
        wanted = None
        if state is not None:
            # Identity's people lose classified_at here, so people_to_classify finds them
            # (and a run failing before they are classified leaves them to the next).
            mark_for_classification(conn, None if identity.everyone else identity.affected)
            wanted = people_to_classify(conn, state, now, rescore_after)
    notes, codes = resolution.notes, resolution.person_codes()
    del resolution  # every lead's keys and person: not needed while classifying
    # Everyone's id, sorted, spelled only now (a set of a million ids cost 95 MB at the peak);
    # or the few wanted that are people still, without spelling everyone's.
    if wanted is None:
        chosen = id_texts(codes)
    else:
        chosen = [pid for pid in sorted(wanted) if holds_id(codes, pid)]
    del codes, wanted
    for note in notes[:NOTES_LOGGED]:
        logger.warning("identity: %s", note)
    if len(notes) > NOTES_LOGGED:  # a million leads had 12,000 shared phones
        more = len(notes) - NOTES_LOGGED
        logger.warning("identity: %d more notes like these not logged", more)
    logger.info(
        "identity: %d people (%d new, %d profiles changed), %d merged; re-pointed %d leads, "
        "%d event emails, %d touched leads; %d people to classify",
        identity.people,
        identity.new_people,
        identity.changed_profiles,
        identity.merged,
        identity.leads,
        identity.events,
        identity.touches,
        len(chosen),
    )
    everyone = state is None  # the batches are consecutive runs of all people
    batches = list(chunks(chosen, batch_size)) or [[]]
    job = ClassificationJob(
        rules, now, run_id, replace=replace, everyone=everyone,
        transitions_stored=transitions_stored,
    )  # fmt: skip
    head, last = batches[:-1], batches[-1]
    if parallel_worthwhile(engine, len(chosen)):
        classified, new_transitions = classify_in_parallel(engine, head, job)
    else:
        classified = new_transitions = 0
        for batch in head:
            with engine.begin() as conn:
                count, added = job.run(conn, batch)
            classified, new_transitions = classified + count, new_transitions + added
    with engine.begin() as conn:  # the watermark moves with the last batch only
        count, added = job.run(conn, last)
        # A first run on PostgreSQL classified everyone before people's indexes were built.
        create_secondary_indexes(conn, people, identity.unbuilt)
        save_state(conn, watermark, fingerprint, now)
        qualified = qualified_count(conn)
    classified, new_transitions = classified + count, new_transitions + added
    summary = {
        "people": identity.people,
        "merged": identity.merged,
        "classified": classified,
        "transitions": new_transitions,
        "qualified": qualified,
    }
    logger.info("classification: %s", summary)
    return summary
