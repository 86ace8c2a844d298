"""Schema drift served by every sandbox (the real answer, edited on the way out): a new
unknown field, a missing optional field, a number sent as a string, a missing required
field. The sync completes; unknown answers are kept in custom fields, drifted records load,
and a record missing what it needs is quarantined naming the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from leadflow.connectors.registry import REGISTRY
from leadflow.models.warehouse.tables import leads, quarantine
from tests.reliability.platforms import PLATFORMS, Platforms, fresh_warehouse, sync_platform

# Where each platform's records sit in a page of its API, and a field only a lead has.
RECORDS = {
    "hubspot": ("results", "properties"),
    "meta": ("data", "field_data"),
    "google_ads": ("results", "leadFormSubmissionData"),
    "linkedin": ("elements", "formResponse"),
    "mailchimp": ("members", "email_address"),
}
MARK = "teal-drift-7"


def unknown_field(platform: str, record: dict[str, Any]) -> None:
    if platform == "hubspot":
        record["properties"]["hs_analytics_source_data_2"] = MARK  # kept as a custom field
        record["properties"]["favourite_colour"] = MARK  # not asked for: a new property
    elif platform == "meta":
        record["field_data"].append({"name": "favourite_colour", "values": [MARK]})
    elif platform == "google_ads":
        fields = record["leadFormSubmissionData"].setdefault("customLeadFormSubmissionFields", [])
        fields.append({"questionText": "Favourite colour?", "fieldValue": MARK})
    elif platform == "linkedin":
        record["formResponse"]["answers"].append(
            {"questionId": 990001, "answerDetails": {"textQuestionAnswer": {"answer": MARK}}}
        )
    else:
        record["merge_fields"]["FAVCOLOUR"] = MARK
    record["brandNewTopLevelField"] = {"added": MARK}


def missing_optional(platform: str, record: dict[str, Any]) -> None:
    optional = {"hubspot": ("properties", "jobtitle"), "meta": (None, "platform"),
                "google_ads": ("leadFormSubmissionData", "adGroupAd"),
                "linkedin": (None, "associatedEntity"), "mailchimp": (None, "location")}  # fmt: skip
    parent, name = optional[platform]
    (record[parent] if parent else record).pop(name, None)


def number_as_string(platform: str, record: dict[str, Any]) -> None:
    if platform == "hubspot":
        record["properties"]["hs_object_id"] = int(record["properties"]["hs_object_id"])
    elif platform == "meta":
        record["is_organic"] = str(record.get("is_organic")).lower()
    elif platform == "google_ads":
        data = record["leadFormSubmissionData"]
        data["id"] = int(data["id"])
    elif platform == "linkedin":
        record["submittedAt"] = str(record["submittedAt"])
    else:
        record["member_rating"] = str(record.get("member_rating"))


def missing_required(platform: str, record: dict[str, Any]) -> None:
    """No way to reach the person: every email and phone removed."""
    if platform == "hubspot":
        for name in ("email", "phone", "mobilephone"):
            record["properties"][name] = None
    elif platform == "meta":
        record["field_data"] = [
            f for f in record["field_data"] if f["name"] not in ("email", "phone_number")
        ]
    elif platform == "google_ads":
        data = record["leadFormSubmissionData"]
        data["leadFormSubmissionFields"] = [
            f
            for f in data["leadFormSubmissionFields"]
            if "EMAIL" not in f["fieldType"] and "PHONE" not in f["fieldType"]
        ]
    elif platform == "linkedin":
        record["formResponse"]["answers"] = [
            a for a in record["formResponse"]["answers"]
            if "@" not in json.dumps(a) and "+" not in json.dumps(a)
        ]  # fmt: skip
    else:
        record["email_address"] = ""
        record["merge_fields"]["PHONE"] = ""


DRIFTS: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "unknown-field": unknown_field,
    "missing-optional": missing_optional,
    "number-as-string": number_as_string,
    "missing-required": missing_required,
}


@pytest.mark.parametrize("drift", list(DRIFTS))
@pytest.mark.parametrize("platform", PLATFORMS)
def test_drifted_record_loads_or_is_quarantined_naming_the_field(
    platforms: Platforms, reference, tmp_path, platform, drift
):
    clean = reference(platform)
    box, source = platforms.box(platform), platforms.sources[platform]
    key_name, marker = RECORDS[platform]
    drifted: list[dict[str, Any]] = []

    def mutate(body: Any) -> None:  # the first page of leads only
        records = body.get(key_name) if isinstance(body, dict) else None
        if not drifted and records and isinstance(records[0], dict) and marker in records[0]:
            DRIFTS[drift](platform, records[0])
            drifted.append(records[0])

    engine = fresh_warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    box.faults.push_drift(mutate, times=1000)
    try:
        outcome = sync_platform(source, engine, "drift")
    finally:
        box.faults.clear()
    assert drifted, "no page was drifted"
    assert not outcome.errors, outcome.errors
    with engine.connect() as conn:
        stored = {r.source_lead_id: r for r in conn.execute(sa.select(leads))}
        held = {r.record_key: r for r in conn.execute(sa.select(quarantine))}
    engine.dispose()
    assert len(stored) == len(set(stored)) and set(stored) <= set(clean.hashes)
    keys = set(clean.hashes) | set(clean.quarantined)
    assert set(stored) | set(held) == keys, "a record was lost"
    key = REGISTRY[platform].record_key(drifted[0])
    assert key in keys, "the drifted record's key is not in the clean run"
    if drift == "missing-required":
        assert key in held and key not in stored
        assert held[key].field not in ("", "<record>") and held[key].reason
        return
    assert key in stored and key not in held
    if drift == "unknown-field":
        assert MARK in json.dumps(stored[key].raw)
        assert MARK in json.dumps(stored[key].custom_fields), stored[key].custom_fields
