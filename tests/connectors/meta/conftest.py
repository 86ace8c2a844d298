"""The Meta sandbox, fresh for each test, over one dataset per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import MetaDataset, meta_dataset
from tests.connectors.meta.support import TOKEN


@pytest.fixture(scope="module")
def dataset() -> MetaDataset:
    return meta_dataset(600)


@pytest.fixture
def sandbox(dataset: MetaDataset) -> Iterator[MetaSandbox]:
    with MetaSandbox(dataset, token=TOKEN) as meta:
        yield meta
