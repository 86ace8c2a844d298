"""``--config`` before or after every command that reads a configuration, and the sources'
``${VAR}``s resolved only by the commands that call a platform (sync, import)."""

from __future__ import annotations

from pathlib import Path

import pytest

import leadflow.flows.sync_leads  # noqa: F401 - Prefect binds its log handlers on import: not to capsys
from leadflow.cli.main import _parser, main
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.migrate import upgrade

SALT = "a-test-salt-of-some-length"
UNSET = "LEADFLOW_TEST_UNSET_TOKEN"

# Each command that reads a configuration, with the arguments it needs besides --config.
COMMANDS = {
    "sync": ["sync"],
    "import": ["import", "leads.csv", "--source", "crm"],
    "forget": ["forget", "--email", "x@example.com", "--dry-run"],
    "report": ["report", "--out", "r.html"],
    "sla": ["sla"],
    "db upgrade": ["db", "upgrade"],
    "people rebuild": ["people", "rebuild"],
    "serve": ["serve"],
}
VALIDATING = [name for name in COMMANDS if name != "serve"]  # serve: see test_serve_...


def _place(command: list[str], where: str, config: str) -> list[str]:
    """argv with ``--config config`` before the command, after it, or both."""
    before = ["--config", config] if where in ("before", "both") else []
    after = ["--config", config] if where in ("after", "both") else []
    return [*before, *command, *after]


@pytest.mark.parametrize("where", ["before", "after", "both"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_takes_config_before_or_after_it(name: str, where: str) -> None:
    from leadflow.cli.common import chosen_config

    args = _parser().parse_args(_place(COMMANDS[name], where, "chosen.yaml"))
    assert chosen_config(args) == "chosen.yaml"


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("name", VALIDATING)
def test_the_file_given_either_way_is_the_one_read(
    name: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "chosen.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\ntimezone: Nowhere/Special\n")
    monkeypatch.setenv("LEADFLOW_CONFIG", str(tmp_path / "not-this-one.yaml"))
    assert main(_place(COMMANDS[name], where, str(config))) == 2
    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert line.startswith(f"leadflow: {config}: ") and "timezone" in line
    assert out == "" and not (tmp_path / "w.db").exists()


@pytest.mark.parametrize("name", VALIDATING)
def test_the_same_file_in_both_places_is_accepted_two_files_are_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = "warehouse_url: sqlite:///{}\ntimezone: Nowhere/Special\n"
    (tmp_path / "a.yaml").write_text(bad.format(tmp_path / "a.db"))
    (tmp_path / "b.yaml").write_text(bad.format(tmp_path / "b.db"))
    same = ["--config", "a.yaml", *COMMANDS[name], "--config", str(tmp_path / "a.yaml")]
    assert main(same) == 2  # read: a.yaml's bad time zone is what is refused
    assert capsys.readouterr().err.startswith(f"leadflow: {tmp_path / 'a.yaml'}: invalid")
    two = ["--config", "a.yaml", *COMMANDS[name], "--config", "b.yaml"]
    assert main(two) == 2
    out, err = capsys.readouterr()
    [line] = err.splitlines()  # refused before either file is read
    assert line == (
        "leadflow: --config names a.yaml before the command and b.yaml after it: give one file"
    )
    assert out == ""


def test_serve_reads_the_config_given_after_it(tmp_path: Path, monkeypatch) -> None:
    served: list[str | None] = []
    monkeypatch.setattr("leadflow.flows.serve.serve_all", served.append)
    monkeypatch.chdir(tmp_path)
    for name in ("after.yaml", "before.yaml"):  # serve checks its configuration first
        (tmp_path / name).write_text(
            f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n"
            "sources:\n  hubspot:\n    portal_id: '1'\n    access_token: t0ken-abc\n"
        )
    assert main(["serve", "--config", "after.yaml"]) == 0
    assert main(["--config", "before.yaml", "serve"]) == 0
    assert served == ["after.yaml", "before.yaml"]


# --- ${VAR}s: only sync and import need the sources' ----------------------------------------


def _config(tmp_path: Path, token: str) -> Path:
    config = tmp_path / "leadflow.yaml"
    config.write_text(
        f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n"
        f"privacy:\n  hash_salt: {SALT}\n"
        "sources:\n  hubspot:\n    portal_id: '1'\n"
        f"    access_token: {token}\n"
        "  hubspot_eu:\n    type: hubspot\n    portal_id: '2'\n"
        "    access_token: ${" + UNSET + "_EU:-fine}\n"
    )
    (tmp_path / "leads.csv").write_text("email,created_at\nann@example.com,2026-11-20T10:00:00Z\n")
    upgrade(engine := create_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    engine.dispose()
    return config


NO_PLATFORM = ["forget", "report", "sla", "db upgrade", "people rebuild"]


@pytest.mark.parametrize("name", NO_PLATFORM)
def test_commands_that_call_no_platform_run_without_the_sources_variables(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(UNSET, raising=False)
    config = _config(tmp_path, "${" + UNSET + "}")
    assert main(["--config", str(config), *COMMANDS[name]]) == 0
    assert UNSET not in capsys.readouterr().err


@pytest.mark.parametrize("name", ["sync", "import"])
def test_sync_and_import_refuse_a_missing_variable_in_one_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(UNSET, raising=False)
    monkeypatch.setenv(f"{UNSET}_EU", "s3cret-value")
    config = _config(tmp_path, "${" + UNSET + "}")
    assert main(["--config", str(config), *COMMANDS[name]]) == 2
    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert f"{config}: sources.hubspot.access_token: environment variable {UNSET} is not set" in (
        line
    )
    assert "s3cret-value" not in line and out == ""


@pytest.mark.parametrize("name", VALIDATING)
def test_a_malformed_reference_in_a_source_is_refused_by_every_command(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(UNSET, raising=False)
    config = _config(tmp_path, "s3cret-value${" + UNSET)  # unterminated
    assert main(["--config", str(config), *COMMANDS[name]]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"leadflow: {config}: sources.hubspot.access_token: malformed ${{...}}")
    assert "s3cret-value" not in line
