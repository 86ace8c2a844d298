"""The whole warehouse schema in one place: every table module, on one MetaData.

Each domain's tables live in their own module on the shared ``schema.metadata``:
``people_tables`` (people, merges, stage history), ``lead_tables`` (leads, campaigns,
quarantine, sync state and runs), ``activity_tables`` (ad spend, engagement events, sales
touches, reps), ``sla_tables``, ``privacy_tables``, ``state_tables``, ``intake_tables``
(the webhook inbox) and ``writeback_tables`` (writes to CRMs). Importing this module imports
them all, so ``metadata`` holds the complete schema: Alembic's ``env.py`` migrates it and a
test keeps it and the migrations (``migrations/versions``) from drifting apart.
"""

from __future__ import annotations

from leadflow.models.warehouse.activity_tables import (
    ad_spend_daily,
    crm_status_changes,
    engagement_events,
    sales_reps,
    sales_touches,
)
from leadflow.models.warehouse.intake_tables import intake_inbox
from leadflow.models.warehouse.lead_tables import (
    campaigns,
    leads,
    quarantine,
    sync_runs,
    sync_state,
)
from leadflow.models.warehouse.people_tables import (
    email_people,
    lead_people,
    people,
    person_id_map,
    person_merges,
    person_milestones,
    sales_decisions,
    stage_transitions,
)
from leadflow.models.warehouse.privacy_tables import suppression_list
from leadflow.models.warehouse.schema import NAMING_CONVENTION, UTCDateTime, metadata
from leadflow.models.warehouse.sla_tables import sla_evaluations, sla_results
from leadflow.models.warehouse.state_tables import step_state
from leadflow.models.warehouse.writeback_tables import writebacks

__all__ = [
    "NAMING_CONVENTION",
    "UTCDateTime",
    "ad_spend_daily",
    "campaigns",
    "crm_status_changes",
    "email_people",
    "engagement_events",
    "intake_inbox",
    "lead_people",
    "leads",
    "metadata",
    "people",
    "person_id_map",
    "person_merges",
    "person_milestones",
    "quarantine",
    "sales_decisions",
    "sales_reps",
    "sales_touches",
    "sla_evaluations",
    "sla_results",
    "stage_transitions",
    "step_state",
    "suppression_list",
    "sync_runs",
    "sync_state",
    "writebacks",
]
