"""Sales decisions from CRM facts: pure, the mapping is the rules' ``sales.decision_statuses``.

Where a CRM keeps a status field's history (Salesforce ``LeadHistory``, HubSpot's property
history), every recorded change to a value that means a decision is one, dated when the
CRM recorded it: a lead accepted three business hours after it qualified is accepted at
that moment, not "at its last update". The value a record had before its first recorded
change (Salesforce records changes, not the value a lead was created with) counts from
the lead's creation.

A lead whose field has no recorded history falls back to the field's current value, dated
by the lead's last update (what the platform gives; the ``basis`` says ``current``), with
the precedence of earlier releases: a rejecting status, else an accepting lifecycle stage,
else an accepting status.

Accepted and converted move a person to ``sql``; rejected and recycled back to nurture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from leadflow.models.people.facts import LEAD_STATUS_FIELD, STAGE_FIELD, LeadFacts, SalesDecision
from leadflow.models.people.rules import Rules, SalesRules
from leadflow.models.records.activity import StatusChange

ACCEPTING = frozenset({"accepted", "converted"})


def sales_decisions(
    leads: Sequence[LeadFacts],
    changes: Iterable[StatusChange],
    rules: Rules,
    now: datetime,
) -> list[SalesDecision]:
    """Every sales decision on the person's ``leads`` as of ``now``: from the recorded
    ``changes`` where a lead's field has any, else from the lead's current values."""
    changes = sorted(changes, key=lambda c: (c.occurred_at, c.source, c.change_id))
    tracked = {(c.source, c.lead_id, c.field.lower()) for c in changes}
    found: list[SalesDecision] = []
    if changes:
        by_lead = {(lead.source, lead.source_lead_id): lead for lead in leads}
        found = _from_history(changes, by_lead, rules.sales, now)
    for lead in leads:
        current = _from_current(lead, tracked, rules.sales, now)
        if current is not None:
            found.append(current)
    return found


def _from_history(
    changes: Sequence[StatusChange],
    by_lead: dict[tuple[str, str], LeadFacts],
    sales: SalesRules,
    now: datetime,
) -> list[SalesDecision]:
    """Decisions recorded in ``changes`` (of leads in ``by_lead``), and the value each
    lead's field held before its first recorded change, from the lead's creation."""
    found, seen = [], set[tuple[str, str, str]]()
    for change in changes:
        lead = by_lead.get((change.source, change.lead_id))
        if lead is None or change.occurred_at > now:
            continue
        key = (change.source, change.lead_id, change.field.lower())
        if key not in seen and change.old_value:
            seen.add(key)
            earlier = min(lead.created_at, change.occurred_at)
            found += _decided(sales, lead, change.field, change.old_value, earlier, None, None)
        seen.add(key)
        found += _decided(
            sales, lead, change.field, change.new_value, change.occurred_at,
            change.changed_by, change.reason,
        )  # fmt: skip
    return found


def _decided(
    sales: SalesRules,
    lead: LeadFacts,
    field: str,
    value: str | None,
    at: datetime,
    rep_id: str | None,
    note: str | None,
) -> list[SalesDecision]:
    kind = sales.decision_for(field, value)
    if kind is None or value is None:
        return []
    return [_decision(lead, field, value, kind, at, rep_id or lead.owner_id, note, "history")]


def _from_current(
    lead: LeadFacts, tracked: set[tuple[str, str, str]], sales: SalesRules, now: datetime
) -> SalesDecision | None:
    """The decision the lead's current status fields record, for fields without history."""
    if not lead.lead_status and not lead.source_stage:
        return None  # most leads: no status field to read
    at = min(max(lead.updated_at, lead.created_at), now)
    status_field = LEAD_STATUS_FIELD.get(lead.source)
    stage_field = STAGE_FIELD.get(lead.source, "lifecyclestage")
    untracked = [
        (name, value)
        for name, value in ((status_field, lead.lead_status), (stage_field, lead.source_stage))
        if name and value and (lead.source, lead.source_lead_id, name.lower()) not in tracked
    ]
    kinds = [(name, value, _decision_for(sales, name, value)) for name, value in untracked]
    rejecting = sorted(
        (k for k in kinds if k[2] and k[2] not in ACCEPTING), key=lambda k: k[0] != status_field
    )  # the status first, as before
    accepting = sorted(
        (k for k in kinds if k[2] in ACCEPTING), key=lambda k: k[0] == status_field
    )  # a lifecycle stage first, as before
    chosen = (rejecting or accepting or [None])[0]
    if chosen is None:
        return None
    name, value, kind = chosen
    return _decision(lead, name, value, kind, at, lead.owner_id, None, "current")


_DECIDED: dict[tuple[int, str, str], tuple[SalesRules, Any]] = {}


def _decision_for(sales: SalesRules, field: str, value: str) -> Any:
    """``sales.decision_for(field, value)``, memoized (a few fields and statuses)."""
    key = (id(sales), field, value)
    found = _DECIDED.get(key)
    if found is None or found[0] is not sales:  # new, or an id reused by other rules
        if len(_DECIDED) >= 10_000:
            _DECIDED.clear()
        found = _DECIDED[key] = (sales, sales.decision_for(field, value))
    return found[1]


def _decision(
    lead: LeadFacts,
    field: str,
    value: str,
    kind: str,
    at: datetime,
    rep_id: str | None,
    note: str | None,
    basis: str,
) -> SalesDecision:
    return SalesDecision(
        at=at,
        accepted=kind in ACCEPTING,
        reason=f"{field}={value}",
        kind=kind,
        source=lead.source,
        lead_id=lead.source_lead_id,
        field=field,
        raw_status=value,
        rep_id=rep_id,
        note=note,
        basis=basis,
    )
