"""Campaigns and daily ad spend; UTM parameters on leads.

Adds ``leads.utm_*``, ``sync_runs.warnings``, the ``campaigns`` dimension (filled from the campaigns existing leads
name, so every campaign a lead names is in it) and ``ad_spend_daily``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTM_COLUMNS = {
    "utm_source": "utm_source of the landing URL the lead came through, if any.",
    "utm_medium": "utm_medium of the landing URL the lead came through, if any.",
    "utm_campaign": "utm_campaign of the landing URL (free text, not a campaign id).",
    "utm_term": "utm_term of the landing URL the lead came through, if any.",
    "utm_content": "utm_content of the landing URL the lead came through, if any.",
}

# One campaigns row per (source, campaign) leads name: the name of the most recently
# updated lead that has one, first seen when the first such lead loaded.
BACKFILL_CAMPAIGNS = """
INSERT INTO campaigns
    (platform, campaign_id, account_id, campaign_name, currency, first_seen_at, updated_at)
SELECT l.source, l.campaign_id, NULL,
       (SELECT n.campaign_name FROM leads n
         WHERE n.source = l.source AND n.campaign_id = l.campaign_id
           AND n.campaign_name IS NOT NULL
         ORDER BY n.updated_at DESC, n.source_lead_id DESC LIMIT 1),
       NULL, MIN(l.first_loaded_at), MAX(l.last_changed_at)
FROM leads l
WHERE l.campaign_id IS NOT NULL
GROUP BY l.source, l.campaign_id
"""


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "warnings",
                sa.Text(),
                nullable=True,
                comment="Warnings of the run, one per line (count mismatches, data retention...).",
            )
        )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name, comment in UTM_COLUMNS.items():
            batch_op.add_column(sa.Column(name, sa.String(), nullable=True, comment=comment))

    op.create_table(
        "campaigns",
        sa.Column(
            "platform",
            sa.String(),
            nullable=False,
            comment="Platform running the campaign (meta, google_ads, linkedin...); matches leads.source.",
        ),
        sa.Column(
            "campaign_id",
            sa.String(),
            nullable=False,
            comment="The campaign's id on its platform.",
        ),
        sa.Column(
            "account_id",
            sa.String(),
            nullable=True,
            comment="Ad account the campaign belongs to, from the spend report when known.",
        ),
        sa.Column(
            "campaign_name",
            sa.String(),
            nullable=True,
            comment="Latest non-null name seen for the campaign.",
        ),
        sa.Column(
            "currency",
            sa.String(length=3),
            nullable=True,
            comment="ISO 4217 currency of the account's spend, when known.",
        ),
        sa.Column(
            "first_seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first saw the campaign (UTC).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first saw or last changed this row (UTC).",
        ),
        sa.PrimaryKeyConstraint("platform", "campaign_id", name=op.f("pk_campaigns")),
        comment="One row per campaign (platform, campaign_id), seen on leads or in spend reports. Join leads (leads.source = platform AND leads.campaign_id = campaign_id) and ad_spend_daily (same two columns) to it.",
    )

    op.create_table(
        "ad_spend_daily",
        sa.Column(
            "platform", sa.String(), nullable=False, comment="Ad platform (meta, google_ads...)."
        ),
        sa.Column(
            "account_id",
            sa.String(),
            nullable=False,
            comment="Ad account the spend was billed to.",
        ),
        sa.Column(
            "campaign_id",
            sa.String(),
            nullable=False,
            comment="The campaign's id on its platform.",
        ),
        sa.Column(
            "day",
            sa.Date(),
            nullable=False,
            comment="The day in the ad account's time zone, as the platform reports it.",
        ),
        sa.Column(
            "spend_micros",
            sa.BigInteger(),
            nullable=False,
            comment="Spend in millionths of the currency unit: exact, sum this for totals.",
        ),
        sa.Column(
            "spend",
            sa.Numeric(precision=18, scale=6),
            nullable=False,
            comment="spend_micros / 1e6, for reading; exact on PostgreSQL, a float on SQLite.",
        ),
        sa.Column(
            "currency",
            sa.String(length=3),
            nullable=True,
            comment="ISO 4217 currency of the spend (the ad account's), when known.",
        ),
        sa.Column(
            "impressions",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="Impressions on the day.",
        ),
        sa.Column(
            "clicks",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
            comment="Clicks on the day.",
        ),
        sa.Column(
            "row_hash",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of the row's canonical content; changes only when the figures do.",
        ),
        sa.Column(
            "first_loaded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow first loaded the row (UTC).",
        ),
        sa.Column(
            "last_changed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When leadflow last loaded a real change to the row (UTC).",
        ),
        sa.CheckConstraint("spend_micros >= 0", name=op.f("ck_ad_spend_daily_spend_not_negative")),
        sa.PrimaryKeyConstraint(
            "platform", "account_id", "campaign_id", "day", name=op.f("pk_ad_spend_daily")
        ),
        comment="One row per platform, ad account, campaign and day (in the ad account's time zone).",
    )
    op.create_index(
        op.f("ix_ad_spend_daily_platform_campaign_id_day"),
        "ad_spend_daily",
        ["platform", "campaign_id", "day"],
        unique=False,
    )

    op.execute(BACKFILL_CAMPAIGNS)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("warnings")
    op.drop_index(op.f("ix_ad_spend_daily_platform_campaign_id_day"), table_name="ad_spend_daily")
    op.drop_table("ad_spend_daily")
    op.drop_table("campaigns")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name in reversed(UTM_COLUMNS):
            batch_op.drop_column(name)
