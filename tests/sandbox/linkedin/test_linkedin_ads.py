"""The LinkedIn sandbox's ads endpoints over real HTTP: daily analytics that match the data,
their errors, and the campaign search."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from leadflow.sandbox.linkedin.data import LinkedInDataset
from tests.sandbox.linkedin.restli_client import ACCOUNT_A, Client, enc


# -- ads ---------------------------------------------------------------------------------------
def analytics_query(facet: str, first: date, last: date, **extra: str) -> str:
    def ymd(d: date) -> str:
        return f"(year:{d.year},month:{d.month},day:{d.day})"

    params = {"q": "analytics", "pivot": "CAMPAIGN", "timeGranularity": "DAILY",
              "dateRange": f"(start:{ymd(first)},end:{ymd(last)})", **extra}  # fmt: skip
    return "&".join(f"{k}={v}" for k, v in params.items()) + f"&{facet}"


def test_daily_analytics_match_the_dataset(shared: Client, dataset: LinkedInDataset) -> None:
    first, last = date(2026, 10, 1), date(2026, 11, 26)
    campaigns = [c["urn"] for c in dataset.campaigns if c["account"] == ACCOUNT_A]
    facet = "campaigns=List(" + ",".join(enc(urn) for urn in campaigns) + ")"
    fields = "costInLocalCurrency,impressions,clicks,dateRange,pivotValues"
    body = shared.get(
        "/rest/adAnalytics", analytics_query(facet, first, last, fields=fields)
    ).json()
    got = {}
    for row in body["elements"]:
        start, end = row["dateRange"]["start"], row["dateRange"]["end"]
        assert (
            start == end
            and isinstance(row["costInLocalCurrency"], str)
            and isinstance(row["impressions"], int)
        )
        got[(row["pivotValues"][0], date(start["year"], start["month"], start["day"]))] = Decimal(
            row["costInLocalCurrency"]
        )
    expected = {
        k: v
        for k, v in dataset.cost_by_campaign_day().items()
        if k[0] in campaigns and first <= k[1] <= last
    }
    assert got == expected and len(got) > 60
    default = shared.get("/rest/adAnalytics", analytics_query(facet, first, last)).json()
    assert all(set(row) == {"impressions", "clicks"} for row in default["elements"])
    total = shared.get("/rest/adAnalytics", analytics_query(
        f"accounts=List({enc(ACCOUNT_A)})", first, last, timeGranularity="ALL", pivot="ACCOUNT", fields="costInLocalCurrency,pivotValues"
    )).json()["elements"]  # fmt: skip
    assert total == [
        {"costInLocalCurrency": str(sum(expected.values())), "pivotValues": [ACCOUNT_A]}
    ]


def test_analytics_errors_and_lenient_urns(shared: Client, dataset: LinkedInDataset) -> None:
    day = date(2026, 11, 2)
    assert shared.get("/rest/adAnalytics", analytics_query("x=1", day, day)).status_code == 400
    urn = dataset.campaigns[0]["urn"]
    raw = shared.get("/rest/adAnalytics", analytics_query(f"campaigns=List({urn})", day, day))
    assert raw.ok and raw.json()["elements"]  # LinkedIn's own examples leave URN colons unencoded
    monthly = shared.get("/rest/adAnalytics", analytics_query(
        f"campaigns=List({enc(urn)})", date(2026, 10, 15), date(2026, 11, 10), timeGranularity="MONTHLY", fields="dateRange"
    )).json()["elements"]  # fmt: skip
    assert [r["dateRange"]["start"]["day"] for r in monthly] == [15, 1]
    assert monthly[1]["dateRange"]["end"]["day"] == 10


def test_campaign_search(shared: Client) -> None:
    body = shared.get(
        "/rest/adAccounts/510000101/adCampaigns", "q=search&search=(status:(values:List(ACTIVE)))"
    ).json()
    assert [c["name"] for c in body["elements"]] == [
        "Demo request - US/CA",
        "Demo request - retargeting",
    ]
    assert all(c["account"] == ACCOUNT_A and c["status"] == "ACTIVE" for c in body["elements"])
