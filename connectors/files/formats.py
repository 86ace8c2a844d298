"""What a lead export file is: its encoding, its delimiter and the layout of its columns.

Encoding, without a detection library: a byte order mark settles it (UTF-8-SIG, UTF-16 LE/BE); a
BOM-less file full of NUL bytes in alternate positions is UTF-16; otherwise strict UTF-8, else
cp1252. No chardet or charset-normalizer: they guess statistically, and on the short, mostly-ASCII
files exports are, their guesses are unreliable (a cp1252 file named "cp1250" or "MacRoman" breaks
the few accented names silently), while these producers are known: Meta's lead download is UTF-16 LE
with a BOM (its Excel-friendly TSV), LinkedIn's and other tools' CSV is UTF-8 (often with a BOM),
and Excel's plain "CSV" save uses the Windows ANSI code page, cp1252 in Western locales. Strict
UTF-8 decoding almost never succeeds on cp1252 text with accents, so trying it first is a sound
test. A file that is neither is an error, not mojibake.

Layouts: Meta's lead export (TSV, columns named as the Graph ``Lead`` fields plus one per form
question, ids prefixed ``l:``/``ag:``/``as:``/``c:``/``f:`` and phones ``p:``), LinkedIn's Campaign
Manager lead export (CSV, human column names), or any other file through a column mapping. Rows are
turned into the records the API connectors map (``leadflow.connectors.meta.fields``,
``leadflow.connectors.linkedin.fields``), so a file and the API normalize leads the same way.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.connectors.linkedin.fields import PREDEFINED, UTM_FIELDS
from leadflow.connectors.linkedin.restli import urn_id
from leadflow.connectors.meta.fields import STANDARD_KEYS, normalize_key
from leadflow.models.records.contact import clean_text, parse_timestamp

SNIFF_SIZE = 1024
DELIMITERS = ",;\t|"
META, LINKEDIN, GENERIC = "meta", "linkedin", "generic"


class CsvFormatError(ValueError):
    """The file cannot be read as a lead export: undecodable, no header, unknown layout."""


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """How a file was read: ``kind`` is "meta", "linkedin" or "generic"."""

    kind: str
    encoding: str
    delimiter: str
    columns: tuple[str, ...]


def detect_encoding(data: bytes) -> str:
    """The encoding of ``data``: "utf-8-sig", "utf-16-le", "utf-16-be", "utf-8" or "cp1252"."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    head = data[:SNIFF_SIZE]
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if len(head) >= 4 and max(odd, even) > len(head) // 4:  # ASCII text as UTF-16
        return "utf-16-le" if odd > even else "utf-16-be"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def decode(data: bytes) -> tuple[str, str]:
    """(text without BOM, encoding name) of a file's bytes."""
    encoding = detect_encoding(data)
    body = data[2:] if encoding.startswith("utf-16") and data[:2] in _UTF16_BOMS else data
    try:
        return body.decode(encoding), encoding
    except UnicodeDecodeError as error:
        what = "neither UTF-8 nor cp1252" if encoding == "cp1252" else f"not valid {encoding}"
        raise CsvFormatError(
            f"{what} (byte 0x{body[error.start]:02x} at offset {error.start}); "
            "save the file as UTF-8"
        ) from None


_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


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
    record["field_data"] = field_data
    return record


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
