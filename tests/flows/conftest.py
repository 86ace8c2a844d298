"""Prefect runs for real in these tests: one temporary local API for the session.

PREFECT_HOME and analytics are set in the root conftest, before anything imports prefect.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield
