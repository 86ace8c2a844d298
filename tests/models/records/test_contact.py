from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from leadflow.models.records.contact import (
    clean_name,
    contact_routes,
    mask_email,
    normalize_email,
    normalize_phone,
    parse_timestamp,
    reachable_contact,
    region_for_country,
)
from leadflow.models.records.leads import InvalidRecord


@pytest.mark.parametrize(
    ("raw", "address", "key"),
    [
        pytest.param(" Jane.Doe@Example.COM ", "jane.doe@example.com", "jane.doe@example.com", id="trim-lower"),
        pytest.param("J.a.n.e+ads@GMAIL.com", "j.a.n.e+ads@gmail.com", "jane@gmail.com", id="gmail-key"),
        pytest.param("jane+x@googlemail.com", "jane+x@googlemail.com", "jane@gmail.com", id="googlemail"),
        pytest.param("jane+x@example.com", "jane+x@example.com", "jane+x@example.com", id="tags-kept-elsewhere"),
        pytest.param("", None, None, id="empty"),
        pytest.param(None, None, None, id="none"),
    ],
)  # fmt: skip
def test_normalize_email(raw, address, key):
    assert normalize_email(raw) == (address, key)


@pytest.mark.parametrize("raw", ["not-an-email", "a@b", "two@@example.com", "x y@example.com"])
def test_invalid_email_raises_with_reason(raw):
    with pytest.raises(ValueError, match="not a valid email"):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        pytest.param("+1 (415) 555-0134", None, "+14155550134", id="international"),
        pytest.param("(415) 555-0134", "US", "+14155550134", id="national-us"),
        pytest.param("020 7946 0958", "GB", "+442079460958", id="national-gb"),
        pytest.param("030 12345678", "DE", "+493012345678", id="national-de"),
        pytest.param(None, "US", None, id="none"),
    ],
)
def test_normalize_phone(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["n/a", "123", "555-0134"])
def test_impossible_phone_raises(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw, "US")


def test_a_failing_phone_is_parsed_once_and_fails_the_same_way_again(monkeypatch):
    import phonenumbers

    from leadflow.models.records import contact

    contact.forget_normalized()
    calls = []
    parse = phonenumbers.parse
    monkeypatch.setattr(phonenumbers, "parse", lambda *a: calls.append(a) or parse(*a))
    reasons = []
    for _ in range(3):
        with pytest.raises(ValueError) as caught:
            normalize_phone("(212) 555-0100 ", "GB")
        reasons.append(str(caught.value))
    assert len(calls) == 1
    assert reasons == ["not valid for its region (GB): E.164 left empty"] * 3
    contact.forget_normalized()


def test_contact_routes_keeps_the_good_route_and_reports_the_bad_one():
    email, key, phone, problems = contact_routes("broken", "+1 415 555 0134", None)
    assert (email, key, phone) == (None, None, "+14155550134")
    assert set(problems) == {"email"}


@pytest.mark.parametrize(
    ("country", "expected"),
    [("DE", "DE"), ("Germany", "DE"), ("united kingdom", "GB"), ("Atlantis", "US"), (None, "US")],
)
def test_region_for_country(country, expected):
    assert region_for_country(country, "US") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  JANE  ", "Jane"),
        ("mary ann", "Mary Ann"),
        ("McDonald", "McDonald"),
        ("", None),
        ("Ann\x00a", "Anna"),
    ],
)
def test_clean_name(raw, expected):
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-20T14:50:56+0000",
        "2026-11-20T14:50:56Z",
        "2026-11-20T09:50:56-05:00",
        1795186256000,
    ],
)
def test_parse_timestamp_variants_agree(raw):
    assert parse_timestamp(raw) == datetime(2026, 11, 20, 14, 50, 56, tzinfo=UTC)


def test_naive_timestamp_is_rejected():
    with pytest.raises(ValueError, match="without a time zone"):
        parse_timestamp("2026-11-20T14:50:56")


