"""``leadflow forget`` against a real sync of every sandbox platform: the person is gone
from every table, and a full re-read of every platform does not bring them back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes
from leadflow.cli.main import main
from leadflow.flows.sync_leads import sync_leads
from leadflow.models.privacy.suppression import identifier_hash
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.person_links import LEAD_PERSON, lead_person_on, leads_with_people
from leadflow.models.warehouse.run_lock import warehouse_lock
from leadflow.models.warehouse.tables import (
    lead_people,
    leads,
    people,
    suppression_list,
    sync_state,
)
from tests.bi_seed import traces
from tests.models.privacy.switchboard import (
    ANN,
    ANN_NEEDLES,
    COLLEAGUES,
    SALT,
    SWITCHBOARD,
    build,
    lead,
    load,
)


def _most_connected_person(engine: sa.Engine) -> tuple[str, str, str]:
    """(person id, email, phone) of a person with leads on the most platforms, whose phone
    is theirs alone (a phone shared with other addresses is not erased: issue #18)."""
    other = leads.alias("other")
    shared_phone = sa.exists().where(
        other.c.phone == people.c.phone,
        other.c.email_match_key.is_distinct_from(people.c.email_match_key),
    )
    query = (
        sa.select(people.c.person_id, people.c.email, people.c.phone)
        .join(lead_people, people.c.person_id == LEAD_PERSON)
        .join(leads, lead_person_on(leads.c.source, leads.c.source_lead_id))
        .where(people.c.email.is_not(None), people.c.phone.is_not(None), ~shared_phone)
        .group_by(people.c.person_id, people.c.email, people.c.phone)
        .order_by(sa.func.count(sa.distinct(leads.c.source)).desc(), people.c.person_id)
        .limit(1)
    )
    with engine.connect() as conn:
        return tuple(conn.execute(query).one())


def _assert_email_hashes(engine: sa.Engine) -> None:
    """The sync filled people.email_hash with the demo configuration's salt."""
    query = sa.select(people.c.email_match_key, people.c.email_hash)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    salt = "leadflow-demo-salt-not-a-secret"
    assert rows and all(h == (k and identifier_hash("email", k, salt)) for k, h in rows)


def test_forgotten_person_stays_out_of_a_full_resync(
    prefect_api: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LEADFLOW_HASH_SALT", raising=False)  # the demo's default salt
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = create_engine(url)
    with running_sandboxes(300) as boxes:
        config = tmp_path / "demo.yaml"
        config.write_text(demo_config(boxes, url))
        sync_leads(config_path=str(config), return_state=True)  # SLA breaches don't matter
        person_id, email, phone = _most_connected_person(engine)
        _assert_email_hashes(engine)
        with engine.connect() as conn:
            sources = conn.execute(
                sa.select(sa.func.count(sa.distinct(leads.c.source)))
                .select_from(leads_with_people())
                .where(lead_people.c.person_id == person_id)
            ).scalar_one()
            assert traces(conn, [email, phone]) != []
        capsys.readouterr()
        assert main(["--config", str(config), "forget", "--email", email.upper()]) == 0
        printed = capsys.readouterr().out
        with engine.begin() as conn:
            assert traces(conn, [email, phone]) == []
            conn.execute(sync_state.delete())  # the next sync re-reads everything
        sync_leads(config_path=str(config), return_state=True)
    with engine.connect() as conn:
        assert traces(conn, [email, phone]) == []
        assert conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one() > 300
    engine.dispose()
    assert sources >= 2  # the erased person had leads on several platforms
    assert "rows removed" in printed and email not in printed.lower() and phone not in printed


def test_forget_needs_a_salt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n")
    assert main(["--config", str(config), "forget", "--email", "a@b.com"]) == 2
    assert "privacy.hash_salt" in capsys.readouterr().err


# --- The requester only (issue #18): a switchboard phone joins four people into one. ---


def _config(tmp_path: Path, url: str) -> str:
    config = tmp_path / "forget.yaml"
    config.write_text(
        f"warehouse_url: {url}\nprivacy:\n  hash_salt: {SALT}\nsync:\n  lock_wait_minutes: 1\n"
    )
    return str(config)


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _no_personal_data(*texts: str) -> None:
    text = "\n".join(texts).lower()
    needles = [*ANN_NEEDLES, *COLLEAGUES, SWITCHBOARD, "4155550100", "555-0100"]
    assert not [needle for needle in needles if needle.lower() in text]


def test_dry_run_prints_the_plan_and_deletes_nothing(
    migrated_engine: sa.Engine,
    warehouse_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build(migrated_engine)
    config = _config(tmp_path, warehouse_url)
    assert main(["--config", config, "forget", "--email", ANN, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "email (the one given)" in out and "dry run, nothing removed:" in out
    assert "leads                   3 rows to remove" in out and "rows removed" not in out
    assert _count(migrated_engine, leads) == 7 and _count(migrated_engine, suppression_list) == 0
    _no_personal_data(out, err)


def test_forget_removes_the_requester_only_and_prints_counts(
    migrated_engine: sa.Engine,
    warehouse_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build(migrated_engine)
    config = _config(tmp_path, warehouse_url)
    assert main(["--config", config, "forget", "--email", ANN.upper()]) == 0
    out, err = capsys.readouterr()
    assert out.index("will remove:") < out.index("leads                   3 rows removed")
    assert "phone shared with other people (kept)" in out
    assert _count(migrated_engine, leads) == 4 and _count(migrated_engine, people) == 1
    assert _count(migrated_engine, suppression_list) == 5
    _no_personal_data(out, err)


def test_person_id_of_a_multi_address_person_asks_for_include_linked(
    migrated_engine: sa.Engine,
    warehouse_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    person = build(migrated_engine)
    config = _config(tmp_path, warehouse_url)
    assert main(["--config", config, "forget", "--person-id", person]) == 3
    out, err = capsys.readouterr()
    assert "reaches 3 other email address(es)" in err and "--include-linked" in err
    assert "other email addresses reached" in out and "rows removed" not in out
    assert _count(migrated_engine, leads) == 7 and _count(migrated_engine, suppression_list) == 0
    assert main(["--config", config, "forget", "--person-id", person, "--include-linked"]) == 0
    out2, err2 = capsys.readouterr()
    assert _count(migrated_engine, leads) == 0 and _count(migrated_engine, people) == 0
    _no_personal_data(out, err, out2, err2)


def test_forget_waits_for_a_running_sync(
    migrated_engine: sa.Engine,
    warehouse_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build(migrated_engine)
    config = _config(tmp_path, warehouse_url)
    held, release, released_at = threading.Event(), threading.Event(), []

    def sync() -> None:  # a sync holding the lock while it writes
        with warehouse_lock(warehouse_url, "sync"):
            held.set()
            release.wait(30)
            load(migrated_engine, [lead("meta", "s1", "eve@acmecorp.com")])  # its last page
            released_at.append(time.monotonic())

    holder = threading.Thread(target=sync)
    holder.start()
    assert held.wait(30)
    threading.Timer(1.5, release.set).start()
    try:
        code = main(["--config", config, "forget", "--email", ANN])
    finally:
        release.set()
        holder.join(30)
    finished = time.monotonic()
    out, err = capsys.readouterr()
    assert code == 0
    [waiting] = [line for line in err.splitlines() if "waiting" in line]  # said once, stderr
    assert waiting.startswith("leadflow: forget: the sync lock of warehouse ")
    assert "waiting up to 1 min for it to end (sync.lock_wait_minutes)" in waiting
    assert "waiting" not in out
    assert released_at and finished > released_at[0]  # forget ran after the sync let go
    assert _count(migrated_engine, leads) == 5  # 7 - Ann's 3 + the sync's new lead
    _no_personal_data(out, err)
