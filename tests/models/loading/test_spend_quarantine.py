"""Spend rows that fail validation go to ``quarantine`` with their batch, through the leads'
quarantine path (issue 19), on SQLite and PostgreSQL; the platform mappings feeding them are
tested next to each connector (tests/connectors/<platform>/test_*_spend_quarantine.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.leads import LoadCounts, quarantine_records
from leadflow.models.loading.spend import load_spend
from leadflow.models.loading.state import read_sync_state
from leadflow.models.records.leads import InvalidRecord, Rejected
from leadflow.models.records.spend import (
    CampaignDay,
    check_day,
    read_campaign_day,
    spend_key,
    split_spend,
)
from leadflow.models.warehouse.tables import ad_spend_daily, quarantine

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
DAY = date(2026, 3, 1)
PLATFORM, ACCOUNT, STATE_KEY = "google_ads", "1234567890", "spend:1234567890"


def day(campaign_id: str = "c1", **overrides: Any) -> CampaignDay:
    values: dict[str, Any] = {"platform": PLATFORM, "account_id": ACCOUNT,
                              "campaign_id": campaign_id, "day": DAY, "spend": Decimal("1.50")}  # fmt: skip
    return CampaignDay(**(values | overrides))


def rejected(campaign_id: str = "c2", field: str = "spend", reason: str = "negative") -> Rejected:
    raw = {"campaign_id": campaign_id, "spend": "-1", "day": DAY.isoformat()}
    return Rejected(PLATFORM, ACCOUNT, spend_key(campaign_id, DAY), field, reason, raw)


def load(engine: Engine, rows, bad=(), now: datetime = T0, watermark=T0) -> LoadCounts:
    with engine.begin() as conn:
        return load_spend(
            conn, platform=PLATFORM, account_id=ACCOUNT, rows=rows, watermark=watermark,
            state_key=STATE_KEY, now=now, rejected=list(bad),
        )  # fmt: skip


def held(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(quarantine)).mappings().all()
    return {row["record_key"]: dict(row) for row in rows}


def spend_days(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(ad_spend_daily.c.campaign_id)).scalars())


def test_a_batch_loads_its_good_days_and_quarantines_the_rest(migrated_engine: Engine) -> None:
    counts = load(migrated_engine, [day("c1"), day("c3")], [rejected("c2")])
    assert counts == LoadCounts(2, 0, 0, 1)
    assert spend_days(migrated_engine) == {"c1", "c3"}
    row = held(migrated_engine)["spend:c2:2026-03-01"]
    assert (row["source"], row["account_id"], row["field"], row["reason"]) == (
        PLATFORM, ACCOUNT, "spend", "negative",
    )  # fmt: skip
    assert row["raw"] == {"campaign_id": "c2", "spend": "-1", "day": "2026-03-01"}
    assert row["times_seen"] == 1


def test_a_rerun_counts_a_reject_again_and_a_corrected_day_clears_it(
    migrated_engine: Engine,
) -> None:
    load(migrated_engine, [day("c1")], [rejected("c2")])
    assert load(migrated_engine, [day("c1")], [rejected("c2")], now=T1) == LoadCounts(0, 0, 1, 1)
    again = held(migrated_engine)
    assert len(again) == 1
    row = again["spend:c2:2026-03-01"]
    assert row["times_seen"] == 2
    assert row["first_seen_at"].replace(tzinfo=UTC) == T0
    assert row["last_seen_at"].replace(tzinfo=UTC) == T1
    assert load(migrated_engine, [day("c1"), day("c2")], now=T1) == LoadCounts(1, 0, 1, 0)
    assert held(migrated_engine) == {}
    assert spend_days(migrated_engine) == {"c1", "c2"}


def test_clearing_spend_leaves_other_accounts_and_keyless_rejects(migrated_engine: Engine) -> None:
    keyless = Rejected(PLATFORM, ACCOUNT, None, "campaign_id", "campaign.id: missing", {"x": 1})
    elsewhere = Rejected(PLATFORM, "999", "spend:c2:2026-03-01", "spend", "negative", {"y": 1})
    with migrated_engine.begin() as conn:
        quarantine_records(conn, [keyless, elsewhere], T0)
    load(migrated_engine, [day("c2")])
    keys = {(row["account_id"], key) for key, row in held(migrated_engine).items()}
    assert ("999", "spend:c2:2026-03-01") in keys  # another account's day: not this one
    assert any(key.startswith("sha256:") for _account, key in keys)  # no key: its hash
    assert len(keys) == 2


def test_the_quarantine_commits_with_the_watermark_or_not_at_all(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.connect() as conn:
        transaction = conn.begin()
        load_spend(
            conn, platform=PLATFORM, account_id=ACCOUNT, rows=[day()], watermark=T0,
            state_key=STATE_KEY, now=T0, rejected=[rejected()],
        )  # fmt: skip
        transaction.rollback()
    assert held(migrated_engine) == {} and spend_days(migrated_engine) == set()
    with migrated_engine.connect() as conn:
        assert read_sync_state(conn, PLATFORM, STATE_KEY) is None
    load(migrated_engine, [day()], [rejected()])
    with migrated_engine.connect() as conn:
        state = read_sync_state(conn, PLATFORM, STATE_KEY)
    assert state is not None and state.watermark == T0
    assert set(held(migrated_engine)) == {"spend:c2:2026-03-01"}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"spend": Decimal("-0.01")}, "spend", "negative"),
        ({"spend": Decimal("NaN")}, "spend", "not a finite amount"),
        ({"spend": Decimal("Infinity")}, "spend", "not a finite amount"),
        ({"spend": Decimal("0.0000001")}, "spend", "finer than a millionth of the currency unit"),
        ({"campaign_id": ""}, "campaign_id", "missing"),
        ({"day": date(1, 1, 1)}, "day", "before 2000-01-01, out of range"),
        ({"impressions": -1}, "impressions", "negative"),
        ({"clicks": -1}, "clicks", "negative"),
    ],
)
def test_a_campaign_day_refuses_values_no_day_may_carry(change, field, reason) -> None:
    with pytest.raises(InvalidRecord) as error:
        day(**change)
    assert (error.value.field_name, error.value.reason) == (field, reason)


def test_a_day_more_than_a_day_ahead_of_the_load_time_is_rejected() -> None:
    now = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    check_day(day(day=date(2026, 3, 2)), now)  # an account east of UTC: already tomorrow
    with pytest.raises(InvalidRecord, match="after the load time"):
        check_day(day(day=date(2026, 3, 3)), now)
    rows, bad = split_spend([day(day=date(9999, 12, 31)), day("c9")], now)
    assert [r.campaign_id for r in rows] == ["c9"]
    assert [(r.record_key, r.field_name) for r in bad] == [("spend:c1:9999-12-31", "day")]
    assert bad[0].raw["spend"] == "1.50"  # a day built without its raw row: its figures


def test_a_reason_never_carries_the_value() -> None:
    secret = "jane.doe@example.com"
    figures = {
        "campaign_id": ("campaign_id", lambda: "c1"),
        "day": ("date_start", lambda: secret),  # a value of the wrong kind
        "spend": ("spend", lambda: secret),
        "impressions": ("impressions", lambda: 0),
        "clicks": ("clicks", lambda: 0),
    }
    item = read_campaign_day(PLATFORM, ACCOUNT, {"date_start": secret}, figures)
    assert isinstance(item, Rejected) and secret not in item.reason
    figures["day"] = ("date_start", lambda: DAY)
    item = read_campaign_day(PLATFORM, ACCOUNT, {"spend": secret}, figures)
    assert isinstance(item, Rejected) and (item.field_name, item.reason) == (
        "spend", "spend: not a valid amount",
    )  # fmt: skip
