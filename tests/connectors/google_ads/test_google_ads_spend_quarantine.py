"""Google Ads spend rows that cannot load are quarantined while the rest of the report
loads (issue 19), on SQLite and PostgreSQL.

The rows are shaped as GoogleAdsService.Search answers over REST
(https://developers.google.com/google-ads/api/rest/reference/rest/v24/customers.googleAds/search
and https://developers.google.com/google-ads/api/docs/rest/design/json-mappings): fields in
lowerCamelCase, nested by resource, int64 values (``costMicros``, ``impressions``) as strings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leadflow.connectors.google_ads.connector import CONNECTOR
from leadflow.connectors.google_ads.fields import campaign_day
from leadflow.models.records.leads import Rejected
from leadflow.models.records.spend import split_spend
from tests.connectors.google_ads.support import LA, config
from tests.connectors.spend_quarantine import FAR_FUTURE, Tamper, check_spend_quarantine

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def result(campaign: str, day: str, micros: str) -> dict:
    return {
        "campaign": {
            "resourceName": f"customers/{LA}/campaigns/{campaign}",
            "id": campaign,
            "name": f"Search {campaign}",
        },
        "metrics": {"costMicros": micros, "clicks": "12", "impressions": "480"},
        "segments": {"date": day},
    }


def test_a_report_with_a_negative_and_a_year_9999_row_keeps_its_good_rows():
    body = {
        "results": [
            result("2100", "2026-12-01", "41070000"),
            result("2101", "2026-12-01", "-3500000"),
            result("2102", FAR_FUTURE, "9990000"),
            result("2103", "2026-12-02", "10000"),
        ],
        "fieldMask": "campaign.id,campaign.name,segments.date,metrics.costMicros,"
        "metrics.clicks,metrics.impressions",
    }
    items = [campaign_day(row, LA, "USD") for row in body["results"]]
    rows, rejected = split_spend(items, NOW)
    assert [(r.campaign_id, r.day, r.spend, r.campaign_name) for r in rows] == [
        ("2100", date(2026, 12, 1), Decimal("41.07"), "Search 2100"),
        ("2103", date(2026, 12, 2), Decimal("0.01"), "Search 2103"),
    ]
    assert [(r.record_key, r.field_name, r.reason) for r in rejected] == [
        ("spend:2101:2026-12-01", "spend", "negative"),
        ("spend:2102:9999-12-31", "day", "more than 1 day after the load time, out of range"),
    ]
    assert [r.raw for r in rejected] == [body["results"][1], body["results"][2]]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"metrics": {"costMicros": "12.5"}}, "spend", "metrics.costMicros: not a valid amount"),
        ({"metrics": {"costMicros": "1", "clicks": "-1"}}, "clicks", "negative"),
        ({"segments": {}}, "day", "segments.date: missing"),
        ({"segments": {"date": "2026-02-30"}}, "day", "segments.date: not a date"),
        ({"campaign": {"name": "x"}}, "campaign_id", "campaign.id: missing"),
        ({"campaign": "customers/1/campaigns/2"}, "campaign_id", "campaign.id: not an id"),
    ],
)
def test_each_bad_value_names_its_field_and_problem(change, field, reason):
    item = campaign_day(result("2100", "2026-12-01", "1000000") | change, LA, "USD")
    assert isinstance(item, Rejected)
    assert (item.field_name, item.reason) == (field, reason)


def test_a_campaign_known_by_its_resource_name_only_keeps_its_id():
    row = result("2100", "2026-12-01", "1000000")
    del row["campaign"]["id"]
    assert campaign_day(row, LA, "USD").campaign_id == "2100"


def test_a_spend_report_over_http_quarantines_its_bad_rows_and_loads_the_rest(
    migrated_engine, sandbox, monkeypatch
):
    def negate(row):
        row["metrics"]["costMicros"] = "-3500000"

    def far_future(row):
        row["segments"]["date"] = FAR_FUTURE

    tamper = Tamper(lambda r: (r["campaign"]["id"], r["segments"]["date"]), negate, far_future)
    execute = sandbox._execute

    def served(customer, compiled):
        rows, total, scanned = execute(customer, compiled)
        if compiled.query.resource != "campaign" or not any("segments" in r for r in rows):
            return rows, total, scanned
        spoiled = tamper(rows)
        return spoiled, total + len(spoiled) - len(rows), scanned

    monkeypatch.setattr(sandbox, "_execute", served)
    check_spend_quarantine(CONNECTOR, config(sandbox), LA, migrated_engine, tamper)
