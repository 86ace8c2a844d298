"""run_checks as a whole: Data Docs in a fixed folder, no temp folders, no PII, no noise."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadflow.expectations.runner import SlaRuleCheck
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.migrate import upgrade

from .conftest import NOW, Warehouse

EMAIL = "jane.doe@example.com"
PHONE = "+15550199876"


def rule(name: str, target: float = 1.0, severity: str = "critical") -> SlaRuleCheck:
    return SlaRuleCheck(name, f"plain words for {name}", severity, target)


def seed_breaches(warehouse: Warehouse) -> None:
    """Some of everything: breaches, pending rows, bad quality rows; people with PII."""
    warehouse.people("p1", "p2", email=EMAIL, phone=PHONE, stage="hot")
    warehouse.evaluations("first_touch", {"p1": "breached", "p2": "met", "p3": "pending"})
    warehouse.evaluations("icp_fit", {f"q{i}": "met" for i in range(9)} | {"p1": "breached"})
    warehouse.volume("2026-11", {"overall": "failed", "team:east": "passed"})
    warehouse.leads(
        {"id": "l1", "email": EMAIL, "phone": PHONE},
        {"id": "l2", "email": None},
        {"id": "l3", "phone": PHONE, "created_at": NOW + timedelta(hours=2)},
    )


RULES = [rule("first_touch"), rule("icp_fit", 0.9, "warning"), rule("qualified_volume")]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """tempfile's folder and the working directory, both empty and ours alone."""
    folder = tmp_path / "tmp"
    cwd = tmp_path / "cwd"
    folder.mkdir()
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.chdir(cwd)
    return tmp_path


def test_data_docs_are_built_into_the_given_folder_and_nowhere_else(warehouse, private_tmp):
    seed_breaches(warehouse)
    docs = private_tmp / "docs"

    first = warehouse.check(*RULES, data_docs_dir=docs, run_id="run-1")
    second = warehouse.check(*RULES, data_docs_dir=docs, run_id="run-2")

    assert first.data_docs_index == second.data_docs_index == str(docs.resolve() / "index.html")
    index = (docs / "index.html").read_text()
    assert "leadflow_sla_evaluations" in index
    assert "leadflow_quality_leads" in index
    # The site shows the latest run: the folder does not grow run after run.
    pages = [p.relative_to(docs).parts for p in (docs / "validations").rglob("*.html")]
    assert len(pages) == 7  # two SLA suites (evaluations, volume) and five tables
    assert {parts[2] for parts in pages} == {"run-2"}
    assert os.listdir(private_tmp / "tmp") == []
    assert os.listdir(private_tmp / "cwd") == []


def test_without_a_docs_folder_nothing_is_written(warehouse, private_tmp):
    seed_breaches(warehouse)

    report = warehouse.check(*RULES)

    assert report.data_docs_index is None
    assert os.listdir(private_tmp / "tmp") == []
    assert os.listdir(private_tmp / "cwd") == []


def test_no_email_or_phone_in_outcomes_or_data_docs(warehouse, tmp_path):
    seed_breaches(warehouse)

    report = warehouse.check(*RULES, data_docs_dir=tmp_path / "docs")

    assert report.failed() == [
        "first_touch",
        "qualified_volume",
        "quality:lead_has_email_or_phone",
        "quality:lead_created_not_in_future",
        "quality:stage_known",
    ]
    for text in [repr(report), *(p.read_text() for p in (tmp_path / "docs").rglob("*.html"))]:
        assert EMAIL not in text
        assert PHONE not in text
        assert PHONE.removeprefix("+") not in text


def test_no_progress_bars_or_prints(warehouse, capfd):
    seed_breaches(warehouse)

    warehouse.check(*RULES)

    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err
    assert "it/s" not in captured.err
    assert captured.out == ""


def test_importing_the_runner_does_not_import_great_expectations():
    code = "import sys, leadflow.expectations.runner; print('great_expectations' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert out.stdout.strip() == "False"


