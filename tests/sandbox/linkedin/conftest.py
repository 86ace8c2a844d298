"""The LinkedIn sandbox under test: a shared one per module, or a fresh one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import LinkedInDataset, linkedin_dataset
from tests.sandbox.linkedin.restli_client import Client


@pytest.fixture(scope="module")
def dataset() -> LinkedInDataset:
    return linkedin_dataset()


@pytest.fixture(scope="module")
def shared(dataset: LinkedInDataset) -> Iterator[Client]:
    with LinkedInSandbox(dataset) as sandbox:
        yield Client(sandbox)


@pytest.fixture
def sandbox() -> Iterator[LinkedInSandbox]:
    with LinkedInSandbox(linkedin_dataset(60, seed=3)) as li:
        yield li
