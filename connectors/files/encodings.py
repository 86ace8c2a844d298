"""The encoding of a lead export file, or a refusal: never mojibake.

In order:

1. A byte order mark settles it: UTF-8-SIG, UTF-32 LE/BE, UTF-16 LE/BE (Meta's lead download
   is UTF-16 LE with a BOM). A BOM-less file whose NUL bytes fall in every other (UTF-16) or
   three of every four (UTF-32) positions is read as such; if it does not decode, it is refused.
2. Strict UTF-8 (LinkedIn's and most tools' CSV). It almost never succeeds on text in another
   encoding that has any non-ASCII letter, so trying it first is a sound test.
3. A file that is UTF-8 but for a few lines (a row pasted from a Latin-1 file) is *mixed*: its
   lines that are valid UTF-8 with non-ASCII letters are at least as many as the lines that are
   not. It is read as UTF-8 and the lines that are not are reported (``Decoded.bad_lines``): the
   import quarantines those rows with their line number and the column, never the cell.
4. Otherwise charset-normalizer (``from_bytes``) guesses, under a confidence threshold: the best
   guess must be at most ``MAX_CHAOS`` "mess" and no other code page may read the file as well
   but differently (a two-byte cell is cp932 as much as cp949: refused). Excel's plain "CSV"
   save in Western locales is cp1252, and on short files charset-normalizer cannot tell the Latin
   code pages apart (it names cp1250 or cp775 for "Müller"), so cp1252 wins whenever it reads the
   file with no more mess than the best guess.

A file that none of this settles raises ``CsvFormatError`` saying its encoding could not be
determined: re-save it as UTF-8.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

from leadflow.connectors.files.errors import CsvFormatError

SNIFF_SIZE = 1024
WESTERN = "cp1252"
MAX_CHAOS = 0.1  # charset-normalizer's mess ratio a guess may have (0: clean text)
TIE = 0.01  # two guesses closer than this in mess and coherence read the file equally well
REFUSED = "the encoding could not be determined ({why}); save the file as UTF-8"
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A file's text and encoding. ``bad_lines`` are the (1-based) lines of a mixed UTF-8 file
    that are not UTF-8: their bytes are kept in ``text`` as surrogate escapes (``"\\udce9"``),
    and the reader must quarantine the rows they belong to (``has_bad_bytes``)."""

    text: str
    encoding: str
    bad_lines: tuple[int, ...] = ()


def bom_encoding(data: bytes) -> tuple[str, int] | None:
    """(encoding, BOM length) of data that starts with a byte order mark, else None."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None


def wide_encoding(data: bytes) -> str | None:
    """UTF-16/UTF-32 without a BOM, told by where ASCII text puts its NUL bytes."""
    head = data[:SNIFF_SIZE]
    if len(head) < 8:
        return None
    quarter = len(head) // 4
    nul = [head[i::4].count(0) for i in range(4)]
    if min(nul[1:]) > quarter // 2 and nul[0] < quarter // 2:
        return "utf-32-le"
    if min(nul[:3]) > quarter // 2 and nul[3] < quarter // 2:
        return "utf-32-be"
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if max(odd, even) > quarter:
        return "utf-16-le" if odd > even else "utf-16-be"
    return None


def detect_encoding(data: bytes) -> str:
    """The encoding ``decode_file`` reads ``data`` in (the UTF-8 of a mixed file: "utf-8");
    CsvFormatError when it cannot be determined."""
    found = bom_encoding(data)
    if found:
        return found[0]
    wide = wide_encoding(data)
    if wide:
        return wide
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "utf-8" if mixed_lines(data) else guess(data)
    return "utf-8"


def decode_file(data: bytes) -> Decoded:
    """A file's text and encoding, with the lines of a mixed UTF-8 file that are not UTF-8.

    CsvFormatError when the encoding cannot be determined or the bytes do not decode in it;
    the message names the byte offset, never the content.
    """
    found = bom_encoding(data)
    encoding, body = (found[0], data[found[1] :]) if found else (detect_encoding(data), data)
    if encoding == "utf-8" and not found:
        bad = mixed_lines(data)
        if bad:
            return Decoded(data.decode("utf-8", "surrogateescape"), "utf-8", bad)
    try:
        return Decoded(body.decode(encoding), encoding)
    except UnicodeDecodeError as error:
        raise CsvFormatError(
            f"not valid {encoding} (byte 0x{body[error.start]:02x} at offset {error.start}); "
            "save the file as UTF-8"
        ) from None


def decode(data: bytes) -> tuple[str, str]:
    """(text without BOM, encoding name) of a file's bytes, refusing a mixed file (it names
    the first line that is not UTF-8). ``decode_file`` reads a mixed file instead."""
    decoded = decode_file(data)
    if decoded.bad_lines:
        raise CsvFormatError(
            f"the file mixes encodings: UTF-8, but line {decoded.bad_lines[0]} is not; "
            "save the file as UTF-8"
        )
    return decoded.text, decoded.encoding


def mixed_lines(data: bytes) -> tuple[int, ...]:
    """The lines that are not UTF-8 in a file that is otherwise UTF-8: some are, with
    non-ASCII letters, and at least as many as those that are not; else ``()``."""
    bad: list[int] = []
    utf8 = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
        else:
            utf8 += 1
    return tuple(bad) if bad and utf8 >= len(bad) else ()


def guess(data: bytes) -> str:
    """charset-normalizer's encoding of a file that is not UTF-8, or CsvFormatError: see the
    module's doc for the threshold and the preference for cp1252."""
    found = list(from_bytes(data))
    if not found:
        raise CsvFormatError(REFUSED.format(why="no code page reads it as text"))
    best = found[0]
    western = from_bytes(data, cp_isolation=[WESTERN]).best()
    if western is not None and western.chaos <= best.chaos + TIE:
        return WESTERN
    if best.chaos > MAX_CHAOS:
        raise CsvFormatError(REFUSED.format(why=f"the best guess, {best.encoding}, reads badly"))
    rivals = sorted(
        match.encoding
        for match in found[1:]
        if abs(match.chaos - best.chaos) <= TIE
        and abs(match.coherence - best.coherence) <= TIE
        and str(match) != str(best)
    )
    if rivals:
        names = ", ".join([best.encoding, *rivals[:3]])
        raise CsvFormatError(REFUSED.format(why=f"it reads equally as {names}"))
    return best.encoding


def has_bad_bytes(text: str) -> bool:
    """Whether ``text`` holds bytes ``decode_file`` could not decode (surrogate escapes)."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def shown(text: str) -> str:
    """``text`` with its undecodable bytes as ``\\xNN``: storable (JSON, UTF-8) and lossless."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
