"""What a lead export file is: its encoding, its delimiter and the layout of its columns.

Encoding: ``leadflow.connectors.files.encodings`` (a BOM, strict UTF-8, a mixed UTF-8 file's
lines that are not UTF-8, else charset-normalizer under a confidence threshold, else refused).

Layouts: Meta's lead export (TSV, columns named as the Graph ``Lead`` fields plus one per form
question, ids prefixed ``l:``/``ag:``/``as:``/``c:``/``f:`` and phones ``p:``), LinkedIn's Campaign
Manager lead export (CSV, human column names), or any other file through a column mapping. Rows are
turned into the records the API connectors map (``leadflow.connectors.meta.fields``,
``leadflow.connectors.linkedin.fields``), so a file and the API normalize leads the same way.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# Re-exported: the encoding and the error are part of what a file "is" to its readers.
from leadflow.connectors.files.encodings import decode as decode
from leadflow.connectors.files.encodings import decode_file as decode_file
from leadflow.connectors.files.encodings import detect_encoding as detect_encoding
from leadflow.connectors.files.errors import CsvFormatError as CsvFormatError
from leadflow.connectors.linkedin.fields import PREDEFINED, UTM_FIELDS
from leadflow.connectors.linkedin.restli import urn_id
from leadflow.connectors.meta.fields import STANDARD_KEYS, normalize_key
from leadflow.models.records.contact import clean_text, parse_timestamp
from leadflow.models.records.names import split_full_name

SNIFF_SIZE = 1024
DELIMITERS = ",;\t|"
META, LINKEDIN, GENERIC = "meta", "linkedin", "generic"


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """How a file was read: ``kind`` is "meta", "linkedin" or "generic"."""

    kind: str
    encoding: str
    delimiter: str
    columns: tuple[str, ...]


def detect_delimiter(text: str) -> str:
    """The delimiter among ``,;<tab>|``: csv.Sniffer over the first KB, checked on the header.

    The sniffer sees whole lines only (a line cut short misleads it); if it fails, or picks
    a character the header does not contain, the most frequent candidate in the header wins.
    """
    sample = text[:SNIFF_SIZE]
    if len(text) > SNIFF_SIZE and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    header = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    try:
        found: str | None = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = None
    if found is None or found not in header:
        counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
        best = max(counts, key=lambda candidate: counts[candidate])
        found = best if counts[best] else ","
    return found


def normalize_header(name: str) -> str:
    """A column name compared loosely: ``Country/Region`` -> ``country_region``."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def parse_export_time(value: str | None, column: str, zone: str | None) -> datetime:
    """A timestamp cell. Naive values are read in UTC when the column says "(UTC)", else in
    ``zone``; with neither they are rejected (ValueError), as the API path rejects them."""
    try:
        return parse_timestamp(value)
    except ValueError as error:
        naive_zone = "UTC" if "utc" in column.lower() else zone
        if naive_zone is None or "without a time zone" not in str(error):
            raise
    return datetime.fromisoformat(str(value).strip()).replace(tzinfo=ZoneInfo(naive_zone))


# Meta -------------------------------------------------------------------------------------

# The Graph Lead fields of Meta's export; every other column is a form question.
META_COLUMNS = ("id", "created_time", "ad_id", "ad_name", "adset_id", "adset_name",
                "campaign_id", "campaign_name", "form_id", "form_name", "is_organic",
                "platform")  # fmt: skip
META_ID_COLUMNS = frozenset({"id", "ad_id", "adset_id", "campaign_id", "form_id"})
_META_PREFIX = re.compile(r"^[a-z]{1,3}:(?=\d+$)")  # l:123, ag:..., as:..., c:..., f:...
_PHONE_KEYS = frozenset(STANDARD_KEYS["phone"] + STANDARD_KEYS["work_phone"])


def is_meta(columns: Sequence[str]) -> bool:
    names = {c.strip().lower() for c in columns}
    return {"id", "created_time", "form_id"} <= names and len(names & set(META_COLUMNS)) >= 6


def meta_id(value: str | None) -> str | None:
    """``l:1054074580944020`` -> ``1054074580944020``; other values trimmed."""
    text = clean_text(value)
    return _META_PREFIX.sub("", text) if text else None


def meta_record(row: Mapping[str, str], zone: str | None) -> dict[str, Any]:
    """A Meta export row as the Graph ``Lead`` node ``meta_fields.to_lead`` maps."""
    record: dict[str, Any] = {}
    field_data = []
    for column, value in row.items():
        name = column.strip().lower()
        if name in META_ID_COLUMNS:
            record[name] = meta_id(value)
        elif name == "created_time":
            record[name] = iso_time(value, column, zone)
        elif name in META_COLUMNS:
            record[name] = clean_text(value)
        else:
            if normalize_key(column) in _PHONE_KEYS and value.strip().lower().startswith("p:"):
                value = value.strip()[2:]
            field_data.append({"name": column, "values": [value]})
    record["field_data"] = field_data + _split_names(field_data)
    return record


