"""The example configuration's commented ``intake:`` section, uncommented, is valid."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import yaml

from leadflow.config.intake import IntakeSettings
from leadflow.config.secrets import register_settings_secrets
from leadflow.config.settings import interpolate, parse_settings
from leadflow.connectors import http, redaction

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


def test_settings_given_to_the_loader_process_arrive_whole_and_their_secrets_redacted():
    """The loader process receives the settings pickled (never validated there) and
    registers their secrets for redaction: every source token, the salt, the intake's."""
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("# intake:")
    block = [line[2:] for line in lines[start:] if line.startswith("# ") or line == "#"]
    tree = yaml.safe_load(text) | yaml.safe_load("\n".join(block))
    env = {name: f"secret-{name.lower()}" for name in re.findall(r"\$\{(\w+)", text)}
    env["LEADFLOW_SLA_WEBHOOK"] = "https://hooks.example.test/sla"
    env["MAILCHIMP_API_KEY"] = "0123456789abcdef-us21"
    settings = parse_settings(tree, origin="example", env=env)
    assert settings.intake.platforms() and settings.sources and settings.sla.rules
    assert pickle.loads(pickle.dumps(settings)) == settings
    saved = set(redaction._known_secrets)
    redaction._known_secrets.clear()  # as in a fresh process
    try:
        register_settings_secrets(settings)
        for name in ("HUBSPOT_ACCESS_TOKEN", "META_APP_SECRET", "LINKEDIN_CLIENT_SECRET",
                     "SALESFORCE_PRIVATE_KEY"):  # fmt: skip
            assert http.redact(f"x {env[name]} y") == "x *** y"
    finally:
        redaction._known_secrets.update(saved)
