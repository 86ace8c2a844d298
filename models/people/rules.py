"""Classification rules as data: a pydantic model, loaded from YAML, with shipped defaults.

The defaults live in ``models/people/default_rules.yaml`` (every key commented there); a deployment
overrides them with its own file. Unknown keys are errors (``extra="forbid"``) so a typo in
the YAML fails at load time instead of silently scoring nothing, and every pattern is
compiled at load time for the same reason.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Temperature = Literal["cold", "warm"]
DEFAULT_RULES_FILE = "default_rules.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_pattern(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"invalid regular expression {value!r}: {error}") from error
    return value


class ChannelRule(_Frozen):
    """Assigns ``channel`` when every given condition matches (regex search, ignoring case)."""

    channel: str
    source: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    analytics_source: str | None = None
    form_name: str | None = None
    is_organic: bool | None = None

    _check = field_validator(
        "source", "utm_source", "utm_medium", "utm_campaign", "analytics_source", "form_name"
    )(_check_pattern)

    @model_validator(mode="after")
    def _has_condition(self) -> ChannelRule:
        conditions = self.model_dump(exclude={"channel"}, exclude_none=True)
        if not conditions:
            raise ValueError(f"channel rule {self.channel!r} has no condition")
        return self


class ChannelRules(_Frozen):
    """How a lead's channel is detected, and whether each channel is cold or warm."""

    rules: tuple[ChannelRule, ...]
    temperature: dict[str, Temperature]
    default_channel: str = "unknown"
    default_temperature: Temperature = "cold"

    def temperature_of(self, channel: str) -> Temperature:
        return self.temperature.get(channel, self.default_temperature)


class HandRaiser(_Frozen):
    """A signal that the person has shown interest: any one given condition matching."""

    name: str
    form_name: str | None = None
    event_type: str | None = None
    touch_type: str | None = None
    source_stage: str | None = None

    _check = field_validator("form_name", "source_stage")(_check_pattern)


class TitlePoints(_Frozen):
    code: str
    pattern: str
    points: int

    _check = field_validator("pattern")(_check_pattern)


class SizePoints(_Frozen):
    code: str
    min_employees: int = Field(ge=0)
    points: int


class FitRules(_Frozen):
    """Ideal-customer-profile points: first matching title, largest size band met, etc."""

    titles: tuple[TitlePoints, ...] = ()
    company_sizes: tuple[SizePoints, ...] = ()
    target_countries: frozenset[str] = frozenset()
    target_country_points: int = 0
    business_email_points: int = 0
    free_email_points: int = 0
    free_email_domains: frozenset[str] = frozenset()

    @field_validator("target_countries", "free_email_domains", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return frozenset(str(v).strip().lower() for v in value or ())


class EventPoints(_Frozen):
    points: float
    daily_cap: int = Field(default=3, ge=1)


class EngagementRules(_Frozen):
    """Points per engagement event type, halving every ``half_life_days``."""

    half_life_days: float = Field(gt=0)
    events: dict[str, EventPoints]


class Thresholds(_Frozen):
    """Qualified by score = fit >= ``fit`` and engagement >= ``engagement``."""

    fit: int
    engagement: float = Field(gt=0)
    engaged: float = Field(default=1, gt=0)


DECISIONS = ("accepted", "rejected", "converted", "recycled")
"""What a CRM status value can record: accepted and converted move a person to sql;
rejected and recycled hand them back to marketing (nurture)."""
Decision = Literal["accepted", "rejected", "converted", "recycled"]


class SalesRules(_Frozen):
    """Which raw CRM status values record which sales decision (matched ignoring case).

    ``decision_statuses`` maps a status field (``Status``, ``IsConverted`` on Salesforce;
    ``hs_lead_status``, ``lifecyclestage`` on HubSpot) to its values and the decision each
    records. The three lists are the HubSpot shorthands of earlier releases (accepted
    lifecycle stages, accepted and rejected lead statuses); ``decision_statuses`` wins
    where both name a value.
    """

    accepted_lifecycle_stages: frozenset[str] = frozenset()
    accepted_lead_statuses: frozenset[str] = frozenset()
    rejected_lead_statuses: frozenset[str] = frozenset()
    decision_statuses: dict[str, dict[str, Decision]] = Field(default_factory=dict)

    @field_validator(
        "accepted_lifecycle_stages", "accepted_lead_statuses", "rejected_lead_statuses",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return frozenset(str(v).strip().lower() for v in value or ())

    @field_validator("decision_statuses", mode="before")
    @classmethod
    def _lower_statuses(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {
            str(name).strip().lower(): {
                _status_text(raw).lower(): decision for raw, decision in (values or {}).items()
            }
            for name, values in value.items()
        }

    def decision_for(self, field: str, value: str | None) -> Decision | None:
        """The decision a change of ``field`` to ``value`` records; None when it records
        none (an open status, an unknown value)."""
        name, text = field.strip().lower(), _status_text(value).lower()
        found = self.decision_statuses.get(name, {}).get(text)
        if found is not None or not text:
            return found
        if name == "hs_lead_status":
            if text in self.rejected_lead_statuses:
                return "rejected"
            if text in self.accepted_lead_statuses:
                return "accepted"
        if name == "lifecyclestage" and text in self.accepted_lifecycle_stages:
            return "accepted"
        return None


def _status_text(value: Any) -> str:
    """A status value as text: YAML reads ``true`` as a boolean, CRMs send ``"true"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip()


class IdentityRules(_Frozen):
    """Which shared identifiers link nobody (identity resolution's blocking rules).

    Applied to the whole set of leads each run, so the answer does not depend on the order
    the leads arrived in: a phone shared by more than ``max_emails_per_phone`` different
    emails (a switchboard, an agency) never links anyone, whatever was loaded first; an
    address whose local part is a role (``info@``, ``sales@``) or whose domain is a
    disposable-mail service links nobody either (the leads stay, each its own person unless
    another key joins them).
    """

    max_emails_per_phone: int = Field(default=5, ge=1)
    role_local_parts: frozenset[str] = frozenset()
    disposable_domains: frozenset[str] = frozenset()

    @field_validator("role_local_parts", "disposable_domains", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return frozenset(str(v).strip().lower() for v in value or ())

    def blocks_email(self, match_key: str) -> bool:
        """True when ``match_key`` (a normalized address) must not link leads."""
        local, _, domain = match_key.rpartition("@")
        return local.split("+", 1)[0] in self.role_local_parts or (
            domain in self.disposable_domains
        )


class Rules(_Frozen):
    """Everything :func:`leadflow.models.people.classify.classify` and identity resolution
    decide by."""

    channels: ChannelRules
    hand_raisers: tuple[HandRaiser, ...] = ()
    fit: FitRules
    engagement: EngagementRules
    thresholds: Thresholds
    sales: SalesRules = SalesRules()
    identity: IdentityRules = IdentityRules()


def rules_from_mapping(data: Any) -> Rules:
    """Validate an already parsed YAML/JSON document."""
    return Rules.model_validate(data)


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules in ``path``; the shipped defaults when ``path`` is None."""
    if path is None:
        return default_rules()
    return rules_from_mapping(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


@cache
def default_rules() -> Rules:
    """The documented defaults shipped in ``models/people/default_rules.yaml``."""
    text = (
        resources.files("leadflow.models.people")
        .joinpath(DEFAULT_RULES_FILE)
        .read_text(encoding="utf-8")
    )
    return rules_from_mapping(yaml.safe_load(text))
