"""A bad configuration or an unreachable warehouse: one clear line on stderr naming the key
or the URL (password masked), never a value, exit code 2, and nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import leadflow.flows.sync_leads  # noqa: F401 - Prefect binds its log handlers on import: not to capsys
from leadflow.cli.main import main

HUBSPOT = "sources:\n  hubspot:\n    base_url: http://127.0.0.1:9\n    portal_id: '1'\n"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("colour: blue\n", "top level: unknown key at line 2", id="unknown-key"),
        pytest.param(HUBSPOT + "    access_token: t0ken-abc\n    colour: x\n", "sources.hubspot: unknown key at line 7", id="unknown-source-key"),
        pytest.param(HUBSPOT + "    access_token: t0ken-abc\n    page_size: lots\n", "hubspot.page_size", id="wrong-type"),
        pytest.param(HUBSPOT + "    access_token: t0ken-abc\n    portal_id: {id: s3cret-value}\n", "hubspot.portal_id", id="wrong-shape"),
        pytest.param(HUBSPOT + "    access_token: ${LEADFLOW_TEST_UNSET_TOKEN}\n", "LEADFLOW_TEST_UNSET_TOKEN", id="missing-secret"),
        pytest.param(HUBSPOT, "hubspot.access_token", id="no-credentials"),
        pytest.param("sync:\n  safety_lag_minutes: -3\n  lock_wait_minutes: []\n", "sync.safety_lag_minutes", id="two-errors"),
        pytest.param("sources: [\n", "not valid YAML", id="bad-yaml"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", [["sync"], ["db", "upgrade"]])
def test_a_bad_configuration_is_one_line_exit_2_and_nothing_written(
    tmp_path, capsys, monkeypatch, text, named, command
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADFLOW_TEST_UNSET_TOKEN", raising=False)
    config = tmp_path / "leadflow.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n" + text)
    if command == ["db", "upgrade"] and "UNSET_TOKEN" in named:
        # db upgrade calls no platform: a source's unset variable is none of its business
        # (tests/cli/test_config_option.py: every command that calls none).
        assert main(["--config", str(config), *command]) == 0
        return
    assert main(["--config", str(config), *command]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"leadflow: {config}: ") and named in line
    assert "s3cret-value" not in line and "t0ken-abc" not in line and "colour" not in line
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leadflow.yaml"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param("postgresql+psycopg://leadflow:pw-s3cret@127.0.0.1:9/warehouse", "leadflow:***@127.0.0.1:9/warehouse", id="postgres-down"),
        pytest.param("postgresql://leadflow:pw-s3cret@127.0.0.1:9/warehouse", "leadflow:***@127.0.0.1:9/warehouse", id="postgres-plain"),
        pytest.param("sqlite:///{tmp}/no/such/folder/w.db", "no/such/folder", id="sqlite-no-folder"),
        pytest.param("mysql://u:pw-s3cret@127.0.0.1:9/w", "u:***@127.0.0.1:9/w", id="unsupported"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", [["sync"], ["db", "upgrade"]])
def test_an_unreachable_warehouse_is_one_line_naming_the_url_masked_exit_2(
    tmp_path, capsys, monkeypatch, url, shown, command
):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "leadflow.yaml"
    config.write_text(f"warehouse_url: {url.format(tmp=tmp_path)}\n")
    assert main(["--config", str(config), *command]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("leadflow: ") and shown in line and "warehouse" in line
    assert "pw-s3cret" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leadflow.yaml"]


TOKEN = HUBSPOT + "    access_token: t0ken-abc\n"
AT = "sources:\n  hubspot:\n    portal_id: '1'\n    access_token: t0ken-abc\n"
PLANTED = ("s3cret-value", "t0ken-abc", "2031-07-04T05:06:07")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param(HUBSPOT + "    access_token: s3cret-value${BAD-NAME}\n", "sources.hubspot.access_token: malformed ${...} reference", id="env-bad-name"),
        pytest.param(HUBSPOT + "    access_token: s3cret-value${VAR\n", "sources.hubspot.access_token: malformed ${...} reference", id="env-unterminated"),
        pytest.param(HUBSPOT.encode() + b"    access_token: s3cret-value\xff\n", "not UTF-8 text (line 5", id="not-utf8"),
        pytest.param("sources:\n  - s3cret-value\n", "sources: must be a mapping", id="sources-list"),
        pytest.param("", "sources: no enabled source and no csv_imports: nothing to sync", id="empty-file"),
        pytest.param(TOKEN + "    enabled: false\n", "sources: no enabled source", id="no-enabled-source"),
        pytest.param("warehouse_url: sqlite:///{tmp}/wdir\n" + TOKEN, "is a directory", id="sqlite-directory"),
        pytest.param("warehouse_url: sqlite:///{tmp}/missing/w.db\n" + TOKEN, "does not exist", id="sqlite-no-folder"),
        pytest.param("warehouse_url: sqlite:///{tmp}/ro/w.db\n" + TOKEN, "/ro/w.db: not writable", id="sqlite-unwritable"),
        pytest.param(TOKEN + "classification_rules: {tmp}/s3cret-value.yaml\n", "classification_rules: cannot read the rules file", id="rules-missing"),
        pytest.param(TOKEN + "classification_rules: {tmp}/rules/bad.yaml\n", "classification_rules: the rules file is invalid at", id="rules-invalid"),
        pytest.param(TOKEN + "sla:\n  teams:\n    AE:\n      timezone: Mars/s3cret-value\n", "sla.teams.AE.timezone: not an IANA", id="team-zone"),
        pytest.param(TOKEN + "timezone: Mars/s3cret-value\n", "timezone: Value error, not an IANA", id="top-zone"),
        pytest.param(TOKEN + "    start_date: 2031-07-04T05:06:07\n", "sources.hubspot.start_date: a date-time needs a UTC offset", id="naive-start-date"),
        pytest.param(AT + "    base_url: s3cret-value.example.com\n", "sources.hubspot.base_url: must be an http:// or https:// URL", id="base-url-no-scheme"),
        pytest.param(AT + "    base_url: file:///s3cret-value\n", "sources.hubspot.base_url: must be an http:// or https:// URL", id="base-url-file"),
        pytest.param(TOKEN + "timezone: UTC\ntimezone: s3cret-value\n", "timezone: duplicate key at line 7", id="duplicate-key"),
        pytest.param(TOKEN + "    portal_id: s3cret-value\n", "sources.hubspot.portal_id: duplicate key at line 6", id="duplicate-source-key"),
        pytest.param(TOKEN + "s3cret-value: 1\n", "top level: unknown key at line 6", id="token-as-key"),
        pytest.param(TOKEN + "    s3cret-value: 1\n", "sources.hubspot: unknown key at line 6", id="token-as-source-key"),
        pytest.param(TOKEN + "    streams:\n      sales_rep: false\n", "sources.hubspot.streams.sales_rep: hubspot has no such stream (it has: leads, sales_reps, sales_touches, crm_status_changes)", id="unknown-stream"),
        pytest.param("sources:\n  meta:\n    access_token: t0ken-abc\n    page_ids: ['1']\n    streams:\n      sales_reps: false\n", "sources.meta.streams.sales_reps: meta has no such stream (it has: leads, spend)", id="stream-of-another-platform"),
        pytest.param(TOKEN + "    streams:\n      s3cret-value: false\n", "sources.hubspot.streams: unknown stream at line 7 (hubspot has: leads,", id="token-as-stream"),
        pytest.param(TOKEN + "    streams:\n      leads: false\n      sales_reps: false\n      sales_touches: false\n      crm_status_changes: false\n", "sources.hubspot.streams: every stream is switched off: nothing to sync", id="every-stream-off"),
        pytest.param(TOKEN + "    sales_reps: false\n    streams:\n      leads: false\n      sales_touches: false\n      crm_status_changes: false\n", "sources.hubspot.streams: every stream is switched off", id="every-stream-off-older-switch"),
    ],
)  # fmt: skip
def test_every_bad_configuration_is_refused_before_anything_is_written(
    tmp_path, capsys, monkeypatch, text, named
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wdir").mkdir()
    (tmp_path / "ro").mkdir(mode=0o555)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yaml").write_text("channels: s3cret-value\n")
    if os.geteuid() == 0:  # root writes anywhere: let the check see the folder as read-only
        real = os.access
        monkeypatch.setattr(
            "leadflow.config.checks.os.access",
            lambda path, mode: False if Path(path).name == "ro" else real(path, mode),
        )
    config = tmp_path / "leadflow.yaml"
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text.replace("{tmp}", str(tmp_path)))
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert main(["--config", str(config), "sync"]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"leadflow: {config}: ") and named in line
    assert not any(planted in line for planted in PLANTED)
    assert captured.out == ""
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert not (tmp_path / "leadflow.db").exists() and not (tmp_path / "w.db").exists()
