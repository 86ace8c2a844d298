"""The intake's settle pass never waits on a run that is classifying: it is skipped while
the people lock is held, and classifies and evaluates once it is free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from leadflow.intake.settle import Settled, settle
from leadflow.pipeline.locks import people_lock
from tests.intake.support import settings


def test_settle_is_skipped_while_the_people_lock_is_held(migrated_engine):
    config = settings(str(migrated_engine.url))
    with ThreadPoolExecutor(1) as pool:  # another thread: it does not hold this one's locks
        with people_lock(config):
            assert pool.submit(settle, migrated_engine, config).result(timeout=60) is None
        done = pool.submit(settle, migrated_engine, config).result(timeout=60)
    assert isinstance(done, Settled)
