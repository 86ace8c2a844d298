"""The warehouse schema as SQLAlchemy Core tables: one MetaData, the same on SQLite and PostgreSQL.

Alembic owns the database schema (``models/migrations``); a test keeps this module and the
migrations from drifting apart.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadflow.models.warehouse.schema import (  # noqa: F401 - re-exported for the table modules' users
    NAMING_CONVENTION,
    UTCDateTime,
    _count,
    _json,
    _str,
    _ts,
    metadata,
)

people = sa.Table(
    "people",
    metadata,
    _str("person_id", "Stable id of the resolved person.", nullable=False, primary_key=True),
    _str("email_match_key", "Normalized email the person was matched on."),
    _str("phone", "Phone number in E.164 format."),
    _str("first_name", "First name from the person's most recent lead."),
    _str("last_name", "Last name from the person's most recent lead."),
    _str("company", "Company from the person's most recent lead."),
    _str("stage", "Canonical stage (cold, warm, qualified) from classification; null until then."),
    _ts("created_at", "When leadflow first resolved this person (UTC)."),
    _ts("updated_at", "When leadflow last changed this person's profile (UTC)."),
    _str("email", "Deliverable email from the person's most recently updated lead having one."),
    _str("job_title", "Job title from the person's most recent lead having one."),
    _str("country", "Country from the person's most recent lead having a country or city."),
    _str("city", "City from the same lead as country."),
    _str(
        "lifecycle", "Lifecycle stage: lead, engaged, mql, sql or nurture; null until classified."
    ),
    _str("raw_stage", "The source system's own stage (source:value) of the latest staged lead."),
    sa.Column("fit", sa.Integer(), nullable=True, comment="Fit score (ideal customer profile)."),
    sa.Column(
        "engagement",
        sa.Float(),
        nullable=True,
        comment="Engagement score with decay, as of classified_at.",
    ),
    sa.Column(
        "reasons",
        _json(),
        nullable=True,
        comment="Reason codes of the classification, in order (JSON list of strings).",
    ),
    _ts(
        "qualified_at",
        "When the person first became qualified (MQL): the SLA clock starts here (UTC).",
        nullable=True,
    ),
    _ts(
        "lifecycle_at",
        "When the current lifecycle stage was entered, when known exactly (UTC).",
        nullable=True,
    ),
    _ts("classified_at", "When leadflow last classified this person (UTC).", nullable=True),
    sa.Column(
        "email_hash",
        sa.String(64),
        nullable=True,
        comment="Salted SHA-256 of email_match_key (privacy.hash_salt): what BI views show "
        "instead of the address; null without an email or a configured salt.",
    ),
    sa.Index(None, "email_match_key"),
    sa.Index(None, "phone"),
    sa.Index(None, "lifecycle"),
    comment="One row per person, resolved across platforms by normalized email or phone.",
)

person_merges = sa.Table(
    "person_merges",
    metadata,
    _str(
        "from_person",
        "The person id that was merged away (no longer in people).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "into_person",
        "The person it was merged into (people.person_id when merged; may merge again later).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "reason",
        "The kind of link that joined them: email, phone or hubspot_merge.",
        nullable=False,
    ),
    _str(
        "bridging_key",
        "The email match key, E.164 phone or hubspot:<id> that joined them (personal data).",
        nullable=False,
    ),
    _ts("merged_at", "When leadflow merged them (UTC)."),
    _str("run_id", "leadflow's id of the run that merged them.", nullable=False),
    sa.Index(None, "into_person"),
    comment="One row per person merged into another (from_person, into_person).",
)

stage_transitions = sa.Table(
    "stage_transitions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, comment="Surrogate key."),
    sa.Column(
        "person_id",
        sa.String(),
        sa.ForeignKey("people.person_id", ondelete="CASCADE"),
        nullable=False,
        comment="The person (people.person_id) whose stage changed.",
    ),
    _str("from_stage", "Canonical stage before the change; null for the first classification."),
    _str("to_stage", "Canonical stage after the change (cold, warm, qualified).", nullable=False),
    _str("from_lifecycle", "Lifecycle stage before the change; null for the first one."),
    _str(
        "to_lifecycle",
        "Lifecycle stage after the change (lead, engaged, mql, sql, nurture).",
        nullable=False,
    ),
    _ts("at", "When the change happened if known exactly, else when it was observed (UTC)."),
    sa.Column(
        "reasons",
        _json(),
        nullable=False,
        comment="Reason codes of the classification that made the change (JSON list).",
    ),
    _str("run_id", "leadflow's id of the run that recorded the change.", nullable=False),
    _ts("recorded_at", "When leadflow recorded the change (UTC)."),
    sa.UniqueConstraint("person_id", "to_lifecycle", "at"),
    sa.Index(None, "person_id"),
    sa.Index(None, "run_id"),
    comment="One row per stage change of a person (person_id, to_lifecycle, at).",
)

leads = sa.Table(
    "leads",
    metadata,
    _str(
        "source",
        "Platform the lead came from (e.g. meta, hubspot).",
        nullable=False,
        primary_key=True,
    ),
    _str("source_lead_id", "The lead's id on its platform.", nullable=False, primary_key=True),
    _str(
        "account_id", "Platform account (ad account, portal) the lead belongs to.", nullable=False
    ),
    _ts("created_at", "When the lead was created on the platform (UTC)."),
    _ts("updated_at", "When the platform last changed the lead (UTC)."),
    _str("email", "Deliverable email address, trimmed and lowercased."),
    _str("email_match_key", "Normalized email used to match leads to people."),
    _str("phone", "Phone number in E.164 format."),
    _str("first_name", "First name as submitted."),
    _str("last_name", "Last name as submitted."),
    _str("company", "Company name as submitted."),
    _str("job_title", "Job title as submitted."),
    _str("country", "Country as submitted or inferred by the platform."),
    _str("city", "City as submitted."),
    _str("campaign_id", "Platform id of the campaign that produced the lead."),
    _str("campaign_name", "Campaign name at the time of the sync."),
    _str("adset_id", "Platform id of the ad set or ad group."),
    _str("ad_id", "Platform id of the ad."),
    _str("form_id", "Platform id of the lead form."),
    _str("utm_source", "utm_source of the landing URL the lead came through, if any."),
    _str("utm_medium", "utm_medium of the landing URL the lead came through, if any."),
    _str("utm_campaign", "utm_campaign of the landing URL (free text, not a campaign id)."),
    _str("utm_term", "utm_term of the landing URL the lead came through, if any."),
    _str("utm_content", "utm_content of the landing URL the lead came through, if any."),
    _str("source_stage", "The lead's lifecycle stage or status on its platform."),
    _str("owner_id", "Platform id of the sales rep who owns the lead."),
    sa.Column(
        "is_test", sa.Boolean(), nullable=False, comment="True for test leads (kept, flagged)."
    ),
    sa.Column(
        "is_organic",
        sa.Boolean(),
        nullable=True,
        comment="True if not from paid ads; null if unknown.",
    ),
    sa.Column("consent", _json(), nullable=True, comment="Consent answers as captured (JSON)."),
    sa.Column(
        "custom_fields",
        _json(),
        nullable=False,
        comment="Answers and properties without a column (JSON).",
    ),
    sa.Column("raw", _json(), nullable=False, comment="The platform's payload as received (JSON)."),
    sa.Column(
        "row_hash",
        sa.String(64),
        nullable=False,
        comment="sha256 of the lead's canonical content; changes only when the lead does.",
    ),
    sa.Column(
        "person_id",
        sa.String(),
        sa.ForeignKey("people.person_id", ondelete="SET NULL"),
        nullable=True,
        comment="The resolved person (people.person_id); null until identity resolution runs.",
    ),
    _ts("first_loaded_at", "When leadflow first loaded the lead (UTC)."),
    _ts("last_changed_at", "When leadflow last loaded a real change to the lead (UTC)."),
    sa.Index(None, "email_match_key"),
    sa.Index(None, "phone"),
    sa.Index(None, "updated_at"),
    sa.Index(None, "source", "campaign_id"),
    sa.Index(None, "person_id"),
    comment="One row per lead per platform (source, source_lead_id), latest version.",
)

sync_state = sa.Table(
    "sync_state",
    metadata,
    _str("source", "Platform being synced.", nullable=False, primary_key=True),
    _str("account_id", "Platform account being synced.", nullable=False, primary_key=True),
    _ts(
        "watermark",
        "Records updated before this instant (UTC) are loaded; never moves back.",
        nullable=True,
    ),
    sa.Column(
        "cursor",
        _json(),
        nullable=True,
        comment="Resume token of an unfinished sync (JSON), else null.",
    ),
    _ts("updated_at", "When this state was last saved (UTC)."),
    comment="One row per (source, account): where the next incremental sync starts.",
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    _str("run_id", "leadflow's id for the sync run.", nullable=False, primary_key=True),
    _str("source", "Platform synced.", nullable=False, primary_key=True),
    _str("account_id", "Platform account synced.", nullable=False, primary_key=True),
    _str("flow_run_id", "Prefect flow run id, when run by Prefect."),
    _ts("started_at", "When the sync of this source and account started (UTC)."),
    _ts("finished_at", "When it finished (UTC).", nullable=True),
    _str("status", "succeeded or failed.", nullable=False),
    _count("pages", "Pages fetched from the platform."),
    _count("records", "Records received from the platform."),
    _count("inserted", "Leads inserted."),
    _count("updated", "Leads whose content changed."),
    _count("unchanged", "Leads received again without change (not written)."),
    _count("quarantined", "Records rejected into the quarantine table."),
    _ts("watermark", "Watermark saved by the run (UTC).", nullable=True),
    sa.Column("seconds", sa.Float(), nullable=True, comment="Wall-clock duration in seconds."),
    sa.Column("error", sa.Text(), nullable=True, comment="Error message of a failed run."),
    sa.Column(
        "warnings",
        sa.Text(),
        nullable=True,
        comment="Warnings of the run, one per line (count mismatches, data retention...).",
    ),
    sa.CheckConstraint("status IN ('succeeded', 'failed')", name="status"),
    comment="One row per (run, source, account): what one sync did.",
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, comment="Surrogate key."),
    _str("source", "Platform the record came from.", nullable=False),
    _str("account_id", "Platform account synced when the record was rejected.", nullable=False),
    _str(
        "record_key",
        "The record's platform id, or 'sha256:' + hash of its JSON when it has none.",
        nullable=False,
    ),
    _str("field", "Field that failed validation.", nullable=False),
    sa.Column("reason", sa.Text(), nullable=False, comment="Why the record was rejected."),
    sa.Column("raw", _json(), nullable=False, comment="The record as received (JSON)."),
    _ts("first_seen_at", "When the record was first rejected (UTC)."),
    _ts("last_seen_at", "When the record was last rejected (UTC)."),
    sa.Column(
        "times_seen",
        sa.Integer(),
        nullable=False,
        default=1,
        server_default="1",
        comment="How many times the record was rejected.",
    ),
    sa.UniqueConstraint("source", "account_id", "record_key"),
    comment="One row per rejected record (source, account, record_key); cleared when it loads.",
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    _str(
        "platform",
        "Platform running the campaign (meta, google_ads, linkedin...); matches leads.source.",
        nullable=False,
        primary_key=True,
    ),
    _str("campaign_id", "The campaign's id on its platform.", nullable=False, primary_key=True),
    _str("account_id", "Ad account the campaign belongs to, from the spend report when known."),
    _str("campaign_name", "Latest non-null name seen for the campaign."),
    sa.Column(
        "currency",
        sa.String(3),
        nullable=True,
        comment="ISO 4217 currency of the account's spend, when known.",
    ),
    _ts("first_seen_at", "When leadflow first saw the campaign (UTC)."),
    _ts("updated_at", "When leadflow first saw or last changed this row (UTC)."),
    comment=(
        "One row per campaign (platform, campaign_id), seen on leads or in spend reports. "
        "Join leads (leads.source = platform AND leads.campaign_id = campaign_id) and "
        "ad_spend_daily (same two columns) to it."
    ),
)

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
    _person_id(),
    _ts("first_loaded_at", "When leadflow first loaded the event (UTC)."),
    _ts("last_changed_at", "When leadflow last loaded a real change to the event (UTC)."),
    sa.Index(None, "email_match_key"),
    sa.Index(None, "event_type", "occurred_at"),
    sa.Index(None, "person_id"),
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

# The SLA, state and privacy tables live in their own modules on the same metadata
# (leadflow.models.warehouse.schema); imported here so that importing this module gives
# the whole schema.
from leadflow.models.warehouse.privacy_tables import (  # noqa: E402
    suppression_list as suppression_list,
)
from leadflow.models.warehouse.sla_tables import sla_evaluations as sla_evaluations  # noqa: E402
from leadflow.models.warehouse.sla_tables import sla_results as sla_results  # noqa: E402
from leadflow.models.warehouse.state_tables import step_state as step_state  # noqa: E402
