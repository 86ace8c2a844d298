"""A full demo sync, with faults that make the connectors retry and one source fail, leaves
no token, no full email address and no phone number in anything it writes for people to
read: Python log records (formatted, tracebacks included), Prefect's run logs, artifacts,
the flow's failure message, ``sync_runs``, and the GX Data Docs of the SLA check."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes
from leadflow.flows.sync_leads import sync_leads
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, sync_runs

SECRETS = sorted(TOKENS.values())


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def prefect_texts(flow_run_id: str) -> list[str]:
    """The run's logs and every artifact, as Prefect's API serves them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async def read() -> list[str]:
        texts: list[str] = []
        async with get_client() as client:
            offset = 0
            while True:
                page = await client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                    limit=200,
                    offset=offset,
                )
                texts += [entry.message for entry in page]
                if len(page) < 200:
                    break
                offset += 200
            for artifact in await client.read_artifacts():
                texts.append(f"{artifact.key} {artifact.description} {artifact.data}")
        return texts

    return asyncio.run(read())


def personal_data(engine: sa.Engine) -> set[str]:
    """Every email address and phone number the warehouse loaded."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(leads.c.email, leads.c.phone)).all()
    return {value for row in rows for value in row if value and len(value) > 5}


@pytest.mark.timeout(900)
def test_a_demo_run_with_faults_leaks_no_token_email_or_phone(prefect_url, tmp_path, monkeypatch):
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # the SLA check writes its Data Docs under .leadflow/
    capture = Capture()
    watched = [logging.getLogger(), logging.getLogger("prefect"), logging.getLogger("urllib3")]
    levels = [logger.level for logger in watched]
    for logger in watched:
        logger.addHandler(capture)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)  # the transport logs each retry it makes
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    try:
        with running_sandboxes(contacts=400) as boxes:
            # Retries (a 503 and a reset), and Meta refusing its token: the run fails.
            boxes.hubspot.faults.push(503, {"message": "busy"}, path="search")
            boxes.linkedin.faults.push_reset(path="leadFormResponses")
            boxes.google.faults.push_delay(0, times=1)
            boxes.meta.token_expired = True
            config = tmp_path / "leadflow.yaml"
            config.write_text(demo_config(boxes, warehouse_url, tmp_path / "samples"))
            state = sync_leads(config_path=str(config), return_state=True)
    finally:
        for logger, level in zip(watched, levels, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(level)
    assert state.is_failed()
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        runs = [str(dict(row)) for row in conn.execute(sa.select(sync_runs)).mappings()]
    people = personal_data(engine)
    engine.dispose()
    assert len(people) > 500
    docs = [p.read_text(errors="replace") for p in Path(".leadflow").rglob("*") if p.is_file()]
    error = state.result(raise_on_failure=False)
    texts = {
        "python logging": "\n".join(capture.lines),
        "prefect logs and artifacts": "\n".join(
            prefect_texts(str(state.state_details.flow_run_id))
        ),
        "flow failure": f"{state.message}\n{error!r}",
        "sync_runs": "\n".join(runs),
        "data docs": "\n".join(docs),
    }
    assert "retry" in texts["python logging"].lower()  # the faults really were retried
    assert "re-authorize" in texts["sync_runs"]  # and Meta really failed
    leaks = {
        where: sorted({secret for secret in [*SECRETS, *people] if secret in text})[:5]
        for where, text in texts.items()
    }
    print({where: len(text) for where, text in texts.items()}, len(people), "emails/phones")
    assert all(texts.values())
    assert leaks == {where: [] for where in texts}


def test_urls_in_log_records_have_token_and_key_values_masked(caplog):
    from leadflow.connectors.http import install_log_redaction

    install_log_redaction()
    url = "https://graph.facebook.com/v26.0/1/leads?access_token=EAAB-secret-1&key=AIza-secret-2&limit=5"
    with caplog.at_level(logging.INFO):
        logging.getLogger("leadflow.test").info("GET %s for %s", url, "ada.lovelace@example.com")
    [message] = [record.getMessage() for record in caplog.records]
    assert "EAAB-secret-1" not in message and "AIza-secret-2" not in message
    assert "access_token=***" in message and "key=***" in message and "limit=5" in message
    assert "ada.lovelace" not in message and "example.com" not in message
    assert message.endswith("for ***@***")
