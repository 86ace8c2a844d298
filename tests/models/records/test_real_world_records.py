"""Real-shaped records: phones in the lead's own region, "Last, First" names, values out of
range quarantined naming the field, and no value in any message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadflow.models.records.contact import (
    OutOfRange,
    normalize_email,
    normalize_phone,
    parse_timestamp,
    reachable_contact,
    region_for_country,
)
from leadflow.models.records.leads import (
    InvalidRecord,
    Lead,
    check_created,
    lead_notes,
    summarize_notes,
)
from leadflow.models.records.names import split_full_name

TW_MOBILE = "0912 345 678"
LONG_EMAIL = "a" * 10_000 + "@example.com"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "country", ["TW", "tw", "Taiwan", "taiwan", "台灣", "台湾", "zh_TW", "zh-Hant-TW"]
)
def test_a_taiwanese_mobile_is_parsed_in_the_leads_region_not_the_default(country: str) -> None:
    region = region_for_country(country, "US")
    assert region == "TW"
    assert normalize_phone(TW_MOBILE, region) == "+886912345678"


@pytest.mark.parametrize(
    ("country", "expected"),
    [("Deutschland", "DE"), ("en-GB", "GB"), ("U.S.A.", "US"), ("the Netherlands", "NL"),
     ("Atlantis", "US"), ("", "US"), (None, "US")],
)  # fmt: skip
def test_region_from_names_codes_and_locales(country: str | None, expected: str) -> None:
    assert region_for_country(country, "US") == expected


def test_a_number_not_valid_for_its_region_leaves_e164_empty_with_a_note() -> None:
    # Possible for the US (10 digits) but no valid US number: it used to load as +10912345678.
    email, _, phone, problems = reachable_contact("meta", "7", "ada@example.com", TW_MOBILE, "US")
    assert (email, phone) == ("ada@example.com", None)
    assert set(problems) == {"phone"}
    assert "not valid for its region" in problems["phone"]
    assert "912" not in problems["phone"] and "345" not in problems["phone"]


def test_an_invalid_phone_alone_makes_the_lead_unreachable_without_its_value() -> None:
    with pytest.raises(InvalidRecord) as caught:
        reachable_contact("meta", "7", None, TW_MOBILE, "US", field_name="field_data")
    assert "not valid for its region" in str(caught.value)
    assert "912" not in str(caught.value)


def test_notes_are_counted_for_the_run_summary_without_values() -> None:
    invalid = {"_invalid": {"phone": "not valid for its region (US): E.164 left empty"}}
    other = {"_invalid": {"phone": "not valid for its region (DE): E.164 left empty"}}
    leads = [_lead("1", custom_fields=invalid), _lead("2", custom_fields=other), _lead("3")]
    assert lead_notes(leads[0]) == {"phone": "not valid for its region (US): E.164 left empty"}
    assert lead_notes(leads[2]) == {}
    assert summarize_notes(leads) == ("2 leads: phone not valid for its region: E.164 left empty",)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("French, Billy", "Billy", "French"),
        ("French,Billy", "Billy", "French"),
        ("van der Berg, Anna", "Anna", "van der Berg"),
        ("Anna van der Berg", "Anna", "van der Berg"),
        ("Billy French", "Billy", "French"),
        ("Mary Ann Smith", "Mary Ann", "Smith"),
        ("John Smith, Jr.", "John", "Smith Jr."),
        ("Smith, John, Jr.", "John", "Smith Jr."),
        ("Cher", "Cher", None),
        ("a, b, c", "a, b, c", None),
        ("  ", None, None),
    ],
)
def test_split_full_name(full: str, first: str | None, last: str | None) -> None:
    assert split_full_name(full) == (first, last)


def test_a_10kb_email_is_out_of_range_and_quarantines_naming_the_field() -> None:
    with pytest.raises(OutOfRange, match="longer than 254 characters"):
        normalize_email(LONG_EMAIL)
    # A good phone does not save it: the record is quarantined, not loaded without its email.
    with pytest.raises(InvalidRecord) as caught:
        reachable_contact("meta", "7", LONG_EMAIL, "+14155550134", "US", field_name="field_data")
    assert caught.value.field_name == "email"
    assert caught.value.reason == "email: longer than 254 characters"
    assert "aaaa" not in str(caught.value) and "example" not in str(caught.value)


def test_an_email_of_exactly_254_characters_is_not_refused_for_its_length() -> None:
    local, domain = "a" * 64, ".".join(["b" * 60] * 3) + ".com"  # 64 + 1 + 185 = 250
    assert len(f"{local}@{domain}") <= 254
    assert normalize_email(f"{local}@{domain}")[0] == f"{local}@{domain}"


@pytest.mark.parametrize(
    ("created", "bound"),
    [
        (datetime(9999, 12, 31, tzinfo=UTC), "more than 1 day after the load time"),
        (datetime(1, 1, 1, tzinfo=UTC), "before 2000-01-01"),
        (datetime(1999, 12, 31, 23, 59, tzinfo=UTC), "before 2000-01-01"),
        (NOW + timedelta(days=1, seconds=1), "more than 1 day after the load time"),
    ],
)
def test_a_lead_created_out_of_range_is_invalid_naming_created_at(
    created: datetime, bound: str
) -> None:
    with pytest.raises(InvalidRecord) as caught:
        check_created(_lead("9", created=created), NOW)
    assert caught.value.field_name == "created_at"
    assert caught.value.reason == f"created_at: {bound}, out of range"


def test_leads_inside_the_bounds_pass() -> None:
    for created in (datetime(2000, 1, 1, tzinfo=UTC), NOW, NOW + timedelta(hours=23)):
        lead = _lead("9", created=created)
        assert check_created(lead, NOW) is lead


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", 10**20, "9" * 25])
def test_timestamps_beyond_the_calendar_are_a_value_error(value: object) -> None:
    with pytest.raises(ValueError, match="out of the range of dates"):
        parse_timestamp(value)


def _lead(key: str, created: datetime = NOW, **changes: object) -> Lead:
    return Lead("meta", key, "acct", created, created, **changes)  # type: ignore[arg-type]


def test_the_country_name_table_is_what_the_installed_phonenumbers_gives() -> None:
    """country_names.json is built ahead of time (the locale module costs ~100 MB loaded):
    regenerate it with ``python -m leadflow.models.records.countries`` when this fails."""
    from leadflow.models.records.countries import build_country_names, country_names

    assert country_names() == build_country_names()
    assert {country_names()[name] for name in ("taiwan", "台灣", "deutschland", "uk")} == {
        "TW", "DE", "GB"
    }  # fmt: skip
