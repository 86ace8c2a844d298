"""Meta spend rows that cannot load are quarantined while the rest of the report loads
(issue 19), on SQLite and PostgreSQL.

The rows are shaped as the Ads Insights docs show them
(https://developers.facebook.com/docs/marketing-api/insights , level=campaign,
time_increment=1): ids and metrics as strings, ``date_start``/``date_stop`` per day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

import leadflow.sandbox.meta.app as meta_app
from leadflow.connectors.meta.connector import CONNECTOR, _campaign_day
from leadflow.models.records.leads import Rejected
from leadflow.models.records.spend import CampaignDay, split_spend
from tests.connectors.meta.support import sandbox_config
from tests.connectors.spend_quarantine import FAR_FUTURE, Tamper, check_spend_quarantine

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def insight(campaign: str, day: str, spend: str, **more: str) -> dict[str, str]:
    return {"campaign_id": campaign, "campaign_name": f"Campaign {campaign}", "spend": spend,
            "impressions": "1520", "clicks": "31", "date_start": day, "date_stop": day,
            **more}  # fmt: skip


def test_a_report_with_a_negative_and_a_year_9999_row_keeps_its_good_rows():
    body = [
        insight("120210", "2026-12-01", "41.07"),
        insight("120211", "2026-12-01", "-3.50"),
        insight("120212", FAR_FUTURE, "9.99"),
        insight("120213", "2026-12-02", "0.01"),
    ]
    rows, rejected = split_spend([_campaign_day("101", "EUR", row) for row in body], NOW)
    assert [(r.campaign_id, r.day, r.spend) for r in rows] == [
        ("120210", date(2026, 12, 1), Decimal("41.07")),
        ("120213", date(2026, 12, 2), Decimal("0.01")),
    ]
    assert all(isinstance(r, CampaignDay) and r.currency == "EUR" for r in rows)
    assert [(r.record_key, r.field_name, r.reason) for r in rejected] == [
        ("spend:120211:2026-12-01", "spend", "negative"),
        ("spend:120212:9999-12-31", "day", "more than 1 day after the load time, out of range"),
    ]
    assert [r.raw for r in rejected] == [body[1], body[2]]
    assert {(r.source, r.account_id) for r in rejected} == {("meta", "101")}


@pytest.mark.parametrize(
    ("change", "field", "reason", "keyed"),
    [
        ({"spend": "NaN"}, "spend", "not a finite amount", True),
        ({"spend": "1.0000001"}, "spend", "finer than a millionth of the currency unit", True),
        ({"spend": "12,50"}, "spend", "spend: not a valid amount", True),
        ({"clicks": "-2"}, "clicks", "negative", True),
        ({"impressions": "1.5"}, "impressions", "impressions: not a whole number", True),
        ({"date_start": "0001-01-01"}, "day", "before 2000-01-01, out of range", True),
        ({"date_start": "2026-13-01"}, "day", "date_start: not a date", False),
        ({"date_start": None}, "day", "date_start: missing", False),
        ({"campaign_id": ""}, "campaign_id", "campaign_id: missing", False),
    ],
)
def test_each_bad_value_names_its_field_and_problem(change, field, reason, keyed):
    row = insight("120210", "2026-12-01", "41.07") | change
    item = _campaign_day("101", "EUR", row)
    assert isinstance(item, Rejected)
    assert (item.field_name, item.reason) == (field, reason)
    key = "spend:120210:" + str(row["date_start"])
    assert item.record_key == (key if keyed else None)  # None: keyed by the row's hash


def test_a_spend_report_over_http_quarantines_its_bad_rows_and_loads_the_rest(
    migrated_engine, dataset, monkeypatch
):
    def negate(row):
        row["spend"] = "-3.50"

    def far_future(row):
        row["date_start"] = row["date_stop"] = FAR_FUTURE

    tamper = Tamper(lambda r: (r["campaign_id"], r["date_start"]), negate, far_future)
    report = meta_app.insight_rows
    monkeypatch.setattr(meta_app, "insight_rows", lambda *a, **k: tamper(report(*a, **k)))
    with meta_app.MetaSandbox(dataset, token="sandbox-meta-token-0123") as sandbox:
        config = sandbox_config(sandbox, page_size=25)
        account = sandbox.dataset.ad_accounts[0].id
        check_spend_quarantine(CONNECTOR, config, account, migrated_engine, tamper)
