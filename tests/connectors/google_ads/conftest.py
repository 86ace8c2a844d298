"""A fresh Google Ads sandbox for each test: 200 submissions, seven rows a page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import google_ads_dataset


@pytest.fixture
def sandbox() -> Iterator[GoogleAdsSandbox]:
    with GoogleAdsSandbox(google_ads_dataset(200), page_size=7) as ads:
        yield ads
