"""Importing export files into the warehouse, on both dialects; the CLI command; the flow."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

import leadflow.pipeline.file_import as import_module
from leadflow.cli.import_file import add_import_command, run_import
from leadflow.config.settings import parse_settings
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, quarantine, sync_state
from leadflow.pipeline.file_import import default_account, format_summary, import_file
from leadflow.sandbox.files.samples import GENERIC_MAPPING as SAMPLE_MAPPING
from leadflow.sandbox.files.samples import write_samples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
META_FILE = FIXTURES / "meta_leads_utf16.csv"
LINKEDIN_FILE = FIXTURES / "linkedin_leads_utf8_bom.csv"
GENERIC_FILE = FIXTURES / "generic_semicolon_cp1252.csv"
GENERIC_MAPPING = {
    "id": "Kundennummer", "created_time": "Erstellt", "first_name": "Vorname",
    "last_name": "Nachname", "email": "E-Mail", "phone": "Telefon", "company": "Firma",
    "country": "Land",
}  # fmt: skip
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def settings_for(warehouse_url: str, **extra):
    raw = {"warehouse_url": warehouse_url, "timezone": "Europe/Berlin", **extra}
    return parse_settings(raw, origin="test", env={})


def rows(url: str, table: sa.Table) -> list[dict]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(sa.select(table)).mappings()]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("path", "source", "mapping", "loaded", "quarantined"),
    [
        (META_FILE, "meta", None, 4, 2),
        (LINKEDIN_FILE, "linkedin", None, 3, 1),
        (GENERIC_FILE, "crm", GENERIC_MAPPING, 3, 2),
    ],
    ids=["meta", "linkedin", "generic"],
)
def test_import_loads_then_reimport_changes_nothing(
    warehouse_url, path, source, mapping, loaded, quarantined
):
    settings = settings_for(warehouse_url)
    first = import_file(path, source=source, settings=settings, mapping=mapping, now=NOW)
    assert first["file"] == path.name and first["rows"] == loaded + quarantined
    assert (first["inserted"], first["updated"], first["unchanged"]) == (loaded, 0, 0)
    assert first["quarantined"] == quarantined == len(first["problems"])
    assert all(problem.startswith("line ") for problem in first["problems"])
    stored = rows(warehouse_url, leads)
    assert len(stored) == loaded and {row["source"] for row in stored} == {source}
    hashes = {row["source_lead_id"]: row["row_hash"] for row in stored}

    again = import_file(path, source=source, settings=settings, mapping=mapping, now=NOW)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, loaded)
    assert {r["source_lead_id"]: r["row_hash"] for r in rows(warehouse_url, leads)} == hashes
    held = rows(warehouse_url, quarantine)
    assert len(held) == quarantined and {row["times_seen"] for row in held} == {2}
    assert all(row["reason"].startswith("line ") for row in held)
    [state] = rows(warehouse_url, sync_state)
    assert (state["source"], state["account_id"]) == (source, f"csv:{path.name}")
    assert state["watermark"] is None and state["cursor"]["file"] == path.name


def test_meta_import_details(warehouse_url):
    summary = import_file(META_FILE, source="meta", settings=settings_for(warehouse_url), now=NOW)
    assert summary | {"problems": []} == {
        "file": META_FILE.name, "source": "meta", "account_id": "csv", "format": "meta",
        "encoding": "utf-16-le", "delimiter": "\t", "rows": 6, "duplicates": 0, "inserted": 4,
        "updated": 0, "unchanged": 0, "quarantined": 2, "suppressed": 0, "problems": [],
        "notes": [],
    }  # fmt: skip
    assert summary["problems"] == [
        "line 5: not an ISO-8601 timestamp: 'xxxxxxxxx' (created_time)",
        "line 6: no way to reach this lead: not a valid email address "
        "(An email address must have an @-sign.) (email)",
    ]
    by_id = {row["source_lead_id"]: row for row in rows(warehouse_url, leads)}
    assert by_id["1000000000000001"]["first_name"] == "Zoë"
    assert by_id["1000000000000002"]["first_name"] == "李雷"
    assert by_id["1000000000000001"]["campaign_id"] == "120210000000000003"


def test_batches_and_repeated_ids(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setattr(import_module, "BATCH_SIZE", 2)
    path = tmp_path / "crm.csv"
    lines = ["id,created,email"] + [
        f"{i},2026-11-2{i % 3}T10:00:00Z,person{i}@example.com" for i in range(7)
    ]
    lines.append("3,2026-11-26T10:00:00Z,changed3@example.com")  # 3 again, later: it wins
    path.write_text("\n".join(lines) + "\n")
    mapping = {"id": "id", "created_at": "created", "email": "email"}
    settings = settings_for(warehouse_url)
    first = import_file(path, source="crm", settings=settings, mapping=mapping, now=NOW)
    assert (first["rows"], first["duplicates"], first["inserted"]) == (8, 1, 7)
    again = import_file(path, source="crm", settings=settings, mapping=mapping, now=NOW)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 7)
    emails = {row["source_lead_id"]: row["email"] for row in rows(warehouse_url, leads)}
    assert emails["3"] == "changed3@example.com"


def test_the_configured_source_s_only_account_is_the_default(tmp_path):
    meta = {"type": "meta", "access_token": "t", "page_ids": ["123"], "ad_account_ids": ["9"]}
    settings = settings_for(f"sqlite:///{tmp_path / 'w.db'}", sources={"fb": meta})
    assert default_account(settings, "meta") == "123"
    assert default_account(settings, "linkedin") == "csv"
    summary = import_file(META_FILE, source="meta", settings=settings, now=NOW)
    assert summary["account_id"] == "123"
    chosen = import_file(META_FILE, source="meta", settings=settings, account_id="p2")
    assert chosen["account_id"] == "p2"


def test_the_demo_samples_import(tmp_path):
    paths = write_samples(tmp_path / "samples")
    assert write_samples(tmp_path / "again") and all(
        path.read_bytes() == (tmp_path / "again" / path.name).read_bytes()
        for path in paths.values()
    )  # deterministic
    settings = settings_for(f"sqlite:///{tmp_path / 'w.db'}")
    meta = import_file(paths["meta"], source="meta", settings=settings, now=NOW)
    linkedin = import_file(paths["linkedin"], source="linkedin", settings=settings, now=NOW)
    generic = import_file(paths["generic"], source="crm", settings=settings,
                          mapping=SAMPLE_MAPPING, now=NOW)  # fmt: skip
    assert (meta["format"], meta["encoding"], meta["delimiter"]) == ("meta", "utf-16-le", "\t")
    assert (linkedin["format"], linkedin["encoding"]) == ("linkedin", "utf-8-sig")
    assert (generic["format"], generic["encoding"]) == ("generic", "cp1252")
    assert meta["inserted"] == 40 and linkedin["inserted"] == 30 and generic["inserted"] == 19
    assert generic["problems"] == ["line 9: expected 10 fields, found 3 (row)"]


# The command ------------------------------------------------------------------------------------


def command(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="leadflow")
    parser.add_argument("--config")
    add_import_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_import_with_a_json_mapping(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\ntimezone: Europe/Berlin\n")
    args = command("--config", str(config), "import", str(GENERIC_FILE), "--source", "crm",
                   "--mapping", json.dumps(GENERIC_MAPPING))  # fmt: skip
    assert run_import(args) == 0
    out = capsys.readouterr().out
    assert "generic export, cp1252, semicolon-delimited" in out
    assert "5 rows: 3 inserted, 0 updated, 0 unchanged, 2 quarantined, 0 suppressed" in out
    assert "line 4: expected 9 fields, found 3 (row)" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "pass a column mapping"),
        (("--mapping", "{not json"), "not valid JSON"),
        (("--mapping", '{"email": 1}'), "object of strings"),
        (("--mapping", "hubspot_export"), "no csv_mappings.hubspot_export"),
    ],
)
def test_cli_import_errors_exit_2(tmp_path, capsys, extra, message):
    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n")
    args = command("--config", str(config), "import", str(GENERIC_FILE), "--source", "crm", *extra)
    assert run_import(args) == 2
    assert message in capsys.readouterr().err


def test_cli_import_of_a_missing_file_exits_2(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n")
    args = command("--config", str(config), "import", str(tmp_path / "nope.csv"), "--source", "x")
    assert run_import(args) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_format_summary_names_the_delimiter_and_counts_the_rest():
    summary = {"file": "f.csv", "format": "meta", "encoding": "utf-16-le", "delimiter": "\t",
               "source": "meta", "account_id": "csv", "rows": 30, "duplicates": 1,
               "inserted": 5, "updated": 0, "unchanged": 0, "quarantined": 24,
               "suppressed": 0, "problems": ["line 2: x (email)"]}  # fmt: skip
    text = format_summary(summary)
    assert "tab-delimited" in text and "1 repeated ids" in text
    assert "30 rows: 5 inserted, 0 updated, 0 unchanged, 24 quarantined, 0 suppressed" in text
    assert text.endswith("  line 2: x (email)\n  ... and 23 more")


# The flow, really run by Prefect ------------------------------------------------------------


def test_the_import_csv_flow_runs_and_writes_an_artifact(prefect_api, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from leadflow.flows.import_csv import ARTIFACT_KEY, import_csv

    url = f"sqlite:///{tmp_path / 'w.db'}"
    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: {url}\n")
    state = import_csv(str(META_FILE), "meta", config_path=str(config), return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert (summary["inserted"], summary["quarantined"]) == (4, 2)
    assert len(rows(url, leads)) == 4

    async def artifacts():
        async with get_client() as client:
            key = ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY]))
            return await client.read_artifacts(artifact_filter=key)

    [artifact, *_] = asyncio.run(artifacts())
    assert artifact.type == "table" and "1000000000000001" not in str(artifact.data)
    assert "utf-16-le" in str(artifact.data) and "meta_leads_utf16.csv" in str(artifact.data)


def test_the_import_csv_flow_publishes_and_logs_no_email_or_phone(prefect_api, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogHandler

    from leadflow.flows.import_csv import ARTIFACT_KEY, import_csv
    from tests.pipeline.test_import_privacy import MAPPING, ROWS, leaks, malformed_file

    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\ntimezone: Europe/Berlin\n")
    path = malformed_file(tmp_path)
    state = import_csv(str(path), "crm", str(config), MAPPING, return_state=True)
    summary = state.result()
    counted = ("inserted", "updated", "unchanged", "quarantined", "suppressed", "duplicates")
    assert sum(summary[name] for name in counted) == summary["rows"] == ROWS
    run_id = state.state_details.flow_run_id
    APILogHandler().flush()  # the run's logs reach the API

    async def published() -> tuple[str, str]:
        async with get_client() as client:
            key = ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY]))
            found = await client.read_artifacts(artifact_filter=key)
            [artifact] = [a for a in found if a.flow_run_id == run_id]
            runs = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            logs = await client.read_logs(log_filter=runs, limit=200)
        return str(artifact.data), "\n".join(entry.message for entry in logs)

    artifact, logs = asyncio.run(published())
    assert '"suppressed": 0' in artifact and "(created)" in logs  # the summary was printed
    assert (leaks(artifact), leaks(logs), leaks(repr(summary))) == ([], [], [])
