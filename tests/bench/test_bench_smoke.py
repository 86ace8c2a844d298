"""The benchmark script still runs: 5k leads on SQLite and PostgreSQL, every load path, the
GX SLA suites on 5k evaluations, and the people layer on 5k leads.

No timing is asserted (the machine is shared); the test checks that every path ran on
both databases and that the results files hold the table and the targets. dlt is a benchmark-only
extra that CI does not install, so the smoke run skips it (``--no-dlt``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bench.dataset import SLOTS, changed, make_lead, make_leads, person_of
from bench.gx_bench import PER_PERSON
from bench.people_bench import AGAIN, FIRST, REFERENCE
from bench.run import main


def test_dataset_is_deterministic_and_mixed() -> None:
    leads = make_leads(2000)
    assert leads == make_leads(2000)
    sources = Counter(lead.source for lead in leads)
    assert sources == {s: 2000 * SLOTS.count(s) // len(SLOTS) for s in set(SLOTS)}
    shared = sum(person_of(i) != i for i in range(2000))
    assert 0.15 < shared / 2000 < 0.21
    assert len({lead.natural_key for lead in leads}) == 2000
    assert make_lead(7, revision=1).updated_at > make_lead(7).updated_at


def test_changed_changes_one_lead_in_a_hundred() -> None:
    leads = make_leads(1000)
    again = changed(leads)
    assert sum(a != b for a, b in zip(leads, again, strict=True)) == 10


@pytest.mark.postgres
def test_smoke_run_writes_every_path(
    pg_admin_engine: Engine | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    if isinstance(pg_admin_engine, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL not available ({pg_admin_engine})")
        pytest.skip(f"PostgreSQL not available ({pg_admin_engine})")
    admin_url = pg_admin_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LEADFLOW_BENCH_PG_URL", admin_url)

    assert main(["--smoke", "--no-dlt", "--runs", "1", "--out", str(tmp_path)]) == 0

    printed = capsys.readouterr().out
    assert "| reference: COPY + upsert | postgresql | 5,000 |" in printed
    assert "| reference, PK-only table: COPY + upsert | postgresql | 5,000 |" in printed
    assert "| reference: executemany upsert | sqlite | 5,000 |" in printed
    assert "| reference, PK-only table: executemany upsert | sqlite | 5,000 |" in printed
    data = json.loads((tmp_path / "smoke.json").read_text())
    rows = {(row["path"], row["db"]): row for row in data["rows"]}
    for db in ("sqlite", "postgresql"):
        for path in (
            "leadflow load_batch",
            "leadflow re-load, nothing changed",
            "leadflow re-load, 1% changed",
            "pandas to_sql (append)",
        ):
            row = rows[(path, db)]
            assert row["rows"] == 5000 and len(row["seconds"]) == 1
            assert row["ratio"] > 0 and row["ratio_pk"] > 0
        assert ("dlt merge", db) not in rows
        gx = rows[("GX SLA suites", db)]
        assert gx["rows"] == 5000 and len(gx["seconds"]) == 1 and gx["extra"]["first_call_s"] > 0
        assert gx["extra"]["written"] == {
            "people": 1000,
            "sla_evaluations": 5000,
            "sla_results": 600,
        }
        # The suites saw the synthetic rows: decided evaluations of the two checked months.
        evaluated = gx["extra"]["evaluated_breached"]
        assert set(evaluated) == {*PER_PERSON, "qualified_volume"}
        assert all(0 < breached < total for total, breached in (evaluated[r] for r in PER_PERSON))
        # The people layer: leadflow twice and the reference, each round, on 5k leads.
        for path in (FIRST, AGAIN, REFERENCE):
            row = rows[(path, db)]
            assert row["rows"] == 5000 and len(row["seconds"]) == 1
            assert len(row["extra"]["peak_rss_mb"]) == 1
        agreement = rows[(FIRST, db)]["extra"]["agreement"]
        assert agreement["leads"] == 5000 - 6  # every real lead compared (6 test leads)
    assert "| GX SLA suites | sqlite | 5,000 |" in printed
    # The 5 s GX target is stated for a million rows, the people time ratio from 100k: at
    # 5k only the load and the people-agreement checks.
    assert {check["name"] for check in data["checks"]} == {
        "load ÷ same-table reference (sqlite, 5,000)",
        "load ÷ same-table reference (postgresql, 5,000)",
        *(
            f"people: {what} from the reference's ({db}, 5,000)"
            for what in ("leads whose person differs", "classifications differing")
            for db in ("sqlite", "postgresql")
        ),
    }
    assert "| leadflow load_batch | postgresql | 5,000 |" in (tmp_path / "smoke.md").read_text()
