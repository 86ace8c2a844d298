"""Pure normalizers for contact data: email, phone, names, timestamps.

Each raises ``ValueError`` with a plain reason; callers turn it into an ``InvalidRecord``
that names the source, record and field. ``OutOfRange`` (a ValueError) marks a value no
record may carry (an email longer than RFC 5321 allows): ``reachable_contact`` quarantines
the record instead of dropping the value.

Phones are parsed in the lead's own region (``region_for_country``: an ISO code, a country
name in any language libphonenumber knows, or a locale such as ``zh_TW``), the configured
default only when the record names none, and kept in E.164 only when
``phonenumbers.is_valid_number`` accepts them; otherwise the E.164 column stays empty, the raw
value stays in the lead's ``raw`` payload and the reason goes to its notes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from leadflow.models.records.countries import country_names
from leadflow.models.records.leads import InvalidRecord
from leadflow.models.records.masking import describe, mask_personal, quoted_shape
from leadflow.models.records.masking import mask_email as mask_email  # re-exported

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit (256) less the angle brackets; RFC 3696 erratum
# Distinct values whose normalized form is kept: the same address or number arrives from
# several platforms and again in every run's lookback, and parsing it is most of mapping a
# record. A phone that fails is kept with its reason; an email that fails is not (rare).
NORMALIZED_KEPT = 1 << 16
# An ASCII dot-atom local part (RFC 5322 atext, as email-validator reads it): such an address
# at a domain email-validator accepts is valid as written.
ASCII_LOCAL = re.compile(
    r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+)*\Z"
)


class OutOfRange(ValueError):
    """A value no record may carry: the record goes to quarantine, naming ``field_name``."""

    def __init__(self, field_name: str, reason: str) -> None:
        self.field_name = field_name
        super().__init__(reason)


def normalize_email(value: str | None) -> tuple[str | None, str | None]:
    """Return (deliverable address, match key), or (None, None) for an empty value.

    The address is trimmed and lowercased after a syntax check (no DNS). The match key
    also drops dots and ``+tags`` in gmail.com/googlemail.com local parts, which Google
    delivers to the same mailbox.
    """
    if value is None or not str(value).strip():
        return None, None
    return _normalized_email(value if isinstance(value, str) else str(value))


@lru_cache(maxsize=NORMALIZED_KEPT)
def _normalized_email(value: str) -> tuple[str, str]:
    text = str(value).strip()
    if len(text) > MAX_EMAIL_LENGTH:
        raise OutOfRange("email", f"longer than {MAX_EMAIL_LENGTH} characters")
    local, at, domain = text.rpartition("@")
    if at and ASCII_LOCAL.match(local) and _valid_domain(domain):
        # What email-validator answers for a plain ASCII address, without its per-character
        # checks of a domain it already accepted (half of mapping a HubSpot contact).
        address = text.lower()
    else:
        address = _validated(text)
    local, _, domain = address.rpartition("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return address, f"{local}@{domain}"


def _validated(text: str) -> str:
    """``text`` as email-validator normalizes it (lowercased), or its reason as ValueError."""
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address ({mask_personal(str(error))})") from None
    return checked.normalized.lower()


@lru_cache(maxsize=NORMALIZED_KEPT)
def _valid_domain(domain: str) -> bool:
    """Whether email-validator accepts an ASCII domain as written (lowercase aside): the
    domain of a plain address is checked once, by email-validator itself."""
    if not domain.isascii():
        return False
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return checked.domain == domain.lower()


def forget_normalized() -> None:
    """Empty this process's caches of normalized emails, domains, phones and countries (a
    benchmark pass that must pay for its own, as a new sync process does)."""
    _normalized_email.cache_clear()
    _valid_domain.cache_clear()
    _normalized_phone.cache_clear()
    _country_region.cache_clear()


def normalize_phone(value: str | None, region: str | None) -> str | None:
    """Return the number in E.164, parsed in ``region`` (the lead's, else the default).

    Raises ValueError when it is no number, a local one without its area code, or not a valid
    number for its region (``phonenumbers.is_valid_number``): E.164 is then left empty.
    """
    if value is None or not str(value).strip():
        return None
    number, reason = _normalized_phone(value if isinstance(value, str) else str(value), region)
    if reason is not None:
        raise ValueError(reason)
    return number


@lru_cache(maxsize=NORMALIZED_KEPT)
def _normalized_phone(value: str, region: str | None) -> tuple[str | None, str | None]:
    """(E.164, None) or (None, the reason it has none). A reason is kept like a number: a
    number that fails arrives as often as one that parses (a switchboard, a placeholder)."""
    try:
        parsed = phonenumbers.parse(str(value).strip(), (region or "").upper() or None)
    except phonenumbers.NumberParseException as error:
        return None, f"not a phone number ({error})"
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return None, "a local number without its area code"
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None, "not a possible phone number for its region"
    if not phonenumbers.is_valid_number(parsed):
        where = f" ({region.upper()})" if region else ""
        return None, f"not valid for its region{where}: E.164 left empty"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def region_for_country(country: str | None, default_region: str | None) -> str | None:
    """A two-letter region code for phone parsing, from what the lead says of its country:
    an ISO 3166 code (``TW``), a country name in any language libphonenumber names regions in
    (``Taiwan``, ``台湾``, ``Deutschland``) or a locale (``zh_TW``, ``en-GB``); else
    ``default_region``."""
    return country_region(country) or default_region


def country_region(value: str | None) -> str | None:
    """The region code ``value`` names (see ``region_for_country``), or None."""
    if not value or not str(value).strip():
        return None
    return _country_region(" ".join(str(value).split()))


@lru_cache(maxsize=4096)  # a few hundred names and codes are ever seen: this is per record
def _country_region(text: str) -> str | None:
    code = text.upper()
    if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS:
        return code
    name = text.casefold().removeprefix("the ").strip(" .")
    if name in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[name]
    parts = [part for part in text.replace("-", "_").split("_") if part]
    if len(parts) >= 2 and len(parts[0]) in (2, 3) and parts[0].isalpha():  # zh_TW, zh-Hant-TW
        tail = parts[-1].upper()
        return tail if len(tail) == 2 and tail in phonenumbers.SUPPORTED_REGIONS else None
    return None


_COUNTRY_NAMES = country_names()


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
    try:
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
    except (OverflowError, OSError):  # epoch ms past year 9999, 0001-01-01T00:00+01:00
        raise ValueError("a timestamp out of the range of dates") from None


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
    route is reported in ``problems`` (by field: ``{"phone": "not valid for its region..."}``,
    the lead's notes) and dropped, because the other still lets sales reach the person; only
    when neither survives must the caller reject the record. A value out of range raises
    ``OutOfRange``: the record must be quarantined, not loaded without it.
    """
    problems: dict[str, str] = {}
    address = match_key = number = None
    try:
        address, match_key = normalize_email(email)
    except OutOfRange:
        raise
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
    and the record has no usable email and no usable phone: sales could not reach it; and,
    whatever ``required``, naming the field itself when a value is out of range
    (``email: longer than 254 characters``).
    """
    try:
        address, match_key, number, problems = contact_routes(email, phone, region)
    except OutOfRange as error:
        reason = f"{error.field_name}: {error}"
        raise InvalidRecord(source, record_key, error.field_name, reason) from None
    if required and address is None and number is None:
        why = problems.get("email") or problems.get("phone") or "no email and no phone"
        raise InvalidRecord(source, record_key, field_name, f"no way to reach this lead: {why}")
    return address, match_key, number, problems
