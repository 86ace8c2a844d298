"""Country names in many languages -> ISO region code, for parsing phones in a lead's own
region (``contact.region_for_country``).

The names are libphonenumber's own names of each region in each language it has
(``phonenumbers.geodata.locale.LOCALE_DATA``), plus common aliases. That module costs about
100 MB of memory once imported, so the table is built from it ahead of time into
``country_names.json`` (~3,500 names) and read from there: run
``python -m leadflow.models.records.countries`` after a ``phonenumbers`` upgrade; a test
checks that the file is what the installed ``phonenumbers`` gives. A name that two regions
share is left out.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import phonenumbers

TABLE = Path(__file__).with_name("country_names.json")

ALIASES = {
    "usa": "US", "u.s.a": "US", "u.s": "US", "us of a": "US", "united states of america": "US",
    "uk": "GB", "u.k": "GB", "great britain": "GB", "britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "holland": "NL", "czechia": "CZ", "台灣": "TW", "中華民國": "TW", "republic of china": "TW",
    "south korea": "KR", "republic of korea": "KR", "russian federation": "RU", "uae": "AE",
    "viet nam": "VN", "türkiye": "TR", "turkiye": "TR",
}  # fmt: skip


@functools.cache
def country_names() -> dict[str, str]:
    """Casefolded country name -> region code (``country_names.json``)."""
    found: dict[str, str] = json.loads(TABLE.read_text(encoding="utf-8"))
    return found


def build_country_names() -> dict[str, str]:
    """The table, built from libphonenumber's names of each region in each language it has
    (``*xx`` entries point at another language's name), then the aliases. Imports the
    100 MB locale module: for writing ``country_names.json`` and its test only."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: dict[str, str] = {}
    ambiguous: set[str] = set()
    for region, by_language in LOCALE_DATA.items():
        if region not in phonenumbers.SUPPORTED_REGIONS:
            continue
        for name in by_language.values():
            for _ in range(3):  # follow "*xx" references, never in a loop
                name = by_language.get(name[1:], "") if name.startswith("*") else name
            if not name or name.startswith("*"):
                continue
            key = name.casefold()
            if names.setdefault(key, region) != region:
                ambiguous.add(key)
    for key in ambiguous:
        del names[key]
    return names | ALIASES


if __name__ == "__main__":
    table = json.dumps(build_country_names(), ensure_ascii=False, sort_keys=True, indent=0)
    TABLE.write_text(table + "\n", encoding="utf-8")
