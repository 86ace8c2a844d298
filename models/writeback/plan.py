"""What to write to the CRM, decided from the warehouse's rows alone (pure: no I/O).

Tasks: one per (rule, person, clock start), ever, for an evaluation of a configured rule
that is breached, or pending and due within ``before_minutes``, of a person who has a
contact in the CRM. The key (``task_key``) is stored in ``writebacks`` and written into the
task (``[leadflow:<key>]`` in the body, its search word in the subject), so a row left
``pending`` by a crash is resolved by searching the CRM for the key before anything is
created again.
A task whose evaluation became met is completed when ``on_met`` is ``complete``.

Properties: ``leadflow_stage``, ``leadflow_fit_score``, ``leadflow_engagement_score`` and
``leadflow_reasons`` of each person whose values (or contact) changed since the last
write, as compared through the hash of what was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

TASK, PROPERTIES = "task", "properties"
DONE = ("created", "closed")
PROPERTY_NAMES = (
    "leadflow_stage",
    "leadflow_fit_score",
    "leadflow_engagement_score",
    "leadflow_reasons",
)
# HubSpot's search finds a new object a few seconds after it was written: a pending row
# younger than this is left for a later run, so that its search can see a task it created.
SEARCH_SETTLE = timedelta(minutes=2)
_TITLES = {"first_touch": "First touch", "accept_reject": "Accept or reject"}
_TYPES = {"first_touch": "CALL", "accept_reject": "TODO"}

T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """An SLA evaluation, with the person's contact and owner in the CRM (None: none)."""

    rule: str
    person_id: str
    clock_start: datetime
    due_at: datetime | None
    status: str
    contact_id: str | None
    owner_id: str | None
    rep_source: str | None = None  # the CRM of the evaluation's rep, if any


@dataclass(frozen=True)
class Ledger:
    """A ``writebacks`` row as the plan needs it."""

    key: str
    status: str
    object_id: str | None = None
    attempts: int = 0
    payload_hash: str | None = None
    updated_at: datetime | None = None
    crm: str | None = None


@dataclass(frozen=True)
class TaskWrite:
    """A task to create; ``resume``: a pending row (search the CRM for the key first);
    ``search_only``: its evaluation was met meanwhile (find it, but create nothing)."""

    key: str
    person_id: str
    rule: str
    contact_id: str
    owner_id: str | None
    due_at: datetime
    breached: bool
    resume: bool = False
    search_only: bool = False  # met since it was asked for: recorded if found, never created

    @property
    def subject(self) -> str:
        """What the rep reads, and the key's search word (``search_token``) at the end."""
        state = "overdue" if self.breached else "due soon"
        title = _TITLES.get(self.rule, self.rule)
        return f"leadflow SLA: {title} {state} [{search_token(self.key)}]"

    @property
    def body(self) -> str:
        state = "breached" if self.breached else "pending"
        return (
            f"leadflow SLA rule {self.rule} for this contact is {state}: due "
            f"{self.due_at.isoformat()}. [leadflow:{self.key}]"
        )

    def properties(self) -> dict[str, str]:
        """The task's HubSpot properties (``hs_timestamp``: the deadline)."""
        props = {
            "hs_task_subject": self.subject,
            "hs_task_body": self.body,
            "hs_timestamp": _utc_text(self.due_at),
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH" if self.breached else "MEDIUM",
            "hs_task_type": _TYPES.get(self.rule, "TODO"),
        }
        if self.owner_id:
            props["hubspot_owner_id"] = self.owner_id
        return props

    def salesforce_fields(self) -> dict[str, str]:
        """The Salesforce ``Task`` fields (``ActivityDate``: the deadline's UTC date; the
        lead, ``WhoId``, is the writer's to add)."""
        fields = {
            "Subject": self.subject,
            "Description": self.body,
            "ActivityDate": self.due_at.astimezone(UTC).date().isoformat(),
            "Status": "Not Started",
            "Priority": "High" if self.breached else "Normal",
            "TaskSubtype": "Call" if self.rule == "first_touch" else "Task",
        }
        if self.owner_id:
            fields["OwnerId"] = self.owner_id
        return fields


@dataclass(frozen=True)
class TaskClose:
    """A created task whose evaluation became met: to complete."""

    key: str
    person_id: str
    object_id: str


@dataclass(frozen=True)
class PropertyWrite:
    """One contact's leadflow properties to write (key: the person id)."""

    person_id: str
    contact_id: str
    properties: dict[str, str]
    payload_hash: str

    @property
    def key(self) -> str:
        return self.person_id


@dataclass(frozen=True)
class PersonValues:
    """A classified person's values and contact."""

    person_id: str
    contact_id: str
    stage: str | None
    fit: int | None
    engagement: float | None
    reasons: Sequence[str] | None


@dataclass
class Plan:
    """What one run writes, in order, within the cap; ``skipped`` counts what cannot be."""

    create: list[TaskWrite] = field(default_factory=list)
    complete: list[TaskClose] = field(default_factory=list)
    properties: list[PropertyWrite] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        return len(self.create) + len(self.complete) + len(self.properties)


def task_key(rule: str, person_id: str, clock_start: datetime) -> str:
    """``<rule>:<person_id>:<clock_start ISO, UTC>``: one task per qualification, ever."""
    return f"{rule}:{person_id}:{clock_start.isoformat()}"


