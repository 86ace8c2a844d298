"""Leads from export files: Meta's and LinkedIn's lead downloads, or any CSV with a mapping.

``read_csv_leads`` decodes the file, finds its delimiter and layout
(``leadflow.connectors.files.formats``) and maps every row the way the API connectors map a record:
a Meta row through ``meta_fields.to_lead``, a LinkedIn row through ``linkedin_fields.to_lead``, any
other file through a column mapping (lead field -> column) and Meta's answer mapper, which is keyed
by question names just like a mapped CSV. Leads carry the ``source`` given, so a Meta export
imported as "meta" shares natural keys with the Meta API sync (the export's ids, stripped of their
``l:`` prefix, are the Graph lead ids).

A generic file's ``source_lead_id`` is its mapped ``id`` column; without one it is ``"sha256:"`` +
the sha256 of the normalized row (column names compared loosely, cells whitespace-collapsed, empty
cells left out), which is stable across re-exports that reorder columns, but makes any edited row a
new lead: map an id column whenever the file has one.

Nothing is dropped silently: a row with the wrong number of fields, a timestamp that does not parse,
or no email and no phone becomes a ``Rejected`` whose reason starts with its line number (``"line 7:
..."``, the line the record starts on, quoted newlines counted). Blank lines are skipped. A reason
names the line, the column and the problem, never the cell: a malformed value is shown by its shape
(``'xxxxx@xxxxxxx.xxx'``), and every reason is masked (``leadflow.models.records.masking``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadflow.connectors.base import LeadContext
from leadflow.connectors.files.encodings import has_bad_bytes, shown
from leadflow.connectors.files.formats import (
    GENERIC,
    LINKEDIN,
    LINKEDIN_META,
    META,
    CsvFormat,
    CsvFormatError,
    decode_file,
    detect_delimiter,
    is_linkedin,
    is_meta,
    iso_time,
    linkedin_campaign_name,
    linkedin_record,
    meta_record,
    normalize_header,
    parse_export_time,
)
from leadflow.connectors.linkedin import fields as linkedin_fields
from leadflow.connectors.meta import fields as meta_fields
from leadflow.connectors.meta.fields import STANDARD_KEYS
from leadflow.models.records.contact import clean_text
from leadflow.models.records.encoding import sha256_hex
from leadflow.models.records.leads import InvalidRecord, Lead, Rejected, check_created
from leadflow.models.records.masking import mask_personal
from leadflow.models.records.names import split_full_name

# Mapping keys: Lead fields set from one column each, and answers Meta's mapper reads
# (email, phone, full_name, first_name... utm_*). "id" and "created_time" are aliases.
RECORD_FIELDS = ("source_lead_id", "created_at", "updated_at", "campaign_id", "campaign_name",
                 "adset_id", "ad_id", "form_id", "source_stage", "owner_id", "is_organic",
                 "is_test")  # fmt: skip
MAPPING_KEYS = frozenset(RECORD_FIELDS) | frozenset(STANDARD_KEYS)
ALIASES = {"id": "source_lead_id", "lead_id": "source_lead_id", "created_time": "created_at"}

RowMapper = Callable[[Mapping[str, str], LeadContext], Lead]


def read_csv_leads(
    path: str | Path,
    *,
    source: str,
    account_id: str,
    mapping: Mapping[str, str] | None,
    default_region: str | None,
    assume_timezone: str | None = None,
    now: datetime | None = None,
) -> tuple[list[Lead], list[Rejected], CsvFormat]:
    """Every row of an export file as a Lead, or as a Rejected naming its line.

    ``mapping`` (lead field -> column) reads a file of any layout and takes precedence;
    without it the file must be a Meta or LinkedIn export (else CsvFormatError). Naive
    timestamps are read in ``assume_timezone`` (a "(UTC)" column in UTC), or rejected; a
    lead created before 2000 or more than a day after ``now`` (the load time) is rejected
    (``check_created``). A row of a mixed UTF-8 file that is not UTF-8 is rejected naming its
    line and column (``encoding: ...``). CsvFormatError names the file.
    """
    file = Path(path)
    try:
        decoded = decode_file(file.read_bytes())
    except CsvFormatError as error:
        raise CsvFormatError(f"{file.name}: {error}") from None
    text, encoding = decoded.text, decoded.encoding
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = _header(reader, file.name)
    if any(has_bad_bytes(column) for column in columns):
        raise CsvFormatError(f"{file.name}: the file mixes encodings: its header is not UTF-8")
    kind, to_lead = _layout(columns, mapping, assume_timezone)
    form = CsvFormat(kind, encoding, delimiter, columns)
    context = LeadContext(source, account_id, default_region)
    at = now or datetime.now(UTC)
    leads: list[Lead] = []
    rejected: list[Rejected] = []

    def reject(line: int, key: str | None, field: str, why: str, raw: Any) -> None:
        if decoded.bad_lines and raw is not None:  # no surrogate escapes in the quarantine
            raw = _storable(raw)
        row = {"file": file.name, "line": line, "row": raw}
        reason = mask_personal(f"line {line}: {why}", default_region)
        rejected.append(Rejected(source, account_id, key, field, reason, row))

    line = reader.line_num + 1
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as error:
            reject(line, None, "row", f"not readable as CSV ({error})", None)
            if reader.line_num + 1 == line:
                break  # nothing was consumed: the rest of the file cannot be read
            line = reader.line_num + 1
            continue
        if fields is None:
            break
        start, line = line, reader.line_num + 1
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(columns):
            why = f"expected {len(columns)} fields, found {len(fields)}"
            reject(start, None, "row", why, fields)
            continue
        row = dict(zip(columns, fields, strict=True))
        if decoded.bad_lines and any(has_bad_bytes(value) for value in fields):
            bad = [column for column, value in row.items() if has_bad_bytes(value)]
            why = f"encoding: not UTF-8 like the rest of the file (column {', '.join(bad)})"
            reject(start, None, bad[0], why, row)
            continue
        try:
            lead = to_lead(row, context)
            try:
                check_created(lead, at)
            except InvalidRecord as error:
                created = _created_column(columns, kind, mapping)
                raise InvalidRecord(source, error.record_key, created, error.reason) from None
            leads.append(replace(lead, source=source, raw=row))
        except InvalidRecord as error:
            reject(start, error.record_key, error.field_name, error.reason, row)
    return leads, rejected, form


def _storable(raw: Mapping[str, str] | list[str]) -> dict[str, str] | list[str]:
    """A row of a mixed file with its undecodable bytes as ``\\xNN`` (``shown``)."""
    if isinstance(raw, Mapping):
        return {key: shown(value) for key, value in raw.items()}
    return [shown(value) for value in raw]


def _created_column(columns: tuple[str, ...], kind: str, mapping: Mapping[str, str] | None) -> str:
    """The file's column a lead's ``created_at`` comes from, for a quarantine reason."""
    if kind == GENERIC and mapping:
        return check_mapping(columns, mapping)["created_at"]
    for column in columns:
        if kind == META and column.strip().lower() == "created_time":
            return column
        if kind == LINKEDIN and LINKEDIN_META.get(normalize_header(column)) == "submitted":
            return column
    return "created_at"


def _header(reader: Any, file_name: str) -> tuple[str, ...]:
    for fields in reader:
        if any(field.strip() for field in fields):
            names = [f.strip() or f"column_{i}" for i, f in enumerate(fields, start=1)]
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                found = mask_personal(str(repeated))
                raise CsvFormatError(f"{file_name}: repeated column names: {found}")
            return tuple(names)
    raise CsvFormatError(f"{file_name}: no header row")


def _layout(
    columns: tuple[str, ...], mapping: Mapping[str, str] | None, zone: str | None
) -> tuple[str, RowMapper]:
    if mapping:
        return GENERIC, generic_mapper(columns, mapping, zone)
    if is_meta(columns):
        return META, _renaming(
            lambda row, ctx: meta_fields.to_lead(meta_record(row, zone), ctx),
            {"field_data": "email"},
        )
    if is_linkedin(columns):

        def linkedin(row: Mapping[str, str], ctx: LeadContext) -> Lead:
            lead = linkedin_fields.to_lead(linkedin_record(row, zone), ctx)
            return replace(lead, campaign_name=linkedin_campaign_name(row))

        submitted = next(
            c for c in columns if LINKEDIN_META.get(normalize_header(c)) == "submitted"
        )
        return LINKEDIN, _renaming(linkedin, {"submittedAt": submitted})
    raise CsvFormatError(
        "neither a Meta nor a LinkedIn lead export; pass a column mapping "
        f"(lead field -> column) for columns {mask_personal(str(list(columns)))}"
    )


def _renaming(to_lead: RowMapper, fields: Mapping[str, str]) -> RowMapper:
    """``to_lead`` with the API's field names in errors replaced by the file's columns."""

    def mapped(row: Mapping[str, str], ctx: LeadContext) -> Lead:
        try:
            return to_lead(row, ctx)
        except InvalidRecord as error:
            name = fields.get(error.field_name, error.field_name)
            raise InvalidRecord(ctx.source, error.record_key, name, error.reason) from None

    return mapped


def check_mapping(columns: tuple[str, ...], mapping: Mapping[str, str]) -> dict[str, str]:
    """The mapping with aliases resolved; CsvFormatError for unknown fields or columns."""
    resolved = {ALIASES.get(field, field): column for field, column in mapping.items()}
    unknown = sorted(set(resolved) - MAPPING_KEYS)
    if unknown:
        raise CsvFormatError(f"unknown lead fields in the mapping: {unknown} "
                             f"(known: {sorted(MAPPING_KEYS)})")  # fmt: skip
    missing = sorted(column for column in resolved.values() if column not in columns)
    if missing:
        raise CsvFormatError(
            f"mapped columns not in the file: {missing} "
            f"(columns: {mask_personal(str(list(columns)))})"
        )
    if "created_at" not in resolved:
        raise CsvFormatError("the mapping needs created_at (or created_time): a timestamp column")
    return resolved


def row_key(row: Mapping[str, str]) -> str:
    """The key of a row without an id: sha256 of the normalized row."""
    normalized = {normalize_header(c): clean_text(v) for c, v in row.items() if clean_text(v)}
    return "sha256:" + sha256_hex(normalized)


def generic_mapper(
    columns: tuple[str, ...], mapping: Mapping[str, str], zone: str | None
) -> RowMapper:
    """Map rows through ``mapping``: answers feed Meta's answer mapper under their standard
    question names, unmapped columns become custom fields, record fields are set as is."""
    fields = check_mapping(columns, mapping)
    used = set(fields.values())
    email = fields.get("email", "email")
    renames = {"created_time": fields["created_at"], "field_data": email, "email": email}
    meta_to_lead = _renaming(meta_fields.to_lead, renames)

    def to_lead(row: Mapping[str, str], ctx: LeadContext) -> Lead:
        cell = {field: row[column] for field, column in fields.items()}
        if "full_name" in cell and not ({"first_name", "last_name"} & set(cell)):
            first, last = split_full_name(cell.pop("full_name"))  # "Last, First" too
            cell |= {"first_name": first or "", "last_name": last or ""}
        answers = [{"name": STANDARD_KEYS[f][0], "values": [v]} for f, v in cell.items()
                   if f in STANDARD_KEYS]  # fmt: skip
        answers += [{"name": c, "values": [v]} for c, v in row.items() if c not in used]
        record: dict[str, Any] = {
            "id": clean_text(cell.get("source_lead_id")) or row_key(row),
            "created_time": iso_time(cell["created_at"], fields["created_at"], zone),
            "is_organic": cell.get("is_organic"),
            "field_data": answers,
        }
        for name in ("campaign_id", "campaign_name", "adset_id", "ad_id", "form_id"):
            record[name] = cell.get(name)
        lead = meta_to_lead(record, ctx)
        changes: dict[str, Any] = {
            "source_stage": clean_text(cell.get("source_stage")),
            "owner_id": clean_text(cell.get("owner_id")),
        }
        if clean_text(cell.get("updated_at")):
            column = fields["updated_at"]
            try:
                changes["updated_at"] = parse_export_time(cell["updated_at"], column, zone)
            except ValueError as error:
                raise InvalidRecord(ctx.source, lead.source_lead_id, column, str(error)) from None
        if "is_test" in cell:
            changes["is_test"] = cell["is_test"].strip().lower() in ("1", "true", "yes")
        return replace(lead, **changes)

    return to_lead