@given(st.emails())
def test_mask_email_reveals_nothing_of_the_address(address):
    assert mask_email(address) == "***@***"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("someone@example.com", "not an ISO-8601 timestamp: 'xxxxxxx@xxxxxxx.xxx'"),
        ("+1 415 555 0134", "not an ISO-8601 timestamp: '+9 999 999 9999'"),
        ("2026-11-20T14:50:56", "timestamp without a time zone: '9999-99-99x99:99:99'"),
        ({"email": "someone@example.com"}, "not a timestamp: a dict"),
    ],
)
def test_timestamp_errors_show_the_shape_never_the_value(value, shown):
    with pytest.raises(ValueError) as caught:
        parse_timestamp(value)
    assert str(caught.value) == shown


def test_reachable_contact_rejects_only_when_no_route_survives():
    assert reachable_contact("meta", "7", "broken", "+1 415 555 0134", None)[2] == "+14155550134"
    with pytest.raises(InvalidRecord) as caught:
        reachable_contact("meta", "7", "broken", None, None, field_name="field_data")
    assert (caught.value.source, caught.value.record_key, caught.value.field_name) == (
        "meta",
        "7",
        "field_data",
    )
    assert reachable_contact("meta", "7", None, None, None, required=False)[:3] == (None,) * 3


def test_normalizing_again_gives_the_same_answer_and_the_same_refusal() -> None:
    # Normalized values are kept per process (NORMALIZED_KEPT); a refusal is not kept.
    first = normalize_email(" Ada.Lovelace+x@GoogleMail.com ")
    assert normalize_email(" Ada.Lovelace+x@GoogleMail.com ") == first
    assert first == ("ada.lovelace+x@googlemail.com", "adalovelace@gmail.com")
    assert normalize_phone("(415) 555-0100", "US") == normalize_phone("(415) 555-0100", "us")
    for _ in range(2):
        with pytest.raises(ValueError, match="not a valid email"):
            normalize_email("not-an-address")
        with pytest.raises(ValueError, match="area code"):
            normalize_phone("555-0100", "US")


# --- the plain-ASCII email fast path answers what email-validator answers ----------------

_LOCAL_CHARS = "abcXYZ019._+-!#$%&'*/=?^`{|}~\" @(),:;<>[\\]é"
_DOMAINS = [
    "example.com", "EXAMPLE.org", "mail.sub.example.co.uk", "gmail.com", "GoogleMail.com",
    "localhost", "test", "x.local", "a.b", "123.45", "bad_domain.com", "domain-.com",
    "-domain.com", "xn--bcher-kva.example", "[1.2.3.4]", "münchen.de", ".com", "com.",
    "a..b", "example.invalid", "x" * 64 + ".com", "example.com.", "EXAMPLE.COM",
]  # fmt: skip


def _reference_email(text: str) -> tuple[str, str] | str:
    """email-validator on every address, as before the fast path (the outcome, or 'error')."""
    from email_validator import EmailNotValidError, validate_email

    text = text.strip()
    if len(text) > 254:
        return "error"
    try:
        address = validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return "error"
    local, _, domain = address.rpartition("@")
    if domain in {"gmail.com", "googlemail.com"}:
        local, domain = local.split("+", 1)[0].replace(".", ""), "gmail.com"
    return address, f"{local}@{domain}"


@example("a" * 64, "example.com", "")
@example("a" * 65, "example.com", "")
@example("first.last", "EXAMPLE.COM", " ")
@given(
    st.text(alphabet=_LOCAL_CHARS, min_size=0, max_size=70),
    st.sampled_from(_DOMAINS) | st.from_regex(r"[a-zA-Z0-9-]{1,12}(\.[a-zA-Z0-9-]{1,8}){0,3}"),
    st.sampled_from(["", " ", "\t"]),
)
def test_plain_ascii_emails_normalize_as_email_validator_does(
    local: str, domain: str, pad: str
) -> None:
    text = f"{pad}{local}@{domain}{pad}"
    try:
        found: tuple[str | None, str | None] | str = normalize_email(text)
    except ValueError:
        found = "error"
    assert found == _reference_email(text)
