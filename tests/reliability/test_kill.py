"""SIGKILL ``leadflow sync`` at seeded random moments, rerun it, and compare the warehouse
with one built by a single clean run: same keys, same values, nothing doubled.

The sync subprocesses share one Prefect API (the test harness's, exported as
PREFECT_API_URL), so a restart does not pay for a temporary server. CI kills 12 times over
extraction and load of 5,000 HubSpot contacts plus once during people classification;
``LEADFLOW_HEAVY=1`` syncs 50,000 contacts and kills 34 times (30 + 4).
``LEADFLOW_KILL_CONTACTS`` and ``LEADFLOW_KILL_SEED`` override the size and the seed.
"""

from __future__ import annotations

import os
import random

import pytest
import sqlalchemy as sa

from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, sync_runs
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from tests.reliability.cli_runs import (
    HUBSPOT_TOKEN,
    count_rows,
    differences,
    hubspot_config,
    kill,
    linger,
    start_sync,
    wait_until,
    warehouse_state,
)
from tests.reliability.platforms import HEAVY

SEED = int(os.environ.get("LEADFLOW_KILL_SEED", "20261129"))
CONTACTS = int(os.environ.get("LEADFLOW_KILL_CONTACTS", "50000" if HEAVY else "5000"))
LOAD_KILLS = 30 if HEAVY else 10
CLASSIFY_KILLS = 4 if HEAVY else 1


@pytest.mark.timeout(3600 if HEAVY else 900)
def test_killed_syncs_rerun_to_exactly_what_one_clean_run_loads(prefect_url, tmp_path):
    rng = random.Random(SEED)
    contacts = hubspot_contacts(CONTACTS)
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    clean_dir.mkdir(), killed_dir.mkdir()
    clean_url = f"sqlite:///{clean_dir / 'w.db'}"
    killed_url = f"sqlite:///{killed_dir / 'w.db'}"
    log = tmp_path / "sync.log"
    with HubSpotSandbox.unthrottled(contacts, token=HUBSPOT_TOKEN) as sandbox:
        clean = start_sync(hubspot_config(clean_dir, clean_url, sandbox.base_url), prefect_url, log)
        clean_code = clean.wait(timeout=900)
        expected = warehouse_state(clean_url)
        total = len(expected["leads"])
        assert total > 0.9 * CONTACTS, log.read_text()[-3000:]

        config = hubspot_config(killed_dir, killed_url, sandbox.base_url)
        engine = create_engine(killed_url)
        kills, missed = [], 0
        # Extraction and load: kill once the warehouse holds a random share of the leads,
        # plus a random fraction of a page's time, so kills land mid-request and mid-commit.
        points = sorted(rng.uniform(0.0, 1.0) for _ in range(LOAD_KILLS))
        for share in points:
            process = start_sync(config, prefect_url, log)
            reached = wait_until(process, lambda s=share: count_rows(engine, leads) >= s * total)
            if not reached:
                missed += 1
                continue
            linger(process, rng.uniform(0.0, 0.4))
            if process.poll() is not None:
                missed += 1
                continue
            kill(process)
            kills.append(("load", round(share, 3), count_rows(engine, leads)))
        # People: kill after the loads finished, while identity and classification run.
        for _ in range(CLASSIFY_KILLS):
            process = start_sync(config, prefect_url, log)
            done = sa.and_(
                sync_runs.c.status == "succeeded", sync_runs.c.account_id == "kill-portal"
            )
            before = count_rows(engine, sync_runs, done)
            finished = lambda b=before, d=done: count_rows(engine, sync_runs, d) > b  # noqa: E731
            if wait_until(process, finished):
                linger(process, rng.uniform(0.5, 4.0))
                if process.poll() is None:
                    kill(process)
                    kills.append(("people", None, count_rows(engine, leads)))
                    continue
            missed += 1
        final = start_sync(config, prefect_url, log)
        final_code = final.wait(timeout=900)
        engine.dispose()
    print(f"kills: {kills}; missed: {missed}")
    assert final_code == clean_code, log.read_text()[-3000:]
    assert len([k for k in kills if k[0] == "load"]) >= 10, kills
    assert differences(expected, warehouse_state(killed_url)) == []
