"""A lead export file's pages: batches of lead ids with every row of each, rejected rows
beside them, the first problems noted."""

from __future__ import annotations

from pathlib import Path

from leadflow.connectors.files.export import PROBLEMS_NOTED, read_export

MAPPING = {"id": "id", "created_at": "created", "email": "email"}


def export_of(folder: Path, rows: list[str]):
    path = folder / "crm.csv"
    path.write_text("\n".join(["id,created,email", *rows]) + "\n")
    return read_export(path, source="crm", account_id="a1", mapping=MAPPING, default_region="US")


def good(lead_id: str, day: int = 20) -> str:
    return f"{lead_id},2026-11-{day}T10:00:00Z,p{lead_id}@example.com"


def test_every_row_of_a_lead_id_is_in_one_page(tmp_path: Path) -> None:
    rows = [good("1"), good("2"), good("3"), good("2", 21), good("4"), good("1", 22)]
    export = export_of(tmp_path, rows)
    assert (export.rows, export.duplicates, export.partition) == (6, 2, "csv:crm.csv")
    pages = list(export.pages(2))
    assert [[lead.source_lead_id for lead in page.rows] for page in pages] == [
        ["1", "1", "2", "2"],
        ["3", "4"],
    ]
    assert [(p.partition, p.number, p.cursor, p.records) for p in pages] == [
        ("csv:crm.csv", 1, None, 4),
        ("csv:crm.csv", 2, None, 2),
    ]
    assert export.page_count(2) == 2 and len(export.sha256) == 64


def test_rejected_rows_page_beside_the_leads_and_the_first_are_noted(tmp_path: Path) -> None:
    bad = [f"x{n},2026-11-20T10:00:00Z," for n in range(PROBLEMS_NOTED + 5)]
    export = export_of(tmp_path, [good("1"), *bad])
    pages = list(export.pages(10))
    assert export.page_count(10) == len(pages) == 3
    assert [len(page.rejected) for page in pages] == [10, 10, 5]
    assert [len(page.rows) for page in pages] == [1, 0, 0]
    notes = [note for page in pages for note in page.notes]
    assert notes == export.problems() and len(notes) == PROBLEMS_NOTED
    assert notes[0].startswith("line 3: ") and notes[0].endswith("(email)")
    assert "@" not in "".join(notes)  # no contact data in a problem


def test_an_empty_file_is_one_empty_page(tmp_path: Path) -> None:
    [page] = export_of(tmp_path, []).pages(1000)
    assert (page.number, page.records, page.rows, page.rejected) == (1, 0, [], [])
