"""Test helpers of the LinkedIn sandbox: extra leads, test leads, and unreadable lead forms.

Docs used:
* https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync and its schema page
  .../lead-sync/lead-sync-schema: a leadFormResponse carries ``testLead`` (Boolean, true for a
  test submission; the ``limitedToTestLeads`` finder parameter returns only those) and
  ``formResponse.answers``, one element per question answered, so a submission that left the
  contact questions out has no contact answers at all.
* ``GET /rest/leadForms/{id}`` (same page): a form that no longer exists answers 404
  ``NOT_FOUND``; one the member may no longer read answers 403 ``ACCESS_DENIED`` "Not enough
  permissions to access: leadForms.GET" (.../shared/api-guide/concepts/error-handling). Its
  responses are still listed by ``leadFormResponses``: only the form lookup fails.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any, Literal

from leadflow.sandbox.linkedin.data import FORMS, LinkedInDataset, build_response, ms
from leadflow.sandbox.people import Person, person

CONTACT_FIELDS = frozenset({"EMAIL", "WORK_EMAIL", "PHONE_NUMBER", "WORK_PHONE_NUMBER"})
UNREADABLE = {
    404: ("Lead form {id} does not exist", "NOT_FOUND", None),
    403: ("Not enough permissions to access: leadForms.GET", "ACCESS_DENIED", 100),
}
Answers = Literal["all", "no_contact", "none"]


class LeadSyncHelpers:
    """Mixed into ``LinkedInSandbox``: what tests add to its dataset or break on purpose."""

    dataset: LinkedInDataset
    unreadable_forms: dict[int, int]  # form id -> 404 or 403, served by GET leadForms/{id}

    def add_response(self, form_id: int, *, who: Person | None = None,
                     submitted_at: datetime | int | None = None, test_lead: bool = False,
                     seed: int | None = None, answers: Answers = "all",
                     ) -> dict[str, Any]:  # fmt: skip
        """Append one lead for ``form_id`` (sponsored forms: the form's first campaign);
        ``answers`` keeps them all, all but the contact questions', or none. ``seed`` (by
        default the number of leads so far, so that two added leads never share an id)
        draws the id and the optional answers."""
        form = self.dataset.form(form_id)
        if form is None:
            raise KeyError(f"no lead form {form_id}")
        moment = submitted_at if submitted_at is not None else self.dataset.anchor
        moment = ms(moment) if isinstance(moment, datetime) else moment
        lead_type = next(spec[2] for spec in FORMS if spec[0] == form_id)
        campaign = next((c for c in self.dataset.campaigns if c["form"] == form_id), None)
        who = who or person(100_000 + len(self.dataset.leads))
        rng = random.Random(len(self.dataset.leads) if seed is None else seed)
        lead = build_response(self.dataset, form, who, rng,
                              submitted_at=moment, lead_type=lead_type, test_lead=test_lead,
                              campaign=campaign)  # fmt: skip
        contact = {
            q["questionId"]
            for q in form["content"]["questions"]
            if q.get("predefinedField") in CONTACT_FIELDS
        }
        kept = lead["formResponse"]["answers"]
        if answers == "none":
            kept = []
        elif answers == "no_contact":
            kept = [a for a in kept if a["questionId"] not in contact]
        lead["formResponse"]["answers"] = kept
        return lead

    def add_test_lead(self, form_id: int, *, answers: Answers = "none",
                      **options: Any) -> dict[str, Any]:  # fmt: skip
        """A ``testLead: true`` submission, by default with no answers at all."""
        return self.add_response(form_id, test_lead=True, answers=answers, **options)

    def make_form_unreadable(self, form_id: int, status: Literal[404, 403] = 404) -> None:
        """``GET leadForms/{form_id}`` answers ``status`` from now on (module doc)."""
        if status not in UNREADABLE:
            raise ValueError(f"an unreadable form answers 404 or 403, not {status}")
        self.unreadable_forms[form_id] = status

    def unreadable_body(self, form_id: int) -> tuple[int, dict[str, Any]] | None:
        """The error a form made unreadable answers with, or None."""
        status = self.unreadable_forms.get(form_id)
        if status is None:
            return None
        message, code, service = UNREADABLE[status]
        body = {"status": status, "serviceErrorCode": service, "code": code,
                "message": message.format(id=form_id)}  # fmt: skip
        return status, {k: v for k, v in body.items() if v is not None}
