"""Secrets of a configuration, registered for redaction in the process that uses them.

Loading a configuration file registers them (``config.settings``); a process that gets its
settings another way (a Dask worker, the intake's loader process: unpickled, never
validated there) registers them with ``register_settings_secrets`` before it logs anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import SecretStr

from leadflow.config.intake import IntakeSettings
from leadflow.connectors.http import register_secret


class WithSecrets(Protocol):
    """What of ``Settings`` holds secrets (a protocol: ``settings`` imports this module)."""

    sources: Mapping[str, Any]
    privacy: Any
    intake: IntakeSettings


def register_settings_secrets(settings: WithSecrets) -> None:
    """Every source's secrets, the hash salt and the intake's secrets."""
    for source in settings.sources.values():
        for secret in source.secrets():
            register_secret(secret.get_secret_value())
    if settings.privacy.hash_salt is not None:
        register_secret(settings.privacy.hash_salt.get_secret_value())
    for platform in settings.intake.platforms():
        for value in getattr(settings.intake, platform).__dict__.values():
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())