def candidate_keys(
    candidates: Iterable[Candidate], former: Mapping[str, Sequence[str]]
) -> list[str]:
    """The ledger keys a task for each candidate may have been written under: its own, and
    those of the person ids it took over (``former``)."""
    keys = []
    for item in candidates:
        keys.append(task_key(item.rule, item.person_id, item.clock_start))
        keys += [
            task_key(item.rule, old, item.clock_start) for old in former.get(item.person_id, ())
        ]
    return keys


def ledger_key(
    item: Candidate, ledger: Mapping[str, Ledger], former: Mapping[str, Sequence[str]]
) -> str:
    """The candidate's key, or the key its task was written under before a merge."""
    key = task_key(item.rule, item.person_id, item.clock_start)
    if key in ledger:
        return key
    for old in sorted(former.get(item.person_id, ())):
        alias = task_key(item.rule, old, item.clock_start)
        if alias in ledger:
            return alias
    return key


def search_token(key: str) -> str:
    """One alphanumeric word for the key, findable with CONTAINS_TOKEN however the CRM
    splits words (the key itself has colons); the body's ``[leadflow:<key>]`` confirms it."""
    return "lfwb" + hashlib.sha256(key.encode()).hexdigest()[:16]


def plan_tasks(
    candidates: Iterable[Candidate],
    ledger: Mapping[str, Ledger],
    now: datetime,
    *,
    before_minutes: float,
    on_met: Literal["leave", "complete"],
    rules: Sequence[str],
    former: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """The tasks wanted minus those already written; breached first, then by deadline.

    ``former`` (person id -> the ids it took over in merges, ``person_id_map``): a task
    written for the same rule and clock under one of those ids is this task (its key is
    kept), so a merge never brings a second task for one qualification."""
    plan = Plan()
    horizon = now + timedelta(minutes=before_minutes)
    for item in candidates:
        if item.rule not in rules:
            continue
        key = ledger_key(item, ledger, former or {})
        row = ledger.get(key)
        pending = row is not None and row.status == "pending"  # asked for, outcome unknown
        if item.status == "met" and not pending:
            if on_met == "complete" and row is not None and row.status == "created":
                assert row.object_id is not None
                plan.complete.append(TaskClose(key, item.person_id, row.object_id))
            continue
        due = item.due_at
        wanted = pending or item.status == "breached"
        wanted = wanted or (item.status == "pending" and due is not None and due <= horizon)
        if not wanted or due is None or (row is not None and row.status in DONE):
            continue
        if item.contact_id is None:
            _count(plan.skipped, "no_contact")
            continue
        if pending and _settling(row, now):
            _count(plan.skipped, "pending_settling")  # searched for on a later run
            continue
        plan.create.append(
            TaskWrite(
                key, item.person_id, item.rule, item.contact_id, item.owner_id, due,
                breached=item.status == "breached", resume=pending,
                search_only=item.status == "met",
            )
        )  # fmt: skip
    plan.create.sort(key=lambda t: (not t.breached, t.due_at, t.key))
    plan.complete.sort(key=lambda t: t.key)
    return plan


def contact_properties(person: PersonValues) -> dict[str, str]:
    """The leadflow properties of one person, as HubSpot strings ("" clears a value)."""
    engagement = "" if person.engagement is None else f"{person.engagement:.1f}"
    return {
        "leadflow_stage": person.stage or "",
        "leadflow_fit_score": "" if person.fit is None else str(person.fit),
        "leadflow_engagement_score": engagement,
        "leadflow_reasons": ";".join(person.reasons or ()),
    }


def payload_hash(contact_id: str, properties: Mapping[str, str]) -> str:
    """sha256 of what is written where: a change of either writes again."""
    text = json.dumps([contact_id, sorted(properties.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def plan_properties(
    people: Iterable[PersonValues], ledger: Mapping[str, Ledger]
) -> list[PropertyWrite]:
    """The people whose values changed since their last successful write."""
    writes = []
    for person in people:
        props = contact_properties(person)
        digest = payload_hash(person.contact_id, props)
        row = ledger.get(person.person_id)
        if row is not None and row.status == "created" and row.payload_hash == digest:
            continue
        writes.append(PropertyWrite(person.person_id, person.contact_id, props, digest))
    writes.sort(key=lambda w: w.person_id)
    return writes


def capped(plan: Plan, limit: int) -> tuple[Plan, int]:
    """The plan within ``limit`` writes (tasks first, then completions, then contacts) and
    how many were left for a later run."""
    create = plan.create[:limit]
    complete = plan.complete[: limit - len(create)]
    properties = plan.properties[: limit - len(create) - len(complete)]
    kept = Plan(create, complete, properties, dict(plan.skipped))
    return kept, plan.writes - kept.writes


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _settling(row: Ledger | None, now: datetime) -> bool:
    """Asked for too recently for HubSpot's search to show it yet."""
    return row is not None and row.updated_at is not None and row.updated_at > now - SEARCH_SETTLE


def _utc_text(moment: datetime) -> str:
    """``2026-12-07T14:30:00.000Z``: UTC to the millisecond, as HubSpot writes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _count(counts: dict[str, int], name: str) -> None:
    counts[name] = counts.get(name, 0) + 1
