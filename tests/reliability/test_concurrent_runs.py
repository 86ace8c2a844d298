"""Two ``leadflow sync`` processes started at once on one PostgreSQL warehouse: no
duplicates, no lock or transaction left behind; the second waits for the first (the run
lock), and the warehouse ends exactly as one clean run leaves it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from leadflow.models.warehouse.engine import create_engine
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from tests.reliability.cli_runs import (
    HUBSPOT_TOKEN,
    differences,
    hubspot_config,
    start_sync,
    warehouse_state,
)

CONTACTS = 1000


@pytest.fixture
def pg_warehouses(pg_databases) -> Iterator[tuple[str, str]]:
    """Two fresh, empty PostgreSQL databases (the shared one and a clean reference)."""
    if isinstance(pg_databases, str):
        from tests.conftest import _pg_unavailable

        _pg_unavailable(pg_databases)
    names = [pg_databases.take(migrated=False) for _ in range(2)]
    try:
        yield pg_databases.url(names[0]), pg_databases.url(names[1])
    finally:
        for name in names:
            pg_databases.give_back(name)


def leftovers(url: str) -> list[str]:
    """Sessions still in a transaction or waiting on a lock, and advisory locks still held."""
    engine = create_engine(url)
    with engine.connect() as conn:
        me = conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
        busy = conn.execute(
            sa.text(
                "select state from pg_stat_activity where datname = current_database() "
                "and pid <> :me and (state like 'idle in transaction%' or wait_event_type = 'Lock')"
            ),
            {"me": me},
        ).scalars()
        locks = conn.execute(
            sa.text(
                "select count(*) from pg_locks where locktype = 'advisory' and database = "
                "(select oid from pg_database where datname = current_database())"
            )
        ).scalar_one()
        found = [*busy] + ([f"{locks} advisory locks"] if locks else [])
    engine.dispose()
    return found


@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_two_syncs_at_once_on_postgresql_leave_no_duplicate_and_converge(
    prefect_url, pg_warehouses, tmp_path
):
    shared_url, clean_url = pg_warehouses
    shared_dir, clean_dir = tmp_path / "shared", tmp_path / "clean"
    shared_dir.mkdir(), clean_dir.mkdir()
    with HubSpotSandbox.unthrottled(hubspot_contacts(CONTACTS), token=HUBSPOT_TOKEN) as sandbox:
        clean = start_sync(hubspot_config(clean_dir, clean_url, sandbox.base_url), prefect_url,
                           tmp_path / "clean.log")  # fmt: skip
        assert clean.wait(timeout=600) == 0, (tmp_path / "clean.log").read_text()[-3000:]
        config = hubspot_config(shared_dir, shared_url, sandbox.base_url)
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        both = [start_sync(config, prefect_url, log) for log in logs]
        codes = [process.wait(timeout=600) for process in both]
        texts = [log.read_text() for log in logs]
        print("exit codes:", codes)
        assert leftovers(shared_url) == []
        # The run lock: one sync waited for the other, then both completed.
        assert codes == [0, 0], texts
        waited = ["leadflow: sync: the sync lock of warehouse" in text for text in texts]
        assert sorted(waited) == [False, True]
    assert differences(warehouse_state(clean_url), warehouse_state(shared_url)) == []
