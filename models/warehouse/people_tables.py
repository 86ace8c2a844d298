"""The people tables: resolved persons, the merges between them and their stage history.

``people`` is what identity resolution (``leadflow.models.people.identity_store``) and
classification (``leadflow.models.people.classification_store``) write; ``person_merges`` and
``stage_transitions`` keep the history of both. Defined on the shared
``leadflow.models.warehouse.schema.metadata``; ``leadflow.models.warehouse.tables`` imports
every table module, so Alembic and the drift test see the whole schema.
"""

from __future__ import annotations

import sqlalchemy as sa

from leadflow.models.warehouse.schema import UTCDateTime, _json, _str, _ts, metadata

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

# lead_people and email_people have no foreign keys: identity writes them in bulk, and on
# PostgreSQL checking 100k rows against people and leads took longer (about 3 s) than
# writing them. Only identity resolution (which writes a person before pointing anything at
# it and deletes people no lead points at) and erasure (which deletes the rows of the
# leads and people it removes) change them; the data-quality suite checks that every row's
# lead and person exist (``lead_person_known``).
lead_people = sa.Table(
    "lead_people",
    metadata,
    _str("source", "The lead's platform (leads.source).", nullable=False, primary_key=True),
    _str(
        "source_lead_id",
        "The lead's id on its platform (leads.source_lead_id).",
        nullable=False,
        primary_key=True,
    ),
    _str("person_id", "The person the lead resolved to (people.person_id).", nullable=False),
    sa.Index(None, "person_id"),
    comment="One row per resolved lead: its person. Written by identity resolution only; "
    "test leads and leads not resolved yet have none. Join leads here for a lead's person.",
)

email_people = sa.Table(
    "email_people",
    metadata,
    _str(
        "email_match_key",
        "A normalized email (leads.email_match_key, engagement_events.email_match_key).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "person_id",
        "The one person whose leads carry this email (people.person_id).",
        nullable=False,
    ),
    sa.Index(None, "person_id"),
    comment="One row per email match key that belongs to exactly one person's leads: whose "
    "engagement events those are (join engagement_events here on email_match_key). A key "
    "on several people's leads (a shared role address) has no row: its events belong to no one.",
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
        "The kind of link that joined them: email, phone, hubspot_merge or contact_id; "
        "reanchored when the person's first lead left (erased or now a test lead) and the rest "
        "took the id of their next earliest lead.",
        nullable=False,
    ),
    _str(
        "bridging_key",
        "The email match key, E.164 phone, hubspot:<id> or <source>:<account>:<contact_id> that "
        "joined them (personal data).",
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
    # Its index serves lookups by person too (no index of person_id alone: migration 0016).
    sa.UniqueConstraint("person_id", "to_lifecycle", "at"),
    sa.Index(None, "run_id"),
    comment="One row per stage change of a person (person_id, to_lifecycle, at).",
)

person_id_map = sa.Table(
    "person_id_map",
    metadata,
    _str(
        "old_person_id",
        "A person id leadflow used before and no longer does (merged away or renamed).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "person_id",
        "The person (people.person_id) holding most of its leads now: join old ids here.",
        nullable=False,
    ),
    _ts("mapped_at", "When the old id was last pointed here (UTC)."),
    _str("run_id", "leadflow's id of the run that last pointed it here.", nullable=False),
    sa.Index(None, "person_id"),
    comment="One row per retired person id: the id that holds its leads now (chains resolved).",
)

person_milestones = sa.Table(
    "person_milestones",
    metadata,
    sa.Column(
        "person_id",
        sa.String(),
        sa.ForeignKey("people.person_id", ondelete="CASCADE"),
        nullable=False,
        primary_key=True,
        comment="The person (people.person_id).",
    ),
    _str(
        "kind",
        "mql (qualified: an SLA clock starts), sql (sales accepted) or rejected (sales "
        "rejected: back to nurture).",
        nullable=False,
        primary_key=True,
    ),
    sa.Column(
        "at",
        UTCDateTime(),
        nullable=False,
        primary_key=True,
        comment="When it happened, from the person's facts (UTC).",
    ),
    _str("reason", "The signal or decision behind it (a reason code).", nullable=False),
    comment="One row per qualification and sales decision of a person, derived from the "
    "facts of their leads at each classification (what the SLA evaluates).",
)

sales_decisions = sa.Table(
    "sales_decisions",
    metadata,
    sa.Column(
        "person_id",
        sa.String(),
        sa.ForeignKey("people.person_id", ondelete="CASCADE"),
        nullable=False,
        primary_key=True,
        comment="The person decided on (people.person_id).",
    ),
    sa.Column(
        "decided_at",
        UTCDateTime(),
        nullable=False,
        primary_key=True,
        comment="When the decision was made: the CRM's status change time, or for a lead "
        "with no status history the lead's last update (UTC).",
    ),
    _str(
        "source",
        "The CRM the decision was made in (salesforce, hubspot).",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "lead_id",
        "The decided lead's leads.source_lead_id in that CRM.",
        nullable=False,
        primary_key=True,
    ),
    _str(
        "field",
        "The status field read (Status, IsConverted, hs_lead_status, lifecyclestage).",
        nullable=False,
        primary_key=True,
    ),
    _str("decision", "accepted, rejected, converted or recycled.", nullable=False),
    _str("raw_status", "The field's value as the CRM stores it.", nullable=False),
    _str("rep_id", "The CRM user who made the change, else the lead's owner (sales_reps.rep_id)."),
    _str("reason", "The reason the CRM recorded with the change, when it has one."),
    _str(
        "basis",
        "history (a recorded status change) or current (the lead's current value, "
        "for a lead whose CRM keeps no history of that field).",
        nullable=False,
    ),
    comment="One row per sales decision on a person, derived at classification from "
    "crm_status_changes (or the leads' current status fields) and the rules' "
    "sales.decision_statuses; what the accept/reject SLA is measured against.",
)
