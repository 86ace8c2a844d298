"""The one masking every message goes through: emails and phones out, the rest untouched."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.models.records.masking import (
    describe,
    mask_email,
    mask_personal,
    quoted_shape,
    shape,
    shape_quoted,
)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("someone@example.com", "***@***"),
        ("line 5: 'ada.lovelace+crm@mail.example.co.uk' (created)", "line 5: '***@***' (created)"),
        ("o'brien@example.ie and jane_doe@example.com", "***@*** and ***@***"),
        ("Jürgen.Müller@bücher.de", "***@***"),
        ("<someone@example.com>,", "<***@***>,"),
        # A local part of quotes only (hypothesis found it): the domain goes all the same.
        ("not a date: ''@A.af' (created)", "not a date: ''***@***' (created)"),
    ],
)
def test_emails_are_masked_whole(text, masked):
    assert mask_personal(text) == masked


@given(st.emails())
def test_no_generated_address_survives(address):
    masked = mask_personal(f"line 7: not a date: '{address}' (created)")
    assert address not in masked
    assert address.rpartition("@")[2] not in masked  # not even the domain


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+14155550134", "+99999999999"),  # E.164
        ("call +1 415 555 0134 now", "call +9 999 999 9999 now"),
        ("+44 7911 123456", "+99 9999 999999"),
        ("+49 151 23456789", "+99 999 99999999"),
        ("+1 555 0100", "+9 999 9999"),  # not a valid number, a phone all the same
        ("+99912345678", "+99999999999"),  # no such country code
        ("415-555-0134", "999-999-9999"),  # loose: national, no country code
        ("(415) 555 0134", "(999) 999 9999"),
        ("07911 123456", "99999 999999"),
        ("030 1234567", "999 9999999"),
    ],
)
def test_phones_are_masked_by_their_shape(text, masked):
    assert mask_personal(text) == masked


def test_a_phone_in_the_caller_region_is_masked():
    assert mask_personal("tel 06 12 34 56 78", region="fr") == "tel 99 99 99 99 99"


@pytest.mark.parametrize(
    "text",
    [
        "hubspot p1: 500 records in 3 pages, 490 inserted, 0 updated, 10 quarantined",
        "watermark 2026-11-26T10:00:00+00:00; at 2026-11-26 10:00:00Z",
        "meta record 1054074580944020: field 'created_time': missing",
        "hubspot record 12345678: field 'email': naive datetime",
        "line 9: expected 10 fields, found 3 (row)",
        "GET https://graph.facebook.com/v26.0/act_123/insights?limit=100 HTTP 503",
        "warehouse postgresql://leadflow:***@127.0.0.1:5432/warehouse",
        "not an ISO-8601 timestamp: 'xxxxxxx@xxxxxxx.xxx'",
        "costMicros 1234567, customer 123-456-7890",
        "",
    ],
)
def test_text_without_personal_data_is_unchanged(text):
    assert mask_personal(text) == text


def test_masking_is_idempotent():
    once = mask_personal("ada@example.com called +14155550134 and 415-555-0134")
    assert mask_personal(once) == once == "***@*** called +99999999999 and 999-999-9999"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("someone@example.com", "xxxxxxx@xxxxxxx.xxx"),
        ("+1 (415) 555-0134", "+9 (999) 999-9999"),
        ("05/03/2026 14:30", "99/99/9999 99:99"),
        ("Grüße", "xxxxx"),
        ("x" * 50, "x" * 40 + "..."),
    ],
)
def test_shape_keeps_punctuation_and_hides_letters_and_digits(value, expected):
    assert shape(value) == expected


def test_the_helpers_for_messages():
    assert quoted_shape("yesterday") == "'xxxxxxxxx'"
    assert describe("ada@example.com") == "'xxx@xxxxxxx.xxx'"
    assert describe(None) == "nothing" and describe(12.5) == "a float"
    assert shape_quoted("invalid literal for int() with base 10: 'Ada 7'") == (
        "invalid literal for int() with base 10: 'Xxx 9'".replace("X", "x")
    )
    assert mask_email("ada@example.com") == "***@***" and mask_email(None) == "<none>"
