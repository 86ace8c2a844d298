"""The error of a file that cannot be read as a lead export."""

from __future__ import annotations


class CsvFormatError(ValueError):
    """The file cannot be read as a lead export: undecodable, no header, unknown layout."""
