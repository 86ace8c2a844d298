"""The Meta sandbox's ad accounts and Ads Insights over real HTTP: spend that matches the data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from leadflow.sandbox.meta.app import MetaSandbox
from tests.sandbox.meta.graph_client import DECIMAL, Graph, error_of


@pytest.fixture(scope="module")
def shared() -> Iterator[Graph]:
    with MetaSandbox() as meta:
        yield Graph(meta)


def test_insights_daily_campaign_spend_matches_dataset(shared: Graph) -> None:
    data = shared.meta.dataset
    account = data.ad_accounts[0]
    since, until = date(2026, 10, 1), date(2026, 11, 25)
    rows = shared.all(
        f"/act_{account.id}/insights", level="campaign", time_increment=1, limit=50,
        fields="campaign_id,campaign_name,spend,impressions,clicks,date_start,date_stop",
        time_range=json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
    )  # fmt: skip
    assert all(row["date_start"] == row["date_stop"] for row in rows)
    assert all(isinstance(row[m], str) for row in rows for m in ("spend", "impressions", "clicks"))
    assert all(DECIMAL.match(row["spend"]) for row in rows)
    got = {(row["campaign_id"], row["date_start"]): Decimal(row["spend"]) for row in rows}
    campaigns = {c.id for c in data.campaigns if c.account_id == account.id}
    expected = {key: value for key, value in data.spend_by_campaign_day().items()
                if key[0] in campaigns and since.isoformat() <= key[1] <= until.isoformat()}  # fmt: skip
    assert got == expected and len(rows) == len(expected)
    total = shared.ok(
        f"/act_{account.id}/insights", time_range=f"{{'since':'{since}','until':'{until}'}}"
    )
    assert set(total["data"][0]) == {
        "account_id",
        "impressions",
        "spend",
        "date_start",
        "date_stop",
    }
    assert Decimal(total["data"][0]["spend"]) == sum(expected.values())
    weekly = shared.all(f"/act_{account.id}/insights", level="campaign", time_increment=7,
                        time_range=json.dumps({"since": "2026-11-01", "until": "2026-11-20"}))  # fmt: skip
    assert {(r["date_start"], r["date_stop"]) for r in weekly} == {
        ("2026-11-01", "2026-11-07"),
        ("2026-11-08", "2026-11-14"),
        ("2026-11-15", "2026-11-20"),
    }


def test_ad_account_and_insights_errors(shared: Graph) -> None:
    account = shared.meta.dataset.ad_accounts[1]
    node = shared.ok(f"/act_{account.id}", fields="currency,timezone_name,name")
    assert node == {
        "currency": "GBP",
        "timezone_name": "Europe/London",
        "name": account.name,
        "id": f"act_{account.id}",
    }
    path = f"/act_{account.id}/insights"
    assert error_of(shared.get(path, time_range="2026-11-01"))["code"] == 100
    assert (
        error_of(shared.get(path, time_range='{"since":"2022-01-01","until":"2022-01-02"}'))["code"]
        == 3018
    )
    assert error_of(shared.get(path, level="creative"))["code"] == 100
    assert error_of(shared.get(path, fields="spend,roas"))["message"].endswith(
        "on node type (AdsInsights)"
    )
    unknown = error_of(shared.get("/act_999/insights"))
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)
