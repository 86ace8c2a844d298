"""The people-layer benchmark's pieces: its data uses every identity rule and gives the SLA
sales touches, its targets apply from the sizes they are stated for, and a small SQLite run
through ``bench.run`` measures leadflow and the reference, compares their answers, and
measures the SLA evaluation and the GX checks after leadflow's first run.

No timing is asserted (the machine is shared).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bench.people_bench import (
    AGAIN,
    FIRST,
    GX,
    REFERENCE,
    ROLE,
    SLA,
    lead_events,
    lead_touches,
    people_checks,
    people_lead,
)
from bench.report import Row
from bench.run import main
from leadflow.models.people.rules import default_rules
from leadflow.models.sla.config import ALL_RULES


def test_people_data_gives_every_identity_rule_work() -> None:
    leads = [people_lead(index) for index in range(20_000)]
    rules = default_rules().identity
    emails = Counter(lead.email_match_key for lead in leads)
    assert emails[ROLE] > 50 and rules.blocks_email(ROLE)
    disposable = {key for key in emails if key and key.endswith("@mailinator.com")}
    assert disposable and all(rules.blocks_email(key) for key in disposable)
    assert max(emails[key] for key in disposable) > 1
    by_phone: dict[str, set[str]] = {}
    for lead in leads:
        if lead.phone and lead.email_match_key:
            by_phone.setdefault(lead.phone, set()).add(lead.email_match_key)
    assert max(len(found) for found in by_phone.values()) > rules.max_emails_per_phone
    merged = [lead for lead in leads if "hs_merged_object_ids" in lead.custom_fields]
    assert merged and all(lead.source == "hubspot" for lead in merged)
    events = [event for index, lead in enumerate(leads) for event in lead_events(lead, index)]
    assert 0.4 < len(events) / len(leads) < 0.8
    assert {event.event_type for event in events} >= {"open", "click", "reply"}
    touches = [touch for index, lead in enumerate(leads) for touch in lead_touches(lead, index)]
    assert 0.1 < len(touches) / len(leads) < 0.3
    assert {touch.touch_type for touch in touches} == {"call", "email"}  # no hand-raisers
    assert {touch.source for touch in touches} == {"hubspot"}
    assert {touch.outcome for touch in touches} == {"connected", "no_answer", None}
    assert all(touch.owner_id and touch.direction == "outbound" for touch in touches)


def _row(path: str, db: str, n: int, seconds: float, **extra: object) -> Row:
    return Row(path, db, n, [seconds], extra={"peak_rss_mb": [500.0], **extra})


def test_people_targets_apply_from_their_sizes() -> None:
    agree = {"leads_differ": 0, "classifications_differ": 2}
    rows = [
        _row(REFERENCE, "sqlite", 5000, 0.1),
        _row(FIRST, "sqlite", 5000, 0.5, agreement=agree, over_reference=5.0),
        _row(REFERENCE, "sqlite", 100_000, 2.0),
        _row(FIRST, "sqlite", 100_000, 2.8, agreement=agree, over_reference=1.4),
        _row(AGAIN, "sqlite", 100_000, 0.2),
        _row(REFERENCE, "sqlite", 1_000_000, 20.0),
        _row(FIRST, "sqlite", 1_000_000, 40.0, agreement=agree, over_reference=2.0),
        _row(AGAIN, "sqlite", 1_000_000, 2.0),
        _row(SLA, "sqlite", 100_000, 45.0),
        _row(GX, "sqlite", 100_000, 9.0),
        _row(SLA, "sqlite", 1_000_000, 25.0),
        _row(GX, "sqlite", 1_000_000, 9.0),
        _row(SLA, "postgresql", 1_000_000, 31.0),
    ]
    checks = {check.name: check for check in people_checks(rows)}
    ratios = {name for name in checks if "÷ reference" in name}
    assert ratios == {
        "people: leadflow ÷ reference time (sqlite, 100,000)",
        "people: leadflow ÷ reference time (sqlite, 1,000,000)",
    }
    assert checks["people: leadflow ÷ reference time (sqlite, 100,000)"].met
    assert not checks["people: leadflow ÷ reference time (sqlite, 1,000,000)"].met
    rss = {name for name in checks if "RSS" in name}
    assert rss == {
        "people: peak RSS MB, first run (sqlite, 1,000,000)",
        "people: peak RSS MB, re-run (sqlite, 1,000,000)",
    }
    growth = checks["people: leadflow's time per lead, 1,000,000 ÷ 100,000 (sqlite)"]
    assert round(growth.measured, 3) == round(40.0 / 28.0, 3) and not growth.met
    differ = checks["people: classifications differing from the reference's (sqlite, 5,000)"]
    assert differ.measured == 2 and not differ.met
    assert checks["people: leads whose person differs from the reference's (sqlite, 5,000)"].met
    sla = {name for name in checks if "SLA" in name}  # from 1M only; GX is only reported
    assert sla == {
        "people: SLA evaluation s, full (sqlite, 1,000,000)",
        "people: SLA evaluation s, full (postgresql, 1,000,000)",
    }
    assert checks["people: SLA evaluation s, full (sqlite, 1,000,000)"].met
    assert not checks["people: SLA evaluation s, full (postgresql, 1,000,000)"].met
    assert not any("GX" in name for name in checks)


def test_people_run_measures_both_and_compares(tmp_path: Path) -> None:
    argv = [
        "--sizes",
        "",
        "--gx",
        "0",
        "--e2e",
        "",
        "--e2e-throttled",
        "",
        "--mapping",
        "0",
        "--intake",
        "0",
        "--salesforce",
        "0",
        "--dbs",
        "sqlite",
    ]
    argv += ["--runs", "1"]
    assert main([*argv, "--people", "1500", "--out", str(tmp_path), "--name", "people"]) == 0

    data = json.loads((tmp_path / "people.json").read_text())
    rows = {row["path"]: row for row in data["rows"]}
    assert set(rows) == {REFERENCE, FIRST, AGAIN, SLA, GX}
    for row in rows.values():
        assert row["db"] == "sqlite" and row["rows"] == 1500 and len(row["seconds"]) == 1
        assert row["extra"]["peak_rss_mb"][0] >= row["extra"]["base_rss_mb"][0] > 10
    first = rows[FIRST]
    assert set(first["extra"]["stages"][0]) == {"identity", "classify"}
    assert set(rows[REFERENCE]["extra"]["stages"][0]) == {"resolve", "write map", "classify"}
    filled = rows[REFERENCE]["extra"]
    assert filled["leads"] == 1500 and filled["events"] > 0 and filled["touches"] > 0
    agreement = first["extra"]["agreement"]
    assert agreement["leads"] == 1500 - 2  # every real lead (two test leads: 0 and 997)
    assert agreement["people_leadflow"] == first["extra"]["summary"]["people"]
    assert agreement["people_reference"] == rows[REFERENCE]["extra"]["summary"]["people"]
    assert "the reference" in first["note"] and "peak RSS" in first["note"]
    names = {check["name"] for check in data["checks"]}
    assert "people: leads whose person differs from the reference's (sqlite, 1,500)" in names
    assert not any("SLA" in name for name in names)  # the SLA target applies at 1M

    sla = rows[SLA]["extra"]
    assert sla["evaluations"] == sum(sla["by_status"].values()) > 0
    assert set(sla["by_status"]) <= {"met", "breached", "pending"}
    assert sla["by_status"].get("met", 0) > 0 and sla["by_status"].get("breached", 0) > 0
    assert sla["touches"] == filled["touches"] and sla["rollups"] > 0
    assert sla["periods"] == ["2026-11", "2026-10"]
    assert f"{sla['evaluations']:,} evaluations" in rows[SLA]["note"]
    gx = rows[GX]["extra"]
    assert gx["gx_import_s"][0] > 0  # a fresh child imports Great Expectations, timed apart
    assert set(gx["evaluated_breached"]) == set(ALL_RULES)
    assert "GX import" in rows[GX]["note"]
