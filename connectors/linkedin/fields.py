"""Map one LinkedIn lead form response to a Lead, joining its answers through the form.

A response's answers carry only ``questionId``
(https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync); which answer is
the email is said by the form's ``content.questions[].predefinedField``
(https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/lead-sync-schema). LinkedIn
advises mapping on ``predefinedField`` (language-independent) and, for custom questions,
on the question itself. The connector attaches the form to each record under ``form`` —
the key LinkedIn's own ``form:(...)`` projection uses — so this mapping is pure.

Test leads: LinkedIn marks them ``testLead: true`` (the leadFormResponses schema, and the
``limitedToTestLeads`` finder parameter, .../lead-sync/leadsync). Like Meta's they are loaded
flagged ``is_test``, never dropped, even when they answer no contact question (a test
submission need not be a reachable person); a real lead without email or phone is still
rejected (``reachable_contact``).

Unreadable forms: when the connector could not read a lead's form (404/403: it attaches
``{"id", "unreadable": "HTTP 404"}``), the answers cannot be labeled, so they are kept under
``question_<id>``. An answer that is a valid email address is the lead's email (the only
contact recognisable by its shape; a phone is not told from a headcount or a postcode); a
real lead without one is rejected with ``form N unreadable (HTTP 404)``: quarantine keeps its
raw record, where a load would carry a lead sales cannot reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from leadflow.connectors.base import LeadContext
from leadflow.connectors.linkedin.restli import form_id_of, urn_id
from leadflow.models.records.contact import (
    clean_name,
    clean_text,
    normalize_email,
    parse_timestamp,
    reachable_contact,
    region_for_country,
)
from leadflow.models.records.leads import InvalidRecord, Lead, Rejected
from leadflow.models.records.spend import CampaignDay, read_campaign_day

SOURCE = "linkedin"

PREDEFINED = {
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "EMAIL": "email",
    "WORK_EMAIL": "work_email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE_NUMBER": "work_phone",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "job_title",
    "COUNTRY": "country",
    "CITY": "city",
}
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def record_key(record: Mapping[str, Any]) -> str | None:
    """The natural key: the form response ``id`` (e.g. ``3a5c...-4``)."""
    value = record.get("id")
    return str(value) if value not in (None, "") else None


def localized(value: object) -> str | None:
    """The text of a MultiLocaleString (``{"localized": {"en_US": "..."}}``) or a string."""
    if isinstance(value, Mapping):
        texts = [v for v in (value.get("localized") or {}).values() if v]
        return str(texts[0]) if texts else None
    return str(value) if value not in (None, "") else None


def form_questions(record: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The attached form's questions by ``questionId`` (as a string)."""
    form = record.get("form") or {}
    questions = (form.get("content") or {}).get("questions") or []
    return {str(q.get("questionId")): q for q in questions if isinstance(q, Mapping)}


def answer_value(answer: Mapping[str, Any], question: Mapping[str, Any]) -> Any:
    """A text answer, or the chosen option texts of a multiple-choice answer."""
    details = answer.get("answerDetails") or {}
    text = (details.get("textQuestionAnswer") or {}).get("answer")
    if text is not None:
        return text
    chosen = (details.get("multipleChoiceAnswer") or {}).get("options")
    if not chosen:
        return None
    choices = (question.get("questionDetails") or {}).get("multipleChoiceQuestionDetails") or {}
    labels = {str(o.get("id")): localized(o.get("text")) for o in choices.get("options") or []}
    texts = [labels.get(str(option)) or str(option) for option in chosen]
    return texts[0] if len(texts) == 1 else texts


def question_label(question: Mapping[str, Any], question_id: str) -> str:
    """A key for an unmapped answer: the predefined field, else the question as asked.

    LinkedIn says to map custom questions by ``question`` (the text in the form's language);
    ``name`` is the creator-locale label, often a generic "Custom question 0".
    """
    if question.get("predefinedField"):
        return str(question["predefinedField"]).lower()
    text = clean_text(localized(question.get("question")) or question.get("name"))
    return text or f"question_{question_id}"


def joined_answers(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values by Lead field, other answers by question label) for one response."""
    questions = form_questions(record)
    mapped: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for answer in (record.get("formResponse") or {}).get("answers") or []:
        question_id = str(answer.get("questionId"))
        question = questions.get(question_id, {})
        value = answer_value(answer, question)
        if value in (None, "", []):
            continue
        target = PREDEFINED.get(str(question.get("predefinedField")))
        if target is not None and target not in mapped and isinstance(value, str):
            mapped[target] = value
        else:
            custom[question_label(question, question_id)] = value
    return mapped, custom


def hidden_fields(record: Mapping[str, Any]) -> dict[str, str]:
    """The form's hidden fields (tracking values set by the advertiser) by name."""
    fields = [*((record.get("form") or {}).get("hiddenFields") or [])]
    fields += (record.get("formResponse") or {}).get("hiddenFields") or []
    return {
        str(f["name"]): str(f.get("value"))
        for f in fields
        if isinstance(f, Mapping) and f.get("name") and f.get("value") not in (None, "")
    }


def consent(record: Mapping[str, Any]) -> dict[str, bool] | None:
    """Each consent checkbox of the form, by ``consentId``: accepted or not."""
    responses = (record.get("formResponse") or {}).get("consentResponses") or []
    accepted = {str(r.get("consentId")): bool(r.get("accepted")) for r in responses}
    return accepted or None


