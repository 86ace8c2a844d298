"""Rest.li 2.0 query strings, built by hand because ``requests`` would re-encode them.

Protocol 2.0 (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version):
``(key:value,...)`` is an object and ``List(a,b)`` a list; the grammar characters
``( ) , :`` must reach LinkedIn unencoded, while a URN *inside* a value is percent-encoded
(``(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123)``). Passing such values through
``params=`` encodes the parentheses too and LinkedIn answers 400 "invalid parameter", so
the connector builds the query string itself and hands ``requests`` the full URL (whose
re-quoting leaves ``(),:`` and ``%3A`` alone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from urllib.parse import quote

_VERSIONED_FORM = re.compile(
    r"^urn:li:versionedLeadGenForm:\(urn:li:leadGenForm:(?P<form>\d+),(?P<version>\d+)\)$"
)


def urn(value: str) -> str:
    """A URN as a Rest.li value: every reserved character percent-encoded."""
    return quote(value, safe="")


def obj(fields: Mapping[str, str | int]) -> str:
    """``{"a": "1", "b": "x"}`` -> ``(a:1,b:x)``; values must already be Rest.li-encoded."""
    return "(" + ",".join(f"{key}:{value}" for key, value in fields.items()) + ")"


def restli_list(values: Iterable[str]) -> str:
    """``["a", "b"]`` -> ``List(a,b)``; values must already be Rest.li-encoded."""
    return "List(" + ",".join(values) + ")"


def day(value: date) -> str:
    """A Rest.li Date: ``(year:2026,month:11,day:3)``."""
    return obj({"year": value.year, "month": value.month, "day": value.day})


def query(pairs: Sequence[tuple[str, str | int]]) -> str:
    """``name=value&...`` with names plain and values left exactly as given."""
    return "&".join(f"{name}={value}" for name, value in pairs)


def owner_param(kind: str, owner_id: str) -> str:
    """The ``owner`` union: ``(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A123)``."""
    return obj({kind: urn(f"urn:li:{kind}:{owner_id}")})


def form_id_of(versioned_form_urn: object) -> str | None:
    """``urn:li:versionedLeadGenForm:(urn:li:leadGenForm:123,1)`` -> ``"123"``."""
    found = _VERSIONED_FORM.match(str(versioned_form_urn or "").replace(" ", ""))
    return found["form"] if found else None


def urn_id(value: object) -> str | None:
    """The last segment of a simple URN (``urn:li:sponsoredCampaign:42`` -> ``"42"``)."""
    text = str(value or "").strip()
    if not text:
        return None
    return text.rsplit(":", 1)[-1] or None
