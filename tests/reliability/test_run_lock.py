"""The warehouse run lock on both dialects: exclusive, waits then gives up naming the
warehouse with its password masked, and a SIGKILLed holder leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from leadflow.models.warehouse.run_lock import RunLocked, warehouse_lock


def test_a_second_holder_is_refused_until_the_first_lets_go(warehouse_url):
    waited = []
    with warehouse_lock(warehouse_url, "sync"):
        started = time.monotonic()
        with (
            pytest.raises(RunLocked, match="another sync run holds the lock") as refused,
            warehouse_lock(
                warehouse_url,
                "sync",
                wait_seconds=0.3,
                poll_seconds=0.05,
                on_wait=lambda: waited.append(1),
            ),  # fmt: skip
        ):
            pass
        assert time.monotonic() - started >= 0.3
        with warehouse_lock(warehouse_url, "people", wait_seconds=0):
            pass  # another name is another lock
    assert waited == [1]
    assert "nothing was written" in str(refused.value)
    with warehouse_lock(warehouse_url, "sync", wait_seconds=0):
        pass


@pytest.mark.postgres
def test_the_refusal_names_the_warehouse_with_the_password_masked(pg_admin_engine):
    if isinstance(pg_admin_engine, str):
        pytest.skip(pg_admin_engine)  # the other tests on PostgreSQL fail in CI
    # The test server trusts local connections, so any password is accepted.
    url = pg_admin_engine.url.set(password="s3cret-pw").render_as_string(hide_password=False)
    with (
        warehouse_lock(url, "sync"),
        pytest.raises(RunLocked) as refused,
        warehouse_lock(url, "sync"),
    ):
        pass
    assert "s3cret-pw" not in str(refused.value)
    assert "***@127.0.0.1" in str(refused.value)


def test_a_killed_holder_releases_the_lock(warehouse_url):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from leadflow.models.warehouse.run_lock import warehouse_lock
            with warehouse_lock({warehouse_url!r}, "sync"):
                print("held", flush=True)
                time.sleep(600)
        """)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked), warehouse_lock(warehouse_url, "sync"):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with warehouse_lock(warehouse_url, "sync", wait_seconds=10, poll_seconds=0.1):
        pass
