"""A lead export file as a source whose pages are batches of rows.

``read_export`` reads and maps the whole file (``read_csv_leads``: the layout, the encoding
and each rejected row's line number are the file's, not a page's), then ``LeadExport.pages``
cuts it into pages the sync loads like any platform's: each page is one transaction with
its quarantined rows and the file's sync state (``csv:<file name>``, no watermark).

A page holds every row of the natural keys it carries, so when an export repeats a lead
id, the latest row wins inside one page and importing the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from leadflow.connectors.base import MappedPage
from leadflow.connectors.files.connector import read_csv_leads
from leadflow.connectors.files.formats import CsvFormat
from leadflow.models.records.leads import Lead, Rejected, summarize_notes

PROBLEMS_NOTED = 20  # rejected rows a file notes as warnings (the rest are only counted)


@dataclass(frozen=True)
class LeadExport:
    """One export file, read and mapped: its leads, its rejected rows and how it was read."""

    name: str
    source: str
    account_id: str
    sha256: str
    form: CsvFormat
    leads: list[Lead]
    rejected: list[Rejected]

    @property
    def partition(self) -> str:
        """The file's sync state key: ``csv:<file name>``."""
        return f"csv:{self.name}"

    @property
    def rows(self) -> int:
        """The rows read (blank lines aside): leads, repeated ids and rejected rows."""
        return len(self.leads) + len(self.rejected)

    @property
    def duplicates(self) -> int:
        """Rows whose lead id an earlier row of the file had already."""
        return len(self.leads) - len(self._by_key)

    @cached_property
    def notes(self) -> tuple[str, ...]:
        """The leads' notes counted: values left out and why (``summarize_notes``), e.g.
        ``"3 leads: phone not valid for its region: E.164 left empty"``."""
        return summarize_notes(self.leads)

    def problems(self) -> list[str]:
        """The first ``PROBLEMS_NOTED`` rejected rows, as "line N: why (column)"."""
        return [_problem(item) for item in self.rejected[:PROBLEMS_NOTED]]

    def page_count(self, size: int) -> int:
        """How many pages of ``size`` keys (and ``size`` rejected rows) the file makes."""
        keys, rejected = len(self._by_key), len(self.rejected)
        return max(math.ceil(keys / size), math.ceil(rejected / size), 1)

    def pages(self, size: int) -> Iterator[MappedPage]:
        """The file in pages of ``size`` lead ids, each with every row of those ids, and
        ``size`` rejected rows; an empty file is one empty page (its state is saved too).

        Page ``n`` notes the problems of its rejected rows among the first
        ``PROBLEMS_NOTED``, page 1 the file's ``notes`` before them; the rows are the records
        it holds.
        """
        groups = list(self._by_key.values())
        for number in range(self.page_count(size)):
            part = slice(number * size, (number + 1) * size)
            leads = [lead for group in groups[part] for lead in group]
            rejected = self.rejected[part]
            noted = self.rejected[part][: max(PROBLEMS_NOTED - number * size, 0)]
            notes = tuple(_problem(item) for item in noted)
            if number == 0:
                notes = self.notes + notes
            records = len(leads) + len(rejected)
            yield MappedPage(self.partition, number + 1, None, records, leads, rejected, notes)

    @cached_property
    def _by_key(self) -> dict[str, list[Lead]]:
        """The file's rows per lead id, ids in the order they first appear."""
        groups: dict[str, list[Lead]] = {}
        for lead in self.leads:
            groups.setdefault(lead.source_lead_id, []).append(lead)
        return groups


def read_export(
    path: str | Path,
    *,
    source: str,
    account_id: str,
    mapping: Mapping[str, str] | None,
    default_region: str | None,
    assume_timezone: str | None = None,
    now: datetime | None = None,
) -> LeadExport:
    """Read and map the export file at ``path`` (see ``read_csv_leads``); CsvFormatError
    for a file that cannot be read as a lead export."""
    file = Path(path)
    leads, rejected, form = read_csv_leads(
        file,
        source=source,
        account_id=account_id,
        mapping=mapping,
        default_region=default_region,
        assume_timezone=assume_timezone,
        now=now,
    )
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    return LeadExport(file.name, source, account_id, digest, form, leads, rejected)


def _problem(item: Rejected) -> str:
    return f"{item.reason} ({item.field_name})"
