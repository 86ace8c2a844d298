"""prefect.yaml, the flows it deploys, the deploy step, `leadflow serve` and the backfill."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from leadflow.config.settings import ConfigError, parse_settings
from leadflow.flows.backfill import backfill
from leadflow.flows.deploy_steps import PROJECT_DIR, leadflow_settings
from leadflow.flows.progress import window_share
from leadflow.flows.serve import deployment_specs, load_entrypoint, serve_all, to_runner_deployment
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, sync_runs, sync_state
from leadflow.pipeline.sources import choose_sources, fast_sources
from leadflow.pipeline.windows import backfill_window
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

PREFECT_YAML = yaml.safe_load((PROJECT_DIR / "prefect.yaml").read_text())
DEPLOYMENTS = {d["name"]: d for d in PREFECT_YAML["deployments"]}
FLOW_NAMES = {
    "nightly-sync": "sync-leads",
    "speed-to-lead": "speed-to-lead",
    "backfill": "backfill",
    "sla-report": "sla-report",
}
TOKEN = "deploy-test-token-789"


@pytest.mark.parametrize("name", sorted(FLOW_NAMES))
def test_every_entrypoint_imports_and_is_the_named_flow(name):
    flow = load_entrypoint(DEPLOYMENTS[name]["entrypoint"])
    assert flow.name == FLOW_NAMES[name]
    assert "config_path" in flow.parameters.properties


def test_the_four_deployments_run_on_the_process_pool_with_enforced_parameters():
    assert set(DEPLOYMENTS) == set(FLOW_NAMES)
    for spec in DEPLOYMENTS.values():
        assert spec["work_pool"]["name"] == "leadflow"
        assert spec["enforce_parameter_schema"] is True
    crons = {name: [s["cron"] for s in spec["schedules"]] for name, spec in DEPLOYMENTS.items()}
    assert crons == {
        "nightly-sync": ["0 2 * * *"],
        "speed-to-lead": ["{{ leadflow.business_hours_cron }}"],
        "backfill": [],
        "sla-report": ["0 7 * * 1"],
    }
    for name in ("nightly-sync", "speed-to-lead"):
        limit = DEPLOYMENTS[name]["concurrency_limit"]
        assert limit == {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def test_prefect_yaml_holds_no_secret_only_references():
    text = (PROJECT_DIR / "prefect.yaml").read_text()
    templates = set(re.findall(r"\{\{\s*([\w.\-$]+)\s*\}\}", text))
    assert templates <= {
        "leadflow.config_path", "leadflow.timezone", "leadflow.directory",
        "leadflow.business_hours_cron", "leadflow.business_hours_timezone",
        "prefect.variables.leadflow_config",
    }  # fmt: skip
    assert not re.search(r"(token|secret|password|api_key)\s*:\s*\S", text, re.IGNORECASE)


def test_backfill_parameters_render_as_a_typed_form():
    schema = backfill.parameters.model_dump_for_openapi()
    props = schema["properties"]
    assert set(schema["required"]) == {"since", "until"}
    assert props["since"]["format"] == props["until"]["format"] == "date"
    assert props["dry_run"]["type"] == "boolean"
    assert {"type": "array", "items": {"type": "string"}} in props["sources"]["anyOf"]


def test_deploy_step_reads_path_and_time_zone_from_the_configuration(tmp_path, monkeypatch):
    config = tmp_path / "leadflow.yaml"
    config.write_text("timezone: ${BIZ_TZ:-Europe/Berlin}\nsources:\n  x: ${NOT_NEEDED}\n")
    monkeypatch.delenv("LEADFLOW_CONFIG", raising=False)
    found = leadflow_settings(str(config))
    assert found == {
        "config_path": str(config.resolve()), "timezone": "Europe/Berlin",
        "business_hours_cron": "*/10 9-16 * * 1,2,3,4,5",
        "business_hours_timezone": "Europe/Berlin", "directory": str(PROJECT_DIR),
    }  # fmt: skip
    monkeypatch.setenv("LEADFLOW_CONFIG", str(config))
    monkeypatch.setenv("BIZ_TZ", "America/Chicago")
    assert leadflow_settings("")["timezone"] == "America/Chicago"  # unset variable: ""
    monkeypatch.delenv("LEADFLOW_CONFIG")
    assert leadflow_settings(None)["timezone"] == "UTC"
    config.write_text("timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError, match=r"timezone: not an IANA"):
        leadflow_settings(str(config))


@pytest.mark.parametrize(
    ("calendar", "cron", "zone"),
    [
        pytest.param("{}", "*/10 9-16 * * 1,2,3,4,5", "America/New_York", id="defaults"),
        pytest.param(
            '{opens: "07:30", closes: "18:30", workdays: [sun, mon, tue, wed, thu]}',
            "*/10 7-18 * * 0,1,2,3,4",
            "America/New_York",
            id="sunday-to-thursday",
        ),
        pytest.param(
            '{timezone: Asia/Dubai, closes: "13:00", workdays: [sat]}',
            "*/10 9-12 * * 6",
            "Asia/Dubai",
            id="own-zone",
        ),
    ],
)
def test_speed_to_lead_runs_in_the_configured_business_hours(tmp_path, calendar, cron, zone):
    config = tmp_path / "leadflow.yaml"
    config.write_text(f"timezone: America/New_York\nsla:\n  calendar: {calendar}\n")
    found = leadflow_settings(str(config))
    assert (found["business_hours_cron"], found["business_hours_timezone"]) == (cron, zone)


def test_a_bad_business_calendar_fails_the_deploy_without_echoing_it(tmp_path):
    config = tmp_path / "leadflow.yaml"
    config.write_text('sla:\n  calendar: {opens: "9 sharp-secretish"}\n')
    with pytest.raises(ConfigError, match=r"sla.calendar: invalid") as error:
        leadflow_settings(str(config))
    assert "secretish" not in str(error.value)


def test_serve_builds_the_same_deployments_and_keeps_schedules_on(tmp_path, monkeypatch):
    import prefect

    config = tmp_path / "leadflow.yaml"
    config.write_text("timezone: America/New_York\n")
    specs = {spec["name"]: spec for spec in deployment_specs(str(config))}
    nightly = to_runner_deployment(specs["nightly-sync"])
    [schedule] = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "America/New_York")
    assert nightly.parameters == {"config_path": str(config.resolve())}
    assert nightly.concurrency_limit == 1
    assert nightly.concurrency_options.collision_strategy == "CANCEL_NEW"
    assert to_runner_deployment(specs["backfill"]).schedules == []
    served = {}
    monkeypatch.setattr(
        prefect, "serve", lambda *d, **kw: served.update(kw, names=[x.name for x in d])
    )
    serve_all(str(config))
    assert served["pause_on_shutdown"] is False
    assert sorted(served["names"]) == sorted(FLOW_NAMES)


def test_backfill_days_are_business_days_in_utc():
    window = backfill_window(date(2026, 3, 8), date(2026, 3, 8), "America/New_York", False)
    assert window.since == datetime(2026, 3, 8, 5, tzinfo=UTC)  # EST
    assert window.until == datetime(2026, 3, 9, 3, 59, 59, 999999, tzinfo=UTC)  # EDT
    with pytest.raises(ValueError, match="before since"):
        backfill_window(date(2026, 3, 9), date(2026, 3, 8), "UTC", True)


def test_source_choice_names_unknown_sources_and_speed_to_lead_skips_slow_ones():
    settings = parse_settings(
        {
            "sources": {
                "hubspot": {"base_url": "http://h", "access_token": "t0k3n-h", "portal_id": "1"},
                "mailchimp": {"base_url": "http://m", "api_key": "k3y-us21"},
            }
        },
        origin="t", env={},
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"unknown source hubspt \(configured: hubspot, mailchimp"):
        choose_sources(settings, ["hubspt"])
    assert set(fast_sources(settings)) == {"hubspot"}
    assert set(fast_sources(settings, ["mailchimp"])) == {"mailchimp"}


@pytest.mark.parametrize(
    ("start", "cursor", "expected"),
    [
        pytest.param(
            datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), 25.0, id="quarter"
        ),
        pytest.param(
            datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), 100.0, id="capped"
        ),
        pytest.param(None, datetime(2026, 1, 2, tzinfo=UTC), None, id="no-start"),
        pytest.param(datetime(2026, 1, 1, tzinfo=UTC), None, None, id="no-cursor"),
    ],
)
def test_progress_is_the_share_of_the_window_read(start, cursor, expected):
    assert window_share(start, cursor, datetime(2026, 1, 5, tzinfo=UTC)) == expected


def write_config(tmp_path: Path, warehouse_url: str, sandbox: HubSpotSandbox) -> str:
    path = tmp_path / "leadflow.yaml"
    path.write_text(
        f"warehouse_url: {warehouse_url}\ntimezone: America/New_York\nsources:\n  hubspot:\n"
        f"    base_url: {sandbox.base_url}\n    access_token: ${{HS_TOKEN}}\n"
        '    portal_id: "p1"\n    sales_reps: false\n    sales_touches: false\n'
        "    streams: {crm_status_changes: false}\n"
        "    start_date: 2026-01-01T00:00:00Z\n    backoff_seconds: 0.05\n"
    )
    return str(path)


def counts(warehouse_url: str) -> tuple[int, int, int]:
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        found = tuple(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (leads, sync_runs, sync_state)
        )
    engine.dispose()
    return found


def test_backfill_dry_run_writes_nothing_and_a_real_one_stops_at_until(
    prefect_api, tmp_path, monkeypatch
):
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    since, until = date(2026, 10, 1), date(2026, 10, 15)
    with HubSpotSandbox.unthrottled(hubspot_contacts(300), token=TOKEN) as sandbox:
        config = write_config(tmp_path, warehouse_url, sandbox)
        [dry] = backfill(since=since, until=until, dry_run=True, config_path=config)
        assert counts(warehouse_url) == (0, 0, 0)
        [real] = backfill(since=since, until=until, sources=["hubspot"], config_path=config)
    window = backfill_window(since, until, "America/New_York", False)
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        stamps = conn.execute(sa.select(leads.c.updated_at)).scalars().all()
        [mark] = conn.execute(sa.select(sync_state.c.watermark)).scalars().all()
    engine.dispose()
    aware = [s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps]
    assert dry["records"] == real["records"] > 0 and dry["inserted"] == 0
    assert 0 < len(aware) == real["inserted"] < 300
    assert all(window.since <= stamp <= window.until for stamp in aware)
    assert (mark if mark.tzinfo else mark.replace(tzinfo=UTC)) <= window.until


def test_nightly_run_name_says_which_deployment(monkeypatch):
    from leadflow.flows.sync_leads import _run_name

    monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__NAME", "nightly-sync")
    assert re.fullmatch(r"nightly-sync-\d{4}-\d{2}-\d{2}", _run_name())


def test_speed_to_lead_pulls_only_lead_forms_and_touches_and_checks_first_touch(
    prefect_api, tmp_path, monkeypatch
):
    import leadflow.flows.speed_to_lead
    from leadflow.cli.demo import TOKENS, demo_config, running_sandboxes
    from leadflow.flows.speed_to_lead import speed_to_lead

    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    checked = []
    real_run_sla = leadflow.flows.speed_to_lead.run_sla

    def spy(settings, run_id, rules=None):
        checked.append(rules)
        return real_run_sla(settings, run_id, rules)

    monkeypatch.setattr(leadflow.flows.speed_to_lead, "run_sla", spy)
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    with running_sandboxes(contacts=150) as boxes:
        config = tmp_path / "leadflow.yaml"
        config.write_text(demo_config(boxes, warehouse_url))
        # The demo's reps are slow on purpose: a first-touch breach may fail the run.
        state = speed_to_lead(config_path=str(config), return_state=True)
    assert state.is_completed() or "first_touch" in state.message, state.message
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        runs = conn.execute(sa.select(sync_runs.c.source, sync_runs.c.account_id)).all()
    engine.dispose()
    sources = {source for source, _ in runs}
    assert sources == {"hubspot", "meta", "google_ads", "linkedin"}
    assert not [account for _, account in runs if account.startswith(("spend:", "owners", "csv:"))]
    assert ("hubspot", "sales_touches:sandbox-portal") in runs
    assert checked == [["first_touch"]]
