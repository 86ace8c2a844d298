"""A bad configuration or an unreachable warehouse: one clear line on stderr naming the key
or the URL (password masked), never a value, exit code 2, and nothing written."""

from __future__ import annotations

import pytest

import leadflow.flows.sync_leads  # noqa: F401 - Prefect binds its log handlers on import: not to capsys
from leadflow.cli.main import main

HUBSPOT = "sources:\n  hubspot:\n    base_url: http://127.0.0.1:9\n    portal_id: '1'\n"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("colour: blue\n", "colour", id="unknown-key"),
        pytest.param(HUBSPOT + "    access_token: t0ken-abc\n    colour: x\n", "hubspot.colour", id="unknown-source-key"),
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
    assert main(["--config", str(config), *command]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"leadflow: {config}: ") and named in line
    assert "s3cret-value" not in line and "t0ken-abc" not in line
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
