"""The example configuration's commented ``writeback:`` section, uncommented, is valid."""

from __future__ import annotations

from pathlib import Path

import yaml

from leadflow.config.settings import Settings
from leadflow.config.writeback import WritebackSettings

EXAMPLE = Path(__file__).parents[2] / "leadflow.example.yaml"


def test_the_example_writeback_section_validates_when_uncommented() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = lines.index("# writeback:")
    end = lines.index("", start)
    tree = yaml.safe_load("\n".join(line[2:] for line in lines[start:end]))
    section = WritebackSettings.model_validate(tree["writeback"])
    assert section.enabled and section.rules == ("first_touch", "accept_reject")
    # Every key shown, but the older one-source form.
    assert set(tree["writeback"]) == set(WritebackSettings.model_fields) - {"source"}


def test_writeback_is_off_by_default() -> None:
    assert Settings().writeback.enabled is False
