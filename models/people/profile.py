"""A person's profile: their best contact details from their leads (pure).

Each group of fields (``PROFILE_GROUPS``: email, phone, name, company, title, place) comes
from the most recently updated lead that has any of them, so a first and last name come from
the same lead. Identity's store builds every person's profile this way; erasure recomputes a
kept person's profile from the same groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from leadflow.models.records.leads import PROFILE_GROUPS, Lead

NaturalKey = tuple[str, str]


class ProfileLead(NamedTuple):
    """What a profile is built from: a lead's key, last update and profile fields (a
    whole :class:`Lead` serves as well)."""

    source: str
    source_lead_id: str
    updated_at: datetime
    email: str | None = None
    email_match_key: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    country: str | None = None
    city: str | None = None

    @property
    def natural_key(self) -> NaturalKey:
        return (self.source, self.source_lead_id)


def person_profile(leads: Sequence[Lead] | Sequence[ProfileLead]) -> dict[str, Any]:
    """The person's best contact details: each group of fields from the most recently
    updated lead that has any of them (a first and last name come from the same lead)."""
    if not leads:
        raise ValueError("a person has at least one lead")
    newest_first = sorted(leads, key=lambda lead: (lead.updated_at, lead.natural_key))[::-1]
    profile: dict[str, Any] = {}
    for group in PROFILE_GROUPS:
        best = next((lead for lead in newest_first if any(getattr(lead, f) for f in group)), None)
        profile.update({f: getattr(best, f) if best else None for f in group})
    return profile


# Columns person_profile fills (PROFILE_GROUPS, in order), and each group's positions in a
# ProfileLead.
_COLUMNS = tuple(name for group in PROFILE_GROUPS for name in group)
_GROUP_AT = tuple(tuple(ProfileLead._fields.index(name) for name in g) for g in PROFILE_GROUPS)


def profile_values(found: Sequence[ProfileLead]) -> tuple[Any, ...]:
    """The profile of a person's leads as a tuple of the ``PROFILE_GROUPS`` columns' values
    (in order): ``person_profile``'s; one lead's is taken from it directly (each group of
    fields, or None where it has none of the group), without the sort and lookups by name."""
    if len(found) > 1:
        profile = person_profile(found)
        return tuple(profile[name] for name in _COLUMNS)
    (lead,) = found
    values: list[Any] = []
    for at in _GROUP_AT:
        group = [lead[i] for i in at]
        values += group if any(group) else [None] * len(at)
    return tuple(values)
