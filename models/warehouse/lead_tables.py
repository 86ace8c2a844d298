"""The lead tables: leads as synced, their campaigns, rejected records and the sync bookkeeping.

``leads`` holds the latest version of each platform's lead, ``campaigns`` the campaigns seen on
leads or in spend reports, ``quarantine`` the records that failed validation, and
``sync_state``/``sync_runs`` where each (source, account) sync resumes and what each run did.
Defined on the shared ``leadflow.models.warehouse.schema.metadata``;
``leadflow.models.warehouse.tables`` imports every table module, so Alembic and the drift test
see the whole schema.
"""

from __future__ import annotations

import sqlalchemy as sa

from leadflow.models.warehouse.schema import _count, _json, _str, _ts, metadata

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
    _str(
        "contact_id",
        "The platform's own stable id of the person behind the lead, when it has one beyond "
        "the lead id: Mailchimp's contact_id (kept when the subscriber changes address, unlike "
        "the member id). Leads of one source and account sharing it are one person; null "
        "elsewhere.",
    ),
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
    _ts("first_loaded_at", "When leadflow first loaded the lead (UTC)."),
    _ts("last_changed_at", "When leadflow last loaded a real change to the lead (UTC)."),
    sa.Index(None, "email_match_key"),
    sa.Index(None, "phone"),
    sa.Index(None, "updated_at"),
    sa.Index(None, "source", "campaign_id"),
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
    _count("suppressed", "Records of erased people (suppression_list) dropped, not loaded."),
    _count("duplicates", "Records superseded by a later one with the same id in their page."),
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
