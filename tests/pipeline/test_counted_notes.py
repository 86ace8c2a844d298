"""Counted notes ("3 leads: phone ...") are summed across a partition's pages, once each."""

from __future__ import annotations

from leadflow.pipeline.page_loop import merge_counted


def test_counted_notes_are_summed_across_pages_and_other_warnings_kept_in_place() -> None:
    warnings: list[str] = []
    pages = [
        ("2 leads: phone not valid for its region: E.164 left empty", "form F1 was renamed"),
        (
            "1 lead: phone not valid for its region: E.164 left empty",
            "1 lead: phone not a phone number",
        ),
        ("form F1 was renamed",),
    ]
    for notes in pages:
        warnings = merge_counted(warnings, notes)
    assert warnings == [
        "3 leads: phone not valid for its region: E.164 left empty",
        "form F1 was renamed",
        "1 lead: phone not a phone number",
        "form F1 was renamed",
    ]


def test_a_plain_warning_that_reads_like_a_problem_is_not_counted() -> None:
    merged = merge_counted(["phone not a phone number"], ["2 leads: phone not a phone number"])
    assert merged == ["phone not a phone number", "2 leads: phone not a phone number"]