def form_summary(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the answer mapping needs from a form (not its legal text or headline)."""
    content = form.get("content") or {}
    return {
        "id": form.get("id"),
        "name": form.get("name"),
        "versionId": form.get("versionId"),
        "hiddenFields": form.get("hiddenFields") or [],
        "content": {"questions": content.get("questions") or []},
    }


def campaign_day(
    element: Mapping[str, Any], account_id: str, currency: str | None, names: dict[str, str]
) -> CampaignDay | Rejected:
    """One adAnalytics element (pivot CAMPAIGN, granularity DAILY) -> a CampaignDay, or a
    Rejected naming the field and the problem (quarantined; the rest of the report loads)."""

    def campaign() -> str | None:
        return urn_id((element.get("pivotValues") or [None])[0])

    def day() -> date | None:
        start = (element.get("dateRange") or {}).get("start")
        if not start:
            return None
        return date(int(start["year"]), int(start["month"]), int(start["day"]))

    figures = {
        "campaign_id": ("pivotValues", campaign),
        "day": ("dateRange.start", day),
        "spend": ("costInLocalCurrency", lambda: element.get("costInLocalCurrency") or "0"),
        "impressions": ("impressions", lambda: element.get("impressions") or 0),
        "clicks": ("clicks", lambda: element.get("clicks") or 0),
    }
    try:
        name = names.get(campaign() or "")
    except (LookupError, TypeError, AttributeError):
        name = None
    return read_campaign_day(
        SOURCE, account_id, element, figures, currency=currency, campaign_name=name
    )


def _submitted(record: Mapping[str, Any], key: str) -> Any:
    try:
        return parse_timestamp(record.get("submittedAt"))
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, "submittedAt", str(error)) from None


def _custom_fields(
    custom: dict[str, Any], mapped: dict[str, Any], hidden: dict[str, str], problems: dict
) -> dict[str, Any]:
    for spare in ("work_email", "work_phone"):
        if spare in mapped:
            custom[spare] = mapped[spare]
    other_hidden = {k: v for k, v in hidden.items() if k.lower() not in UTM_FIELDS}
    if other_hidden:
        custom["hidden_fields"] = other_hidden
    if problems:
        custom["_invalid"] = problems
    return custom


def is_test_lead(record: Mapping[str, Any]) -> bool:
    """LinkedIn's documented marker of a test lead: ``testLead: true``."""
    flag = record.get("testLead")
    return flag is True or str(flag).lower() == "true"


def unreadable_form(record: Mapping[str, Any]) -> str | None:
    """Why the record's form could not be read (``"HTTP 404"``), or None when it was."""
    form = record.get("form")
    status = form.get("unreadable") if isinstance(form, Mapping) else None
    return str(status) if status else None


def unlabeled_email(custom: dict[str, Any]) -> str | None:
    """Take out of ``custom`` the first answer that is a valid email address, and return it."""
    for label, value in custom.items():
        if not isinstance(value, str) or "@" not in value:
            continue
        try:
            address, _ = normalize_email(value)
        except ValueError:
            continue
        if address is not None:
            del custom[label]
            return value
    return None


def _contact(
    record: Mapping[str, Any], key: str, answers: tuple[dict[str, Any], dict[str, Any]],
    region: str | None, is_test: bool,
) -> tuple[str | None, str | None, str | None, dict[str, str]]:  # fmt: skip
    """(email, match key, phone, notes); a test lead needs no contact (module doc)."""
    mapped, custom = answers
    email = mapped.pop("email", None) or mapped.get("work_email")
    phone = mapped.pop("phone", None) or mapped.get("work_phone")
    status = unreadable_form(record)
    if status is not None:
        email = email or unlabeled_email(custom)
        if email is None and phone is None and not is_test:
            form_id = form_id_of(record.get("versionedLeadGenFormUrn")) or "?"
            raise InvalidRecord(SOURCE, key, "form", f"form {form_id} unreadable ({status})")
    found = reachable_contact(SOURCE, key, email, phone, region, required=not is_test)
    if status is not None:
        found[3]["form"] = f"unreadable ({status}): answers keyed by question id"
    return found


def to_lead(record: Mapping[str, Any], context: LeadContext) -> Lead:
    """Map one lead form response (with its form attached under ``form``) to a Lead."""
    key = record_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing")
    submitted = _submitted(record, key)
    mapped, custom = joined_answers(record)
    country = clean_text(mapped.get("country"))
    region = region_for_country(country, context.default_region)
    is_test = is_test_lead(record)
    email, match_key, phone, problems = _contact(record, key, (mapped, custom), region, is_test)
    hidden = hidden_fields(record)
    utm = {k.lower(): clean_text(v) for k, v in hidden.items() if k.lower() in UTM_FIELDS}
    lead_type = record.get("leadType")
    return Lead(
        source=SOURCE,
        source_lead_id=key,
        account_id=context.account_id,
        created_at=submitted,
        updated_at=submitted,
        email=email,
        email_match_key=match_key,
        phone=phone,
        first_name=clean_name(mapped.get("first_name")),
        last_name=clean_name(mapped.get("last_name")),
        company=clean_text(mapped.get("company")),
        job_title=clean_text(mapped.get("job_title")),
        country=country,
        city=clean_text(mapped.get("city")),
        campaign_id=urn_id(
            ((record.get("leadMetadata") or {}).get("sponsoredLeadMetadata") or {}).get("campaign")
        ),
        ad_id=urn_id((record.get("associatedEntity") or {}).get("associatedCreative")),
        form_id=form_id_of(record.get("versionedLeadGenFormUrn")),
        is_test=is_test,
        is_organic=None if lead_type is None else lead_type != "SPONSORED",
        consent=consent(record),
        custom_fields=_custom_fields(custom, mapped, hidden, problems),
        raw=dict(record),
        **{f: utm.get(f) for f in UTM_FIELDS},
    )