@pytest.fixture
def pg_and_sqlite(pg_databases, tmp_path):
    """Two migrated warehouses, SQLite and PostgreSQL, to compare."""
    if isinstance(pg_databases, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL not available ({pg_databases})")
        pytest.skip(f"PostgreSQL not available ({pg_databases})")
    name = pg_databases.take(migrated=False)  # empty: migrated below, as the SQLite one
    urls = [f"sqlite:///{tmp_path / 'warehouse.db'}", pg_databases.url(name)]
    engines = [create_engine(url) for url in urls]
    try:
        for engine in engines:
            upgrade(engine)
        yield [Warehouse(e, u) for e, u in zip(engines, urls, strict=True)]
    finally:
        for engine in engines:
            engine.dispose()
        pg_databases.give_back(name)


@pytest.mark.postgres
def test_results_identical_on_sqlite_and_postgresql(pg_and_sqlite):
    for warehouse in pg_and_sqlite:
        seed_breaches(warehouse)

    sqlite, postgres = (w.check(*RULES, periods=["2026-11", "2026-W48"]) for w in pg_and_sqlite)

    assert sqlite == postgres
    assert sqlite.failed()  # the comparison is of something


@pytest.mark.postgres
def test_database_connections_are_closed_after_the_run(pg_and_sqlite):
    _, postgres = pg_and_sqlite
    seed_breaches(postgres)
    database = sa.engine.make_url(postgres.url).database

    postgres.check(*RULES)

    # A closed connection's server process may take a moment to leave pg_stat_activity.
    deadline = time.monotonic() + 10
    while (others := _other_sessions(postgres.engine, database)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert others == []


def _other_sessions(engine, database):
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT backend_type, state, query FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        ).all()


@pytest.mark.parametrize(
    "periods",
    [
        pytest.param([], id="none"),
        pytest.param("2026-11", id="a-string"),
        pytest.param(["2026-13"], id="month-13"),
        pytest.param(["2026-W54"], id="week-54"),
        pytest.param(["2026-11", "Nov"], id="one-bad"),
    ],
)
def test_bad_periods_are_refused_before_anything_runs(periods):
    with pytest.raises(ValueError, match="periods"):
        Warehouse(None, "sqlite:///unused.db").check(rule("first_touch"), periods=periods)


def test_each_rule_once_and_valid_rule_settings():
    with pytest.raises(ValueError, match="once"):
        Warehouse(None, "sqlite:///unused.db").check(rule("first_touch"), rule("first_touch"))
    with pytest.raises(ValueError, match="severity"):
        rule("first_touch", severity="fatal")
    with pytest.raises(ValueError, match="target"):
        replace(rule("first_touch"), target=95)


def test_a_missing_table_raises_instead_of_passing(warehouse, migrated_engine):
    cascade = " CASCADE" if migrated_engine.dialect.name == "postgresql" else ""  # BI views
    with migrated_engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE sla_results{cascade}")

    with pytest.raises(Exception, match="sla_results"):
        warehouse.check(rule("qualified_volume"))


def test_an_expectation_that_cannot_be_evaluated_raises_naming_it(warehouse, migrated_engine):
    with migrated_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE sla_results RENAME COLUMN group_key TO grp")

    with pytest.raises(RuntimeError, match=r"^expect_qualified_volume_delivered could not be"):
        warehouse.check(rule("qualified_volume"))


def test_two_runs_at_once_keep_their_own_results_and_docs(tmp_path):
    """Prefect may run checks of two flows in one process: GX state must not leak between."""
    warehouses = {}
    for name in "ab":
        engine = create_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        warehouses[name] = Warehouse(engine, str(engine.url))
        warehouses[name].evaluations("first_touch", {f"{name}-late": "breached", f"{name}": "met"})

    def check(name):
        docs = tmp_path / f"docs-{name}"
        return warehouses[name].check(rule("first_touch"), data_docs_dir=docs)

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(check, "ab"))

    assert [r.rules[0].unexpected_ids for r in reports] == [["a-late"], ["b-late"]]
    for name in "ab":
        pages = list(
            (tmp_path / f"docs-{name}" / "validations" / "leadflow_sla_evaluations").rglob("*.html")
        )
        assert len(pages) == 1
