"""LinkedIn spend rows that cannot load are quarantined while the rest of the report loads
(issue 19), on SQLite and PostgreSQL.

The elements are shaped as the Ads Reporting docs show them
(https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/ads-reporting
, q=analytics, pivot=CAMPAIGN, timeGranularity=DAILY): ``pivotValues`` holds the campaign
URN, ``dateRange.start`` the day as year/month/day, ``costInLocalCurrency`` a decimal string.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

import leadflow.sandbox.linkedin.app as linkedin_app
from leadflow.connectors.linkedin.connector import CONNECTOR, LinkedInConfig
from leadflow.connectors.linkedin.fields import campaign_day
from leadflow.models.records.leads import Rejected
from leadflow.models.records.spend import split_spend
from leadflow.sandbox.linkedin.data import linkedin_dataset
from tests.connectors.spend_quarantine import Tamper, check_spend_quarantine

TOKEN = "test-linkedin-token-123"
AMERICAS = "510000101"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def element(campaign: str, day: date, cost: str) -> dict:
    start = {"year": day.year, "month": day.month, "day": day.day}
    return {
        "pivotValues": [f"urn:li:sponsoredCampaign:{campaign}"],
        "dateRange": {"start": start, "end": dict(start)},
        "costInLocalCurrency": cost,
        "impressions": 2093,
        "clicks": 17,
    }


def test_a_report_with_a_negative_and_a_year_9999_row_keeps_its_good_rows():
    names = {"6001": "Webinar EMEA"}
    body = {
        "paging": {"start": 0, "count": 10, "links": []},
        "elements": [
            element("6001", date(2026, 12, 1), "41.07"),
            element("6002", date(2026, 12, 1), "-3.5"),
            element("6003", date(9999, 12, 31), "9.99"),
            element("6004", date(2026, 12, 2), "0.01"),
        ],
    }
    items = [campaign_day(e, AMERICAS, "USD", names) for e in body["elements"]]
    rows, rejected = split_spend(items, NOW)
    assert [(r.campaign_id, r.day, r.spend, r.campaign_name) for r in rows] == [
        ("6001", date(2026, 12, 1), Decimal("41.07"), "Webinar EMEA"),
        ("6004", date(2026, 12, 2), Decimal("0.01"), None),
    ]
    assert [(r.record_key, r.field_name, r.reason) for r in rejected] == [
        ("spend:6002:2026-12-01", "spend", "negative"),
        ("spend:6003:9999-12-31", "day", "more than 1 day after the load time, out of range"),
    ]
    assert {(r.source, r.account_id) for r in rejected} == {("linkedin", AMERICAS)}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"pivotValues": []}, "campaign_id", "pivotValues: missing"),
        ({"dateRange": {}}, "day", "dateRange.start: missing"),
        ({"dateRange": {"start": {"year": 2026, "month": 2}}}, "day", "dateRange.start: missing"),
        (
            {"dateRange": {"start": {"year": 2026, "month": 13, "day": 1}}},
            "day",
            "dateRange.start: not a date",
        ),
        ({"costInLocalCurrency": "Infinity"}, "spend", "not a finite amount"),
        ({"impressions": -5}, "impressions", "negative"),
    ],
)
def test_each_bad_element_names_its_field_and_problem(change, field, reason):
    # Before issue 19 an element without a campaign or a day was dropped without a trace.
    item = campaign_day(element("6001", date(2026, 12, 1), "1") | change, AMERICAS, "USD", {})
    assert isinstance(item, Rejected)
    assert (item.field_name, item.reason) == (field, reason)


def test_a_spend_report_over_http_quarantines_its_bad_rows_and_loads_the_rest(
    migrated_engine, monkeypatch
):
    def key(e):
        start = e["dateRange"]["start"]
        day = date(start["year"], start["month"], start["day"])
        return e["pivotValues"][0].rsplit(":", 1)[-1], day.isoformat()

    def negate(e):
        e["costInLocalCurrency"] = "-3.5"

    def far_future(e):
        e["dateRange"] = {"start": {"year": 9999, "month": 12, "day": 31}}

    tamper = Tamper(key, negate, far_future)
    report = linkedin_app.analytics_elements
    monkeypatch.setattr(linkedin_app, "analytics_elements", lambda *a: tamper(report(*a)))
    with linkedin_app.LinkedInSandbox(linkedin_dataset(100), token=TOKEN) as sandbox:
        config = LinkedInConfig(
            base_url=sandbox.base_url,
            access_token=TOKEN,
            sponsored_account_ids=[AMERICAS],
            backoff_seconds=0.01,
        )
        check_spend_quarantine(CONNECTOR, config, AMERICAS, migrated_engine, tamper)
