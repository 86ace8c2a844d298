"""What classification reads about a person: their leads, events, touches, decisions and last state.

Plain frozen records, built by the classification store
(``leadflow.models.people.classification_store``) from the warehouse and by tests directly;
``leadflow.models.people.classify`` decides from them alone. ``LeadFacts.from_lead`` picks the
few fields of a lead that the rules look at, including the platform properties (lead status,
analytics source, company size) that only exist in ``custom_fields`` or the raw payload.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.models.people.scoring import FitInputs
from leadflow.models.records.activity import EngagementEvent, SalesTouch, StatusChange
from leadflow.models.records.leads import Lead, Stage

SIZE_KEYS = ("numberofemployees", "company_size", "employees", "company_employees")
# The custom field holding a CRM lead's sales status (``LeadFacts.lead_status``), by source
# (the ad platforms have none); ``source_stage`` holds HubSpot's lifecycle stage.
LEAD_STATUS_FIELD = {"hubspot": "hs_lead_status", "salesforce": "Status"}
STAGE_FIELD = {"hubspot": "lifecyclestage"}
_NUMBER = re.compile(r"\d[\d,]*")
# The values :meth:`LeadFacts.from_row` takes, in order: the lead's plain columns, then the
# JSON members :meth:`LeadFacts.from_columns` reads.
ROW_FIELDS = ("source", "source_lead_id", "created_at", "updated_at", "utm_source",
              "utm_medium", "utm_campaign", "campaign_id", "is_organic", "form_id",
              "source_stage", "job_title", "company", "country", "email", "owner_id",
              "form_name", "raw_form_name", "raw_form", "raw_meta_form", "lead_status",
              "crm_status", "analytics_source", *SIZE_KEYS)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What classification reads from one lead (see :meth:`from_lead`)."""

    source: str
    source_lead_id: str
    created_at: datetime
    updated_at: datetime
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    campaign_id: str | None = None
    is_organic: bool | None = None
    form_id: str | None = None
    form_name: str | None = None
    source_stage: str | None = None
    lead_status: str | None = None
    analytics_source: str | None = None
    job_title: str | None = None
    company: str | None = None
    company_size: int | None = None
    country: str | None = None
    email_domain: str | None = None
    owner_id: str | None = None

    @classmethod
    def from_lead(cls, lead: Lead) -> LeadFacts:
        custom, raw = lead.custom_fields, lead.raw
        form = raw.get("form") if isinstance(raw.get("form"), Mapping) else {}
        # Meta's connector attaches the lead's form as ``leadflow_form`` (LinkedIn: ``form``).
        meta = raw.get("leadflow_form") if isinstance(raw.get("leadflow_form"), Mapping) else {}
        return cls(
            source=lead.source,
            source_lead_id=lead.source_lead_id,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
            utm_source=lead.utm_source,
            utm_medium=lead.utm_medium,
            utm_campaign=lead.utm_campaign,
            campaign_id=lead.campaign_id,
            is_organic=lead.is_organic,
            form_id=lead.form_id,
            form_name=_text(
                custom.get("form_name")
                or raw.get("form_name")
                or form.get("name")
                or meta.get("name")
            ),
            source_stage=lead.source_stage,
            lead_status=_text(custom.get(LEAD_STATUS_FIELD.get(lead.source, ""))),
            analytics_source=_text(custom.get("hs_analytics_source")),
            job_title=lead.job_title,
            company=lead.company,
            company_size=_first_int(custom.get(k) for k in SIZE_KEYS),
            country=lead.country,
            email_domain=lead.email.rpartition("@")[2] if lead.email else None,
            owner_id=lead.owner_id,
        )

    @classmethod
    def from_columns(cls, values: Mapping[str, Any]) -> LeadFacts:
        """From a lead's stored columns and the few JSON members :meth:`from_lead` reads,
        extracted by the database (``form_name``, ``raw_form_name``, ``raw_form``,
        ``raw_meta_form``, ``lead_status`` (HubSpot's) or ``crm_status`` (another CRM's
        ``Status``), ``analytics_source`` and the ``SIZE_KEYS``): the same facts, without
        parsing whole payloads."""
        return cls.from_row([values[name] for name in ROW_FIELDS], _same)

    @classmethod
    def from_row(cls, row: Sequence[Any], when: Callable[[Any], Any]) -> LeadFacts:
        """:meth:`from_columns` from the values of ``ROW_FIELDS`` in that order (a row as
        read), the two times converted by ``when``: the same facts, without a mapping."""
        (source, lead_id, created, updated, utm_source, utm_medium, utm_campaign, campaign,
         organic, form_id, stage, title, company, country, email, owner, form_name,
         raw_form_name, raw_form, raw_meta_form, lead_status, crm_status, analytics,
         *sizes) = row  # fmt: skip
        if source == "hubspot":
            status = lead_status
        else:
            status = crm_status if source in LEAD_STATUS_FIELD else None
        form = form_name or raw_form_name or raw_form or raw_meta_form
        return cls(
            source, lead_id, when(created), when(updated), utm_source, utm_medium,
            utm_campaign, campaign, organic, form_id, _text(form), stage, _text(status),
            _text(analytics), title, company, _first_int(sizes), country,
            email.rpartition("@")[2] if email else None, owner,
        )  # fmt: skip

    @property
    def fit_inputs(self) -> FitInputs:
        return FitInputs(self.job_title, self.company_size, self.country, self.email_domain)


@dataclass(frozen=True, slots=True)
class SalesDecision:
    """Sales accepted or rejected the person at ``at``; ``reason`` becomes a reason code.

    Decisions read from a CRM (``leadflow.models.people.decisions``) also say which: ``kind``
    (accepted, rejected, converted, recycled), the CRM ``source``, ``lead_id``, status
    ``field`` and ``raw_status``, the ``rep_id`` who decided, the CRM's ``note`` and the
    ``basis`` (``history``: a recorded change; ``current``: the lead's current value).
    """

    at: datetime
    accepted: bool
    reason: str
    kind: str | None = None
    source: str | None = None
    lead_id: str | None = None
    field: str | None = None
    raw_status: str | None = None
    rep_id: str | None = None
    note: str | None = None
    basis: str = "history"


@dataclass(frozen=True, slots=True)
class PreviousState:
    """The person's last stored classification."""

    stage: Stage
    lifecycle: str
    qualified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """Everything known about one resolved person."""

    person_id: str
    leads: Sequence[LeadFacts]
    events: Sequence[EngagementEvent] = ()
    touches: Sequence[SalesTouch] = ()
    previous: PreviousState | None = None
    decisions: Sequence[SalesDecision] = ()
    status_changes: Sequence[StatusChange] = ()


def _same(value: Any) -> Any:
    return value


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _first_int(values: Iterable[Any]) -> int | None:
    """The first value holding a number (``"51-200"`` counts as its lower bound, 51)."""
    for value in values:
        match = _NUMBER.search(str(value)) if value is not None else None
        if match:
            return int(match.group().replace(",", ""))
    return None
