"""Fixtures of the reliability suite: the sandbox platforms and their clean-run snapshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.platforms import (
    Platforms,
    Snapshot,
    fresh_warehouse,
    running_platforms,
    snapshot,
    sync_platform,
)


@pytest.fixture(scope="module")
def platforms() -> Iterator[Platforms]:
    with running_platforms() as running:
        yield running


@pytest.fixture(scope="module")
def reference(platforms: Platforms, tmp_path_factory: pytest.TempPathFactory):
    """``reference(platform)``: what one clean run loads (computed once per module)."""
    cache: dict[str, Snapshot] = {}

    def get(platform: str) -> Snapshot:
        if platform not in cache:
            folder = tmp_path_factory.mktemp(f"clean-{platform}")
            engine = fresh_warehouse(f"sqlite:///{folder / 'w.db'}")
            outcome = sync_platform(platforms.sources[platform], engine, "clean")
            assert not outcome.errors, outcome.errors
            cache[platform] = snapshot(engine, platform)
            engine.dispose()
            assert cache[platform].hashes, f"the clean {platform} run loaded nothing"
        return cache[platform]

    return get


@pytest.fixture(scope="session")
def prefect_url() -> Iterator[str]:
    """The URL of one Prefect API for the session, for sync subprocesses to share."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield str(PREFECT_API_URL.value())
