"""Pure normalizers for contact data: email, phone, names, timestamps.

Each raises ``ValueError`` with a plain reason; callers turn it into an ``InvalidRecord``
that names the source, record and field.
"""

from __future__ import annotations

from datetime import UTC, datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from leadflow.models.records.leads import InvalidRecord
from leadflow.models.records.masking import describe, mask_personal, quoted_shape
from leadflow.models.records.masking import mask_email as mask_email  # re-exported

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalize_email(value: str | None) -> tuple[str | None, str | None]:
    """Return (deliverable address, match key), or (None, None) for an empty value.

    The address is trimmed and lowercased after a syntax check (no DNS). The match key
    also drops dots and ``+tags`` in gmail.com/googlemail.com local parts, which Google
    delivers to the same mailbox.
    """
    if value is None or not str(value).strip():
        return None, None
    try:
        checked = validate_email(str(value).strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address ({mask_personal(str(error))})") from None
    address = checked.normalized.lower()
    local, _, domain = address.rpartition("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return address, f"{local}@{domain}"


def normalize_phone(value: str | None, region: str | None) -> str | None:
    """Return the number in E.164, parsed with the lead's country (else ``region``)."""
    if value is None or not str(value).strip():
        return None
    try:
        parsed = phonenumbers.parse(str(value).strip(), (region or "").upper() or None)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"not a phone number ({error})") from None
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise ValueError("a local number without its area code")
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError("not a possible phone number for its region")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def region_for_country(country: str | None, default_region: str | None) -> str | None:
    """A two-letter region code for phone parsing, from a country name or code."""
    if country:
        code = country.strip().upper()
        if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS:
            return code
        by_name = _COUNTRY_NAMES.get(country.strip().lower())
        if by_name:
            return by_name
    return default_region


_COUNTRY_NAMES = {
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "germany": "DE",
    "deutschland": "DE",
    "france": "FR",
    "canada": "CA",
    "australia": "AU",
    "spain": "ES",
    "italy": "IT",
    "netherlands": "NL",
    "ireland": "IE",
    "india": "IN",
    "brazil": "BR",
    "mexico": "MX",
    "japan": "JP",
    "sweden": "SE",
    "switzerland": "CH",
    "austria": "AT",
    "poland": "PL",
    "belgium": "BE",
    "denmark": "DK",
    "norway": "NO",
    "finland": "FI",
    "portugal": "PT",
    "new zealand": "NZ",
    "singapore": "SG",
}


def clean_name(value: str | None) -> str | None:
    """Trim a name; title-case it only when it is all upper or all lower case."""
    if value is None:
        return None
    text = " ".join(str(value).replace("\x00", "").split())
    if not text:
        return None
    if text.isupper() or text.islower():
        return text.title()
    return text


def clean_text(value: object) -> str | None:
    """Collapse whitespace; empty becomes None."""
    if value is None:
        return None
    # NUL is legal in JSON and SQLite text but PostgreSQL refuses it in text columns.
    text = " ".join(str(value).replace("\x00", "").split())
    return text or None


def parse_timestamp(value: object) -> datetime:
    """Parse an ISO-8601 string (``Z``, ``+00:00`` or ``+0000``) or epoch milliseconds.

    Naive values are rejected: a timestamp without a zone is ambiguous. An error shows the
    value's shape, never the value (it may be an address typed in the wrong column).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a timestamp: {describe(value)}")
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO-8601 timestamp: {quoted_shape(text)}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {quoted_shape(text)}")
    return parsed.astimezone(UTC)


def mask_phone(number: str | None) -> str:
    """A form of a phone number that is safe to log: last two digits only."""
    if not number:
        return "<none>"
    return "*" * max(len(number) - 2, 0) + number[-2:]


def contact_routes(
    email: str | None, phone: str | None, region: str | None
) -> tuple[str | None, str | None, str | None, dict[str, str]]:
    """Normalize a record's email and phone together.

    Returns (email, email match key, E.164 phone, problems by field). A bad value in one
    route is reported in ``problems`` and dropped, because the other still lets sales reach
    the person; only when neither survives must the caller reject the record.
    """
    problems: dict[str, str] = {}
    address = match_key = number = None
    try:
        address, match_key = normalize_email(email)
    except ValueError as error:
        problems["email"] = str(error)
    try:
        number = normalize_phone(phone, region)
    except ValueError as error:
        problems["phone"] = str(error)
    return address, match_key, number, problems


def reachable_contact(
    source: str,
    record_key: str | None,
    email: str | None,
    phone: str | None,
    region: str | None,
    *,
    field_name: str = "email",
    required: bool = True,
) -> tuple[str | None, str | None, str | None, dict[str, str]]:
    """``contact_routes``, rejecting the record when neither route survives.

    Raises ``InvalidRecord`` naming the source, record and ``field_name`` when ``required``
    and the record has no usable email and no usable phone: sales could not reach it.
    """
    address, match_key, number, problems = contact_routes(email, phone, region)
    if required and address is None and number is None:
        why = problems.get("email") or problems.get("phone") or "no email and no phone"
        raise InvalidRecord(source, record_key, field_name, f"no way to reach this lead: {why}")
    return address, match_key, number, problems
