"""A lead encoded once as the values the ``leads`` table stores, with its content hash.

The load path spends most of its time here (every lead of every page is hashed to tell
new, changed and unchanged apart), so this is written for speed rather than generality:
orjson encodes at C speed, each JSON field is encoded once, and the same bytes serve both
the stored JSON text and ``row_hash``.

``row_hash`` (format 2) is the sha256 of the scalar fields' JSON array (in
``LEAD_SCALAR_FIELDS`` order, datetimes as ISO 8601 UTC) followed by the canonical JSON text
(sorted keys, no whitespace) of ``consent``, ``custom_fields`` and ``raw``, each after a
newline. JSON text never contains a raw newline, so the concatenation is unambiguous.
``contact_id``, the last scalar, is left out of the hash: it is read from ``raw``, which is
hashed, and hashes stay what they were before the column (the migration filled it).
"""

from __future__ import annotations

import hashlib
import json
import operator
from dataclasses import fields
from typing import Any

import orjson

from leadflow.models.records.encoding import canonical_json, json_safe
from leadflow.models.records.leads import Lead

LEAD_FIELDS = tuple(f.name for f in fields(Lead))
LEAD_JSON_FIELDS = ("consent", "custom_fields", "raw")
LEAD_SCALAR_FIELDS = tuple(name for name in LEAD_FIELDS if name not in LEAD_JSON_FIELDS)
# The JSON fields are the dataclass's last three, so scalars + JSON keeps the column order.
assert (*LEAD_SCALAR_FIELDS, *LEAD_JSON_FIELDS) == LEAD_FIELDS
# Stored but not hashed (module doc): the last scalar, so the hash takes scalars[:-1].
assert LEAD_SCALAR_FIELDS[-1] == "contact_id"

# (one value per LEAD_FIELDS name, JSON fields as text or None) + row_hash
EncodedLead = tuple[Any, ...]

_scalars = operator.attrgetter(*LEAD_SCALAR_FIELDS)
_SORTED = orjson.OPT_SORT_KEYS
# Datetimes and dataclasses inside JSON fields go through json_safe (UTC ISO text, str).
_STRICT = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def encode_lead(lead: Lead) -> EncodedLead:
    """``lead``'s column values (LEAD_FIELDS order, JSON fields as canonical text) + row_hash."""
    scalars = _scalars(lead)
    consent, custom, raw = lead.consent, lead.custom_fields, lead.raw
    try:
        consent_b = b"null" if consent is None else orjson.dumps(consent, option=_STRICT)
        custom_b = orjson.dumps(custom, option=_STRICT)
        raw_b = orjson.dumps(raw, option=_STRICT)
    except TypeError:  # mappings that are not dicts, sets, Decimals, datetimes...
        consent_b, custom_b, raw_b = (_safe_json(value) for value in (consent, custom, raw))
    digest = hashlib.sha256(orjson.dumps(scalars[:-1], default=str))
    for text in (consent_b, custom_b, raw_b):
        digest.update(b"\n")
        digest.update(text)
    consent_s = None if consent is None else consent_b.decode()
    return (*scalars, consent_s, custom_b.decode(), raw_b.decode(), digest.hexdigest())


def _safe_json(value: Any) -> bytes:
    plain = json_safe(value)
    try:
        return orjson.dumps(plain, option=_SORTED)
    except TypeError:  # integers beyond 64 bits
        return canonical_json(plain).encode()


def lead_row(lead: Lead) -> dict[str, Any]:
    """The ``leads`` columns for ``lead`` (JSON fields as plain JSON values) and ``row_hash``.

    Load timestamps are not content: load_batch sets them (and identity resolution keeps
    a lead's person in ``lead_people``, never in the row).
    """
    values = encode_lead(lead)
    row = dict(zip(LEAD_FIELDS, values, strict=False))
    for name in LEAD_JSON_FIELDS:  # stdlib json: orjson reads integers past 64 bits as floats
        text = row[name]
        row[name] = None if text is None else json.loads(text)
    row["row_hash"] = values[-1]
    return row
