"""``leadflow intake [--host H] [--port P]``: receive the platforms' lead webhooks.

Serves ``leadflow.intake.app`` with uvicorn on ``intake.host``:``intake.port`` (default
127.0.0.1:8787: put a TLS reverse proxy in front), migrates the warehouse first, and loads
the inbox in a loader process beside it (``leadflow.intake.worker``). Refused
before anything is served (exit 2): no ``intake:`` platform configured, or Meta / LinkedIn
configured without the source their leads are fetched through. Secrets are never printed.
"""

from __future__ import annotations

import argparse
from typing import Any

from leadflow.cli.common import add_config_option
from leadflow.config.settings import ConfigError, Settings, check_warehouse, load_settings


def add_intake_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``intake`` on the ``leadflow`` command."""
    intake = subparsers.add_parser(
        "intake", help="serve the lead webhooks (Meta, Google Ads, LinkedIn) until stopped"
    )
    add_config_option(intake)
    intake.add_argument("--host", help="listen address (default: intake.host, 127.0.0.1)")
    intake.add_argument("--port", type=int, help="listen port (default: intake.port, 8787)")
    return intake


def check_intake(settings: Settings, origin: str) -> None:
    """Refuse a configuration the intake cannot serve (``ConfigError``, one line)."""
    intake = settings.intake
    if not intake.platforms():
        raise ConfigError(f"{origin}: intake: no platform configured (meta, google_ads, linkedin)")
    for platform in ("meta", "linkedin", "google_ads"):
        section = getattr(intake, platform)
        name = getattr(section, "source", None)
        if section is None or name is None:  # google_ads: the source is optional
            continue
        source = settings.sources.get(name)
        if source is None or source.type != platform:
            raise ConfigError(
                f"{origin}: intake.{platform}.source: no {platform} source named "
                f"{name!r} under sources: (its token reads the leads or their forms)"
            )


def run_intake(args: argparse.Namespace) -> int:
    """The ``intake`` command: serve until SIGINT/SIGTERM."""
    import uvicorn

    from leadflow.connectors.http import install_log_redaction
    from leadflow.intake.app import create_app
    from leadflow.intake.worker import loader_lifespan
    from leadflow.models.warehouse.engine import open_warehouse
    from leadflow.models.warehouse.migrate import upgrade

    install_log_redaction()
    settings = load_settings(args.config)
    origin = str(args.config or "configuration")
    check_intake(settings, origin)
    check_warehouse(settings.warehouse_url, args.config)
    host = args.host or settings.intake.host
    port = args.port or settings.intake.port

    with open_warehouse(settings.warehouse_url) as engine:
        upgrade(engine)
        app = create_app(settings.intake, engine, lifespan=loader_lifespan(settings))
        platforms = ", ".join(settings.intake.platforms())
        print(f"leadflow intake: {platforms} on http://{host}:{port}/webhooks/<platform>")
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    return 0
