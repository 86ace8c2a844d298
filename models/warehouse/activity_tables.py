"""The activity tables: daily ad spend, engagement events, sales touches and sales reps.

What happened around the leads after they arrived: what the ads cost per campaign and day,
what people did (opens, clicks, replies...) and what sales did (calls, emails, meetings),
with the reps who own them. Defined on the shared ``leadflow.models.warehouse.schema.metadata``;
``leadflow.models.warehouse.tables`` imports every table module, so Alembic and the drift test
see the whole schema.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadflow.models.warehouse.schema import _count, _json, _str, _ts, metadata

ad_spend_daily = sa.Table(
    "ad_spend_daily",
    metadata,
    _str("platform", "Ad platform (meta, google_ads...).", nullable=False, primary_key=True),
    _str("account_id", "Ad account the spend was billed to.", nullable=False, primary_key=True),
    _str("campaign_id", "The campaign's id on its platform.", nullable=False, primary_key=True),
    sa.Column(
        "day",
        sa.Date(),
        nullable=False,
        primary_key=True,
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
        sa.Numeric(18, 6),
        nullable=False,
        comment="spend_micros / 1e6, for reading; exact on PostgreSQL, a float on SQLite.",
    ),
    sa.Column(
        "currency",
        sa.String(3),
        nullable=True,
        comment="ISO 4217 currency of the spend (the ad account's), when known.",
    ),
    _count("impressions", "Impressions on the day.", big=True),
    _count("clicks", "Clicks on the day.", big=True),
    sa.Column(
        "row_hash",
        sa.String(64),
        nullable=False,
        comment="sha256 of the row's canonical content; changes only when the figures do.",
    ),
    _ts("first_loaded_at", "When leadflow first loaded the row (UTC)."),
    _ts("last_changed_at", "When leadflow last loaded a real change to the row (UTC)."),
    sa.CheckConstraint("spend_micros >= 0", name="spend_not_negative"),
    sa.Index(None, "platform", "campaign_id", "day"),
    comment=("One row per platform, ad account, campaign and day (in the ad account's time zone)."),
)


def _row_hash(comment: str) -> sa.Column[Any]:
    return sa.Column("row_hash", sa.String(64), nullable=False, comment=comment)


def _person_id() -> sa.Column[Any]:
    return sa.Column(
        "person_id",
        sa.String(),
        sa.ForeignKey("people.person_id", ondelete="SET NULL"),
        nullable=True,
        comment="The resolved person (people.person_id); null until identity resolution runs.",
    )


engagement_events = sa.Table(
    "engagement_events",
    metadata,
    _str(
        "source",
        "Platform the event came from (e.g. hubspot).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "event_id",
        "The event's id on its platform, or a hash of (campaign, person, type, time).",
        nullable=False,
        primary_key=True,
    ),
    _str("account_id", "Platform account (portal) the event belongs to.", nullable=False),
    _str(
        "event_type",
        "open, click, bounce, unsubscribe, reply, form_submission or webinar_attended.",
        nullable=False,
    ),
    _str("channel", "Channel of the engagement (email...).", nullable=False),
    _ts("occurred_at", "When the person did it (UTC)."),
    _str("email", "Email address the event was recorded for, trimmed and lowercased."),
    _str("email_match_key", "Normalized email used to match events to people."),
    _str("campaign_id", "Platform id of the marketing campaign or email, if any."),
    sa.Column(
        "detail",
        _json(),
        nullable=False,
        comment="Event-specific details (clicked URL, bounce reason...) (JSON).",
    ),
    sa.Column("raw", _json(), nullable=False, comment="The platform's payload as received (JSON)."),
    _row_hash("sha256 of the event's canonical content; changes only when the event does."),
    _ts("first_loaded_at", "When leadflow first loaded the event (UTC)."),
    _ts("last_changed_at", "When leadflow last loaded a real change to the event (UTC)."),
    sa.Index(None, "email_match_key"),
    sa.Index(None, "event_type", "occurred_at"),
    comment="One row per engagement event per platform (source, event_id).",
)

sales_touches = sa.Table(
    "sales_touches",
    metadata,
    _str(
        "source",
        "Platform the touch came from (e.g. hubspot); matches leads.source.",
        nullable=False,
        primary_key=True,
    ),
    _str("touch_id", "The activity's id on its platform.", nullable=False, primary_key=True),
    _str(
        "lead_id",
        "The touched lead's leads.source_lead_id on the same platform.",
        nullable=False,
        primary_key=True,
    ),
    _str("touch_type", "call, email or meeting.", nullable=False),
    _ts("occurred_at", "When the call, email or meeting took place (UTC)."),
    _ts("updated_at", "When the platform last changed the activity (UTC)."),
    _str("owner_id", "Platform id of the sales rep who owns the activity (sales_reps.rep_id)."),
    _str("direction", "Direction as the platform reports it (e.g. OUTBOUND, INBOUND), if any."),
    _str("outcome", "Outcome as the platform reports it (call disposition...), if any."),
    sa.Column("raw", _json(), nullable=False, comment="The platform's payload as received (JSON)."),
    _row_hash("sha256 of the touch's canonical content; changes only when the touch does."),
    _person_id(),
    _ts("first_loaded_at", "When leadflow first loaded the touch (UTC)."),
    _ts("last_changed_at", "When leadflow last loaded a real change to the touch (UTC)."),
    sa.Index(None, "source", "lead_id", "occurred_at"),
    sa.Index(None, "owner_id"),
    sa.Index(None, "person_id"),
    comment=(
        "One row per sales activity per lead it is associated with (source, touch_id, lead_id); "
        "an activity on three leads is three rows."
    ),
)

sales_reps = sa.Table(
    "sales_reps",
    metadata,
    _str(
        "source", "Platform the rep is a user of (e.g. hubspot).", nullable=False, primary_key=True
    ),
    _str(
        "rep_id",
        "The rep's id on its platform (the owner id on leads and touches).",
        nullable=False,
        primary_key=True,
    ),
    _str("email", "The rep's email address."),
    _str("first_name", "The rep's first name."),
    _str("last_name", "The rep's last name."),
    _str("team", "Team the rep reports in, if any."),
    sa.Column(
        "archived",
        sa.Boolean(),
        nullable=False,
        comment="True once the rep was archived (deactivated) on the platform.",
    ),
    _ts("updated_at", "When the platform last changed the rep (UTC)."),
    sa.Column("raw", _json(), nullable=False, comment="The platform's payload as received (JSON)."),
    _row_hash("sha256 of the rep's canonical content; changes only when the rep does."),
    _ts("first_loaded_at", "When leadflow first loaded the rep (UTC)."),
    _ts("last_changed_at", "When leadflow last loaded a real change to the rep (UTC)."),
    comment="One row per sales rep per platform (source, rep_id), latest version.",
)

crm_status_changes = sa.Table(
    "crm_status_changes",
    metadata,
    _str(
        "source",
        "CRM the change was recorded in (salesforce, hubspot); matches leads.source.",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "change_id",
        "The change's id on its CRM (a LeadHistory id; for HubSpot <contact>:<property>:<time>).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "lead_id",
        "The changed record's leads.source_lead_id on the same CRM.",
        nullable=False,
    ),
    _str(
        "field",
        "The status field that changed: Status or IsConverted (Salesforce), hs_lead_status or "
        "lifecyclestage (HubSpot).",
        nullable=False,
    ),
    _ts("occurred_at", "When the CRM recorded the change (UTC)."),
    _ts("updated_at", "When the CRM last changed the history row (UTC); its watermark."),
    _str("new_value", "The field's value after the change, as the CRM stores it."),
    _str("old_value", "The field's value before the change, when the CRM says."),
    _str("changed_by", "The CRM user who made the change (sales_reps.rep_id), when known."),
    _str("reason", "The reason the CRM recorded with the change, when it has one."),
    sa.Column("raw", _json(), nullable=False, comment="The CRM's payload as received (JSON)."),
    _row_hash("sha256 of the change's canonical content."),
    _ts("first_loaded_at", "When leadflow first loaded the change (UTC)."),
    _ts("last_changed_at", "When leadflow last loaded a real change to the row (UTC)."),
    sa.Index(None, "source", "lead_id", "occurred_at"),
    comment=(
        "One row per change of a sales status field on a CRM lead or contact, as the CRM "
        "recorded it: the facts sales decisions (sales_decisions) are derived from."
    ),
)
