"""``leadflow serve`` checks the configuration as a sync does before it registers anything
or starts Prefect; ``leadflow --config F demo`` refuses the file the demo would not read.
Both run the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LEADFLOW = [sys.executable, "-m", "leadflow.cli.main"]


def run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false"
    )
    return subprocess.run(
        [*LEADFLOW, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(
            "timezone: UTC\n", "sources: no enabled source and no csv_imports", id="nothing-to-sync"
        ),
        pytest.param(
            "warehouse_url: sqlite:///{tmp}/missing/folder/w.db\n"
            "sources:\n  hubspot:\n    access_token: t0ken-abc\n    portal_id: '1'\n",
            "warehouse_url: warehouse sqlite:///",
            id="warehouse-folder-missing",
        ),
    ],
)  # fmt: skip
def test_serve_refuses_a_configuration_a_sync_would_refuse(tmp_path, config, expected):
    path = tmp_path / "leadflow.yaml"
    path.write_text(config.format(tmp=tmp_path))
    done = run(tmp_path, "serve", "--config", str(path))
    assert done.returncode == 2, done.stderr[-2000:]
    [line] = done.stderr.splitlines()  # one line: no server started, nothing registered
    assert line.startswith(f"leadflow: {path}: ") and expected in line
    assert done.stdout == ""
    assert not (tmp_path / "prefect-home" / "prefect.db").exists()


def test_demo_refuses_a_config_file_in_one_line(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'mine.db'}\n")
    done = run(tmp_path, "--config", str(config), "demo", "--contacts", "10")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "leadflow: demo: --config is not used: the demo writes its own configuration for the "
        "built-in sandbox"
    ]
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == [config]  # no .leadflow/, no warehouse, no report
