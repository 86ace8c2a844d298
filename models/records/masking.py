"""Personal data out of messages: one masking for every text people read.

A message about a record names the line, the column and the problem, never the value. Where
the value helps (a malformed date), the message shows its *shape* (``shape``): letters become
``x``, digits ``9``, punctuation stays, so ``'someone@example.com'`` reads
``'xxxxxxx@xxxxxxx.xxx'`` and ``'05/03/2026'`` reads ``'99/99/9999'``.

``mask_personal`` is the last line of defence, applied where messages leave leadflow (log
records, ``quarantine.reason``, ``sync_runs.warnings``/``error``, the run and import summaries,
the Prefect artifacts): every email address becomes ``***@***`` and every phone number its
shape (``+99 999 999 9999``). Phone numbers are found by ``phonenumbers.PhoneNumberMatcher``
(libphonenumber's own finder, which skips dates, times and long ids): international numbers
(``+``) of any region, national ones in the regions of ``LOOSE_PHONE_REGIONS`` and the one
given. Emails are found by a pattern written here: libphonenumber has no counterpart for
addresses, ``email_validator`` checks one address but finds none in text, and the PII
libraries (Presidio, scrubadub) need NLP models and pull far more than two patterns need.
"""

from __future__ import annotations

import re

import phonenumbers

EMAIL_MASK = "***@***"
SHAPE_LIMIT = 40  # characters of a shape shown; a longer value is cut with "..."
# National (no "+") numbers are recognised in these regions, besides the caller's.
LOOSE_PHONE_REGIONS = ("US", "GB", "DE", "FR")
_MIN_PHONE_DIGITS = 6

_LOCAL = r"[\w!#$%&*+/=?^`{|}~-][\w.!#$%&'*+/=?^`{|}~-]*"
_DOMAIN = r"@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"
EMAIL = re.compile(_LOCAL + _DOMAIN)
# A domain whose local part EMAIL did not take (one made of quotes only, ``'@a.af``).
_BARE_DOMAIN = re.compile(_DOMAIN)
_SHAPED = re.compile(r"[x9\W_]+")
_QUOTED = re.compile(r"""(['"])(.*?)\1""")
_PLUS_DIGITS = re.compile(r"\+[\d\s().-]{6,}\d")  # + and 7 digits or more: E.164 or close


def shape(value: object, limit: int = SHAPE_LIMIT) -> str:
    """The shape of a value, safe to show: letters ``x``, digits ``9``, the rest kept.

    ``shape("someone@example.com") == "xxxxxxx@xxxxxxx.xxx"``. Longer than ``limit``
    characters, it is cut and ends with ``...``.
    """
    text = "".join("9" if ch.isdigit() else "x" if ch.isalpha() else ch for ch in str(value))
    return text if len(text) <= limit else text[:limit] + "..."


def quoted_shape(value: object) -> str:
    """``shape`` in quotes, as a message shows it: ``'9999-99-99x99:99'``."""
    return f"'{shape(value)}'"


def describe(value: object) -> str:
    """A value in a message, without its content: a string's quoted shape, else its type."""
    if isinstance(value, str):
        return quoted_shape(value)
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"


def shape_quoted(text: str) -> str:
    """``text`` with every quoted part (``'...'`` or ``"..."``) replaced by its shape: for
    an error message that quotes the value it choked on (``int('ada')``)."""
    return _QUOTED.sub(lambda m: m.group(1) + shape(m.group(2)) + m.group(1), text)


def mask_personal(text: str, region: str | None = None) -> str:
    """``text`` with every email address ``***@***`` and every phone number its shape.

    International numbers are found whatever their region; national ones in ``region`` and
    ``LOOSE_PHONE_REGIONS``. Text without personal data comes back unchanged.
    """
    if not text:
        return text
    if "@" in text:
        text = _BARE_DOMAIN.sub(_mask_address, EMAIL.sub(_mask_address, text))
    if sum(ch.isdigit() for ch in text) < _MIN_PHONE_DIGITS:
        return text
    regions: list[str | None] = [None, *LOOSE_PHONE_REGIONS]
    if region and region.upper() not in regions:
        regions.append(region.upper())
    for where in regions:
        leniency = phonenumbers.Leniency.POSSIBLE if where is None else phonenumbers.Leniency.VALID
        found = list(phonenumbers.PhoneNumberMatcher(text, where, leniency=leniency))
        for match in reversed(found):  # from the end, so earlier offsets stay valid
            text = text[: match.start] + shape(match.raw_string, 64) + text[match.end :]
    # "+" and digits the matcher refused (no such country code, too long): shaped all the same.
    return _PLUS_DIGITS.sub(lambda m: shape(m.group(), 64), text)


def _mask_address(match: re.Match[str]) -> str:
    # An address's shape (``xxxxx@xxxxxxx.xxx``) is already safe: it stays as it is.
    return match.group() if _SHAPED.fullmatch(match.group()) else EMAIL_MASK


def mask_email(address: str | None) -> str:
    """An address in a message: ``***@***`` (``<none>`` without one)."""
    return EMAIL_MASK if address and "@" in address else "<none>"
