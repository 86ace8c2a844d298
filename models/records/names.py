"""A full name split into first and last name: "Last, First" exports, particles, suffixes.

Exports often write names "Last, First" (``French, Billy``); forms write "First Last". One
comma (after a trailing suffix such as ``, Jr.`` is set aside) means "Last, First", the last name
kept whole (``van der Berg, Anna`` -> Anna / van der Berg). Without a comma the last word is the
last name, with the particles before it (``Anna van der Berg`` -> Anna / van der Berg). A suffix
stays with the last name (``John Smith, Jr.`` -> John / Smith Jr.). Anything else (two commas, one
word) is kept whole as the first name: nothing is dropped.
"""

from __future__ import annotations

import re

PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "das", "dos", "du", "la",
     "le", "ter", "ten", "bin", "ibn", "al", "el", "st.", "mac"}
)  # fmt: skip
SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "esq"})
_SUFFIX = re.compile(r",\s*([^,]+)$")


def split_full_name(full: str | None) -> tuple[str | None, str | None]:
    """(first name, last name) of a full name; see the module's doc for the rules."""
    text = " ".join(str(full or "").split())
    if not text:
        return None, None
    suffix = None
    found = _SUFFIX.search(text)
    if found and found.group(1).strip().lower() in SUFFIXES:
        suffix, text = found.group(1).strip(), text[: found.start()].strip()
    if text.count(",") == 1:
        last, _, first = (part.strip() for part in text.partition(","))
        if not (first and last):  # "Smith," or ", Billy": one name, its side unknown
            first, last = first or last, None
    elif "," in text:
        return text if suffix is None else f"{text}, {suffix}", None
    else:
        first, last = _split_at_last_name(text)
    if suffix and last:
        last = f"{last} {suffix}"
    elif suffix:
        first = f"{first} {suffix}"
    return first or None, last or None


def _split_at_last_name(text: str) -> tuple[str, str | None]:
    words = text.split(" ")
    if len(words) == 1:
        return text, None
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])
