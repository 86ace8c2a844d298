"""Loading daily campaign spend and the campaigns dimension, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.leads import LoadCounts, load_batch, upsert_campaigns
from leadflow.models.loading.spend import load_spend, spend_micros, spend_row
from leadflow.models.loading.state import read_sync_state
from leadflow.models.records.leads import Lead
from leadflow.models.records.spend import CampaignDay
from leadflow.models.warehouse.tables import ad_spend_daily, campaigns

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY = date(2026, 3, 1)
PLATFORM, AD_ACCOUNT, STATE_KEY = "meta", "act_1", "act_1:spend"


def day(campaign_id: str = "c1", on: date = DAY, **overrides: Any) -> CampaignDay:
    values: dict[str, Any] = {
        "platform": PLATFORM,
        "account_id": AD_ACCOUNT,
        "campaign_id": campaign_id,
        "day": on,
        "spend": Decimal("12.34"),
        "currency": "EUR",
        "campaign_name": f"Campaign {campaign_id}",
        "impressions": 1000,
        "clicks": 10,
    }
    return CampaignDay(**(values | overrides))


def load(
    engine: Engine,
    rows: Sequence[CampaignDay],
    *,
    watermark: datetime | None = None,
    now: datetime = T0,
) -> LoadCounts:
    with engine.begin() as conn:
        return load_spend(
            conn,
            platform=PLATFORM,
            account_id=AD_ACCOUNT,
            rows=rows,
            watermark=watermark,
            state_key=STATE_KEY,
            now=now,
        )


def stored_spend(engine: Engine) -> dict[tuple[str, date], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(ad_spend_daily)).mappings()
        return {(row["campaign_id"], row["day"]): dict(row) for row in rows}


def stored_campaigns(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(campaigns)).mappings()
        return {(r["platform"], r["campaign_id"]): dict(r) for r in rows}


def test_first_load_inserts_every_day(migrated_engine: Engine) -> None:
    rows = [day("c1"), day("c2"), day("c1", DAY + timedelta(days=1))]
    assert load(migrated_engine, rows) == LoadCounts(
        inserted=3, updated=0, unchanged=0, quarantined=0
    )
    row = stored_spend(migrated_engine)["c1", DAY]
    assert (row["spend"], row["spend_micros"], row["currency"]) == (
        Decimal("12.34"),
        12_340_000,
        "EUR",
    )
    assert (row["impressions"], row["clicks"], row["first_loaded_at"]) == (1000, 10, T0)
    assert isinstance(row["day"], date) and not isinstance(row["day"], datetime)


def test_loading_the_same_days_again_writes_nothing(migrated_engine: Engine) -> None:
    rows = [day("c1"), day("c2")]
    load(migrated_engine, rows)
    before = stored_spend(migrated_engine)
    statements: list[str] = []
    sa.event.listen(migrated_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert load(migrated_engine, rows, now=T0 + timedelta(hours=1)) == LoadCounts(0, 0, 2, 0)
    assert stored_spend(migrated_engine) == before
    assert not any("INSERT INTO ad_spend_daily" in s for s in statements)


def test_changed_figures_update_only_that_day(migrated_engine: Engine) -> None:
    load(migrated_engine, [day("c1"), day("c2")])
    later = T0 + timedelta(hours=1)
    counts = load(migrated_engine, [day("c1"), day("c2", clicks=11)], now=later)
    assert counts == LoadCounts(inserted=0, updated=1, unchanged=1, quarantined=0)
    rows = stored_spend(migrated_engine)
    assert (rows["c2", DAY]["clicks"], rows["c2", DAY]["last_changed_at"]) == (11, later)
    assert (rows["c2", DAY]["first_loaded_at"], rows["c1", DAY]["last_changed_at"]) == (T0, T0)


def test_spend_change_updates_both_spend_columns(migrated_engine: Engine) -> None:
    load(migrated_engine, [day(spend=Decimal("12.34"))])
    assert load(migrated_engine, [day(spend=Decimal("12.35"))]) == LoadCounts(0, 1, 0, 0)
    row = stored_spend(migrated_engine)["c1", DAY]
    assert (row["spend"], row["spend_micros"]) == (Decimal("12.35"), 12_350_000)


@pytest.mark.parametrize(
    ("first", "again"),
    [
        pytest.param("12.3", "12.30", id="trailing-zero"),
        pytest.param("12.300000", "12.3", id="six-places"),
        pytest.param("1E+1", "10", id="exponent"),
        pytest.param("0", "0.00", id="zero"),
    ],
)
def test_equal_amounts_hash_the_same(migrated_engine: Engine, first: str, again: str) -> None:
    assert (
        spend_row(day(spend=Decimal(first)))["row_hash"]
        == spend_row(day(spend=Decimal(again)))["row_hash"]
    )
    load(migrated_engine, [day(spend=Decimal(first))])
    assert load(migrated_engine, [day(spend=Decimal(again))]) == LoadCounts(0, 0, 1, 0)


def test_campaign_name_is_not_spend_content() -> None:
    assert (
        spend_row(day(campaign_name="a"))["row_hash"]
        == spend_row(day(campaign_name="b"))["row_hash"]
    )


@pytest.mark.parametrize(
    ("spend", "micros"),
    [("12.34", 12_340_000), ("0.000001", 1), ("999999999999.999999", 999_999_999_999_999_999)],
)
def test_spend_micros_is_exact(spend: str, micros: int) -> None:
    assert spend_micros(Decimal(spend)) == micros


@pytest.mark.parametrize("spend", ["0.0000001", "Infinity", "NaN"])
def test_amounts_that_are_not_whole_micros_are_refused(spend: str) -> None:
    with pytest.raises(ValueError, match="spend"):
        spend_micros(Decimal(spend))


def test_many_cents_sum_exactly(migrated_engine: Engine) -> None:
    generator = random.Random(20260302)
    amounts = [Decimal(generator.randrange(0, 10_000_000)) / 100 for _ in range(2000)]
    amounts += [Decimal("0.01")] * 500 + [Decimal("0.10")] * 500 + [Decimal("123456.78")]
    rows = [day(f"c{n}", spend=amount) for n, amount in enumerate(amounts)]
    load(migrated_engine, rows)
    exact = sum(amounts, Decimal(0))
    with migrated_engine.connect() as conn:
        total_micros = conn.execute(
            sa.select(sa.func.sum(ad_spend_daily.c.spend_micros))
        ).scalar_one()
        per_day = conn.execute(
            sa.select(ad_spend_daily.c.day, sa.func.sum(ad_spend_daily.c.spend_micros)).group_by(
                ad_spend_daily.c.day
            )
        ).all()
        read_back = conn.execute(
            sa.select(ad_spend_daily.c.campaign_id, ad_spend_daily.c.spend)
        ).all()
    assert Decimal(total_micros).scaleb(-6) == exact
    assert [(d, Decimal(m).scaleb(-6)) for d, m in per_day] == [(DAY, exact)]
    by_campaign = {campaign_id: spend for campaign_id, spend in read_back}
    assert all(isinstance(spend, Decimal) for spend in by_campaign.values())
    assert [by_campaign[f"c{n}"] for n in range(len(amounts))] == amounts
    assert sum(by_campaign.values(), Decimal(0)) == exact


@pytest.mark.parametrize(
    "warehouse_url",
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_spend_numeric_sums_exactly_on_postgresql(migrated_engine: Engine) -> None:
    # (SQLite sums NUMERIC as floats: sum spend_micros there.)
    load(migrated_engine, [day(f"c{n}", spend=Decimal("0.10")) for n in range(1000)])
    with migrated_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(ad_spend_daily.c.spend))).scalar_one() == Decimal(
            "100"
        )


def test_duplicate_days_in_a_batch_keep_the_last(migrated_engine: Engine) -> None:
    rows = [day(clicks=1), day("c2"), day(clicks=2)]
    assert load(migrated_engine, rows) == LoadCounts(2, 0, 0, 0)
    assert stored_spend(migrated_engine)["c1", DAY]["clicks"] == 2


def test_days_of_another_account_are_refused(migrated_engine: Engine) -> None:
    with pytest.raises(ValueError, match="act_2"):
        load(migrated_engine, [day(account_id="act_2")])
    with pytest.raises(ValueError, match="google_ads"):
        load(migrated_engine, [day(platform="google_ads")])


def test_stored_days_outside_the_batch_are_left_alone(migrated_engine: Engine) -> None:
    load(migrated_engine, [day(on=DAY - timedelta(days=n)) for n in range(5)])
    assert load(
        migrated_engine, [day(on=DAY), day(on=DAY - timedelta(days=4), clicks=3)]
    ) == LoadCounts(0, 1, 1, 0)
    assert len(stored_spend(migrated_engine)) == 5


def test_watermark_is_saved_under_the_state_key(migrated_engine: Engine) -> None:
    load(migrated_engine, [day()], watermark=T0)
    load(migrated_engine, [day()], watermark=T0 - timedelta(days=1))  # never moves back
    with migrated_engine.connect() as conn:
        state = read_sync_state(conn, PLATFORM, STATE_KEY)
        assert read_sync_state(conn, PLATFORM, AD_ACCOUNT) is None
    assert state is not None and (state.watermark, state.cursor) == (T0, None)


def test_rollback_leaves_no_spend_campaigns_or_watermark(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        transaction = conn.begin()
        load_spend(
            conn,
            platform=PLATFORM,
            account_id=AD_ACCOUNT,
            rows=[day()],
            watermark=T0,
            state_key=STATE_KEY,
            now=T0,
        )
        assert read_sync_state(conn, PLATFORM, STATE_KEY) is not None  # same transaction
        transaction.rollback()
    assert stored_spend(migrated_engine) == {}
    assert stored_campaigns(migrated_engine) == {}
    with migrated_engine.connect() as conn:
        assert read_sync_state(conn, PLATFORM, STATE_KEY) is None


def test_naive_timestamps_are_refused(migrated_engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        load(migrated_engine, [day()], now=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        load(migrated_engine, [day()], watermark=datetime(2026, 1, 1))  # noqa: DTZ001


def test_spend_upserts_its_campaigns(migrated_engine: Engine) -> None:
    load(migrated_engine, [day("c1"), day("c2", campaign_name=None, currency=None)])
    assert stored_campaigns(migrated_engine) == {
        (PLATFORM, "c1"): campaign_row("c1", "Campaign c1", "EUR", T0, T0),
        (PLATFORM, "c2"): campaign_row("c2", None, None, T0, T0),
    }


def test_campaign_names_update_when_not_null_and_first_seen_is_kept(
    migrated_engine: Engine,
) -> None:
    t1, t2, t3 = (T0 + timedelta(days=n) for n in (1, 2, 3))
    load(migrated_engine, [day(campaign_name="Spring")], now=T0)
    load(migrated_engine, [day(campaign_name="Spring v2")], now=t1)
    load(migrated_engine, [day(campaign_name=None, currency=None)], now=t2)  # keeps both
    load(migrated_engine, [day(campaign_name="Spring v2")], now=t3)  # no change: not written
    assert stored_campaigns(migrated_engine)[PLATFORM, "c1"] == campaign_row(
        "c1", "Spring v2", "EUR", T0, t1
    )


def test_the_last_non_null_name_in_a_batch_wins(migrated_engine: Engine) -> None:
    rows = [day(on=DAY, campaign_name="old"), day(on=DAY + timedelta(days=1), campaign_name="new")]
    load(migrated_engine, [*rows, day(on=DAY + timedelta(days=2), campaign_name=None)])
    assert stored_campaigns(migrated_engine)[PLATFORM, "c1"]["campaign_name"] == "new"


def test_upsert_campaigns_directly(migrated_engine: Engine) -> None:
    later = T0 + timedelta(hours=1)
    with migrated_engine.begin() as conn:
        upsert_campaigns(conn, "google_ads", [("123", "9", None, None)], T0)
        upsert_campaigns(
            conn, "google_ads", [("123", "9", "Brand", None), ("123", "9", None, "USD")], later
        )
        upsert_campaigns(conn, "google_ads", [], later)
    row = stored_campaigns(migrated_engine)["google_ads", "9"]
    assert row == campaign_row(
        "9", "Brand", "USD", T0, later, platform="google_ads", account_id="123"
    )


def test_leads_upsert_the_campaigns_they_name(migrated_engine: Engine) -> None:
    batch = [
        lead("1", "c1", "Spring", updated_at=T0),
        lead("2", "c1", "Spring v2", updated_at=T0 + timedelta(minutes=5)),
        lead("3", "c1", "Spring (old)", updated_at=T0 - timedelta(days=1)),
        lead("4", "c2", None),
        lead("5", None, "No id"),
    ]
    load_leads(migrated_engine, batch)
    assert stored_campaigns(migrated_engine) == {
        # A lead's account (a Meta page) is not the campaign's ad account: left unknown.
        ("meta", "c1"): campaign_row("c1", "Spring v2", None, T0, T0, account_id=None),
        ("meta", "c2"): campaign_row("c2", None, None, T0, T0, account_id=None),
    }


def test_every_campaign_a_lead_names_is_in_campaigns(migrated_engine: Engine) -> None:
    load_leads(migrated_engine, [lead(str(n), f"c{n % 7}", None) for n in range(30)])
    load(migrated_engine, [day("c1"), day("c99")])  # spend: the ad account, not the page
    with migrated_engine.connect() as conn:
        leads_table = sa.table("leads", sa.column("source"), sa.column("campaign_id"))
        orphans = conn.execute(
            sa.select(sa.func.count())
            .select_from(leads_table)
            .where(
                leads_table.c.campaign_id.is_not(None),
                ~sa.exists().where(
                    campaigns.c.platform == leads_table.c.source,
                    campaigns.c.campaign_id == leads_table.c.campaign_id,
                ),
            )
        ).scalar_one()
    assert orphans == 0
    # One row per campaign; its ad account comes from the spend report.
    assert stored_campaigns(migrated_engine)["meta", "c1"]["account_id"] == AD_ACCOUNT


def test_unchanged_leads_do_not_write_campaigns(migrated_engine: Engine) -> None:
    batch = [lead("1", "c1", "Spring")]
    load_leads(migrated_engine, batch)
    statements: list[str] = []
    sa.event.listen(migrated_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    load_leads(migrated_engine, batch, now=T0 + timedelta(hours=1))
    assert not any("INSERT INTO campaigns" in s for s in statements)


def test_lead_name_change_updates_the_campaign(migrated_engine: Engine) -> None:
    later = T0 + timedelta(hours=1)
    load_leads(migrated_engine, [lead("1", "c1", "Spring")])
    load_leads(migrated_engine, [lead("1", "c1", "Spring v2")], now=later)
    row = stored_campaigns(migrated_engine)["meta", "c1"]
    assert (row["campaign_name"], row["first_seen_at"], row["updated_at"]) == (
        "Spring v2",
        T0,
        later,
    )


def campaign_row(
    campaign_id: str,
    name: str | None,
    currency: str | None,
    first_seen_at: datetime,
    updated_at: datetime,
    *,
    platform: str = PLATFORM,
    account_id: str | None = AD_ACCOUNT,
) -> dict[str, Any]:
    return {
        "platform": platform,
        "account_id": account_id,
        "campaign_id": campaign_id,
        "campaign_name": name,
        "currency": currency,
        "first_seen_at": first_seen_at,
        "updated_at": updated_at,
    }


def lead(
    lead_id: str, campaign_id: str | None, campaign_name: str | None, **overrides: Any
) -> Lead:
    base = Lead(
        source="meta",
        source_lead_id=lead_id,
        account_id="page_1",
        created_at=T0,
        updated_at=T0,
        campaign_id=campaign_id,
        campaign_name=campaign_name,
    )
    return replace(base, **overrides)


def load_leads(engine: Engine, batch: Iterable[Lead], *, now: datetime = T0) -> LoadCounts:
    with engine.begin() as conn:
        return load_batch(
            conn,
            source="meta",
            account_id="page_1",
            leads=list(batch),
            rejected=[],
            watermark=None,
            cursor=None,
            now=now,
        )
