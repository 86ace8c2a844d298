"""The example configuration's commented ``intake:`` section, uncommented, is valid."""

from __future__ import annotations

from pathlib import Path

import yaml

from leadflow.config.intake import IntakeSettings
from leadflow.config.settings import interpolate

EXAMPLE = Path(__file__).parents[2] / "leadflow.example.yaml"


def test_the_example_intake_section_validates_when_uncommented():
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = lines.index("# intake:")
    block = [line[2:] for line in lines[start:] if line.startswith("# ") or line == "#"]
    tree = yaml.safe_load("\n".join(block))
    env = {
        "META_APP_SECRET": "s1",
        "META_WEBHOOK_VERIFY_TOKEN": "s2",
        "GOOGLE_LEAD_FORM_KEY": "s3",
        "LINKEDIN_CLIENT_SECRET": "s4",
    }
    intake = IntakeSettings.model_validate(interpolate(tree, env)["intake"])
    assert set(intake.platforms()) == {"meta", "google_ads", "linkedin"}
    assert intake.port == 8787