def _split_names(field_data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First and last name answers from a full name alone ("Last, First" too: the mapper
    would split it at its last space), none when the form asked for either."""
    keys = {normalize_key(item["name"]): item["values"][0] for item in field_data}
    named = STANDARD_KEYS["first_name"] + STANDARD_KEYS["last_name"]
    if any(keys.get(k, "").strip() for k in named):
        return []
    full = next((keys[k] for k in STANDARD_KEYS["full_name"] if keys.get(k, "").strip()), None)
    if full is None:
        return []
    first, last = split_full_name(full)
    return [{"name": "first_name", "values": [first or ""]},
            {"name": "last_name", "values": [last or ""]}]  # fmt: skip


def iso_time(value: str | None, column: str, zone: str | None) -> str | None:
    """A cell as an ISO timestamp with its offset; left as is when it does not parse (the
    mapper then rejects it with the API path's own reason)."""
    try:
        return parse_export_time(value, column, zone).isoformat()
    except ValueError:
        return value


# LinkedIn ---------------------------------------------------------------------------------

# Column (normalized) -> the form's predefinedField, from linkedin_fields.PREDEFINED's keys
# (FIRST_NAME -> first_name...) plus the labels LinkedIn's export spells differently.
LINKEDIN_QUESTIONS = {field.lower(): field for field in PREDEFINED} | {
    "email_address": "EMAIL",
    "work_email_address": "WORK_EMAIL",
    "phone": "PHONE_NUMBER",
    "mobile_phone_number": "PHONE_NUMBER",
    "company": "COMPANY_NAME",
    "title": "JOB_TITLE",
    "country_region": "COUNTRY",
}
# Column (normalized) -> what it is about the response rather than an answer.
LINKEDIN_META = {
    "lead_id": "id", "lead_form_response_id": "id", "response_id": "id",
    "submitted_at": "submitted", "submitted_at_utc": "submitted",
    "lead_submitted_at": "submitted", "lead_submitted_at_utc": "submitted",
    "date_submitted": "submitted", "submitted_on": "submitted", "submission_date": "submitted",
    "campaign_id": "campaign_id", "campaign_name": "campaign_name",
    "creative_id": "ad_id", "ad_id": "ad_id",
    "form_id": "form_id", "lead_gen_form_id": "form_id",
    "form_name": "form_name", "lead_gen_form_name": "form_name",
    "lead_type": "lead_type", "test_lead": "test_lead", "is_test_lead": "test_lead",
}  # fmt: skip
_LINKEDIN_EMAILS = {"email_address", "email", "work_email", "work_email_address"}


def is_linkedin(columns: Sequence[str]) -> bool:
    names = {normalize_header(c) for c in columns}
    roles = {LINKEDIN_META.get(name) for name in names}
    return (
        {"id", "submitted"} <= roles
        and {"first_name", "last_name"} <= names
        and bool(names & _LINKEDIN_EMAILS)
    )


def linkedin_record(row: Mapping[str, str], zone: str | None) -> dict[str, Any]:
    """A LinkedIn export row as the form response ``linkedin_fields.to_lead`` maps: each
    answer column a question of the attached form (``predefinedField`` when it is one),
    utm_* columns the form's hidden fields."""
    found: dict[str, Any] = {}
    questions, answers, hidden = [], [], []
    for number, (column, value) in enumerate(row.items(), start=1):
        key = normalize_header(column)
        role = LINKEDIN_META.get(key)
        if role == "submitted":
            found[role] = iso_time(value, column, zone)
        elif role is not None:
            found[role] = clean_text(value)
        elif key in UTM_FIELDS:
            hidden.append({"name": key, "value": value})
        else:
            question: dict[str, Any] = {"questionId": number, "question": column}
            if key in LINKEDIN_QUESTIONS:
                question["predefinedField"] = LINKEDIN_QUESTIONS[key]
            questions.append(question)
            answer = {"textQuestionAnswer": {"answer": value}}
            answers.append({"questionId": number, "answerDetails": answer})
    lead_id = found.get("id")
    record: dict[str, Any] = {
        "id": urn_id(lead_id) if lead_id and lead_id.startswith("urn:") else lead_id,
        "submittedAt": found.get("submitted"),
        "formResponse": {"answers": answers},
        "form": {"name": found.get("form_name"), "hiddenFields": hidden,
                 "content": {"questions": questions}},
    }  # fmt: skip
    if found.get("campaign_id"):
        campaign = f"urn:li:sponsoredCampaign:{urn_id(found['campaign_id'])}"
        record["leadMetadata"] = {"sponsoredLeadMetadata": {"campaign": campaign}}
    if found.get("ad_id"):
        record["associatedEntity"] = {"associatedCreative": found["ad_id"]}
    if found.get("form_id"):
        form = f"urn:li:leadGenForm:{urn_id(found['form_id'])}"
        record["versionedLeadGenFormUrn"] = f"urn:li:versionedLeadGenForm:({form},1)"
    if found.get("lead_type"):
        record["leadType"] = normalize_header(found["lead_type"]).upper()
    record["testLead"] = str(found.get("test_lead") or "").lower() in ("true", "yes", "1")
    return record


def linkedin_campaign_name(row: Mapping[str, str]) -> str | None:
    """The campaign name column, which the API response does not carry."""
    for column, value in row.items():
        if LINKEDIN_META.get(normalize_header(column)) == "campaign_name":
            return clean_text(value)
    return None
