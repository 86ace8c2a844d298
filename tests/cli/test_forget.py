"""``leadflow forget`` against a real sync of every sandbox platform: the person is gone
from every table, and a full re-read of every platform does not bring them back."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes
from leadflow.cli.main import main
from leadflow.flows.sync_leads import sync_leads
from leadflow.models.privacy.suppression import identifier_hash
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, people, sync_state
from tests.bi_seed import traces


def _most_connected_person(engine: sa.Engine) -> tuple[str, str, str]:
    """(person id, email, phone) of a person with leads on the most platforms."""
    query = (
        sa.select(people.c.person_id, people.c.email, people.c.phone)
        .join(leads, leads.c.person_id == people.c.person_id)
        .where(people.c.email.is_not(None), people.c.phone.is_not(None))
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
                sa.select(sa.func.count(sa.distinct(leads.c.source))).where(
                    leads.c.person_id == person_id
                )
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
