"""leadflow's configuration file: YAML, ``${ENV_VAR}`` interpolation, validated on load.

Errors name the file and the key and say what is wrong; they never echo a value, so a
secret cannot leak through a validation message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from leadflow.config.checks import (
    ENV_REF,
    ConfigError,
    Lines,
    check_env_refs,
    check_rules_file,
    check_sources,
    check_sqlite_path,
    check_streams,
    check_zones,
    read_text,
    read_yaml,
    unknown_key_position,
)
from leadflow.config.intake import IntakeSettings
from leadflow.config.secrets import register_settings_secrets
from leadflow.config.writeback import WritebackSettings
from leadflow.connectors.google_ads.connector import GoogleAdsConfig
from leadflow.connectors.hubspot.connector import HubSpotConfig
from leadflow.connectors.linkedin.config import LinkedInConfig
from leadflow.connectors.mailchimp.connector import MailchimpConfig
from leadflow.connectors.meta.config import MetaConfig
from leadflow.connectors.registry import REGISTRY
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.models.sla.config import SlaSettings

CONFIG_ENV = "LEADFLOW_CONFIG"
DEFAULT_WAREHOUSE_URL = "sqlite:///leadflow.db"
_ENV_REF = ENV_REF

SourceSettings = Annotated[
    HubSpotConfig | MetaConfig | GoogleAdsConfig | LinkedInConfig | MailchimpConfig
    | SalesforceConfig,
    Field(discriminator="type"),
]  # fmt: skip


class SyncSettings(BaseModel):
    """How incremental syncs pick their window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    safety_lag_minutes: int = Field(
        5, ge=0, description="the watermark never passes run start minus this lag"
    )
    lock_wait_minutes: float = Field(
        360, ge=0, description="wait this long for another sync of the warehouse to end (0: fail)"
    )


class PrivacySettings(BaseModel):
    """Personal data: the salt of every stored hash (BI ``email_hash``, suppression list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hash_salt: SecretStr | None = Field(
        None,
        description="salt of the SHA-256 hashes of emails and phones (at least 16 characters); "
        "changing it orphans the suppression list, so keep it like a password",
    )

    @field_validator("hash_salt", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("hash_salt")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    def salt(self) -> str | None:
        """The salt as plain text, or None when not configured."""
        return self.hash_salt.get_secret_value() if self.hash_salt else None


class CsvImportSettings(BaseModel):
    """Lead export files the nightly sync imports (a drop folder, say): path is a glob."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="file or glob, relative to the working directory")
    source: str = Field(description="source name the leads load under (meta, linkedin, ...)")
    mapping: str | dict[str, str] | None = Field(
        None, description="a csv_mappings name or an inline field -> column mapping"
    )
    account_id: str | None = None


class Settings(BaseModel):
    """The whole configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    warehouse_url: str = DEFAULT_WAREHOUSE_URL
    timezone: str = "UTC"
    default_region: str | None = Field("US", description="phone region when a lead has none")
    sync: SyncSettings = SyncSettings()
    privacy: PrivacySettings = PrivacySettings()
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    classification_rules: str | None = Field(
        None,
        description="a rules YAML (a copy of models/people/default_rules.yaml); None: defaults",
    )
    csv_imports: list[CsvImportSettings] = Field(default_factory=list)
    sla: SlaSettings = Field(
        default_factory=SlaSettings, description="the marketing-sales SLA (models/sla/config.py)"
    )
    intake: IntakeSettings = Field(default_factory=IntakeSettings, description="config/intake.py")
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)
    csv_mappings: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="named column mappings for `leadflow import --mapping NAME`: field -> column",
    )
    task_runner: Literal["thread", "dask"] = Field(
        "thread", description="where extraction tasks run: a thread pool, or a Dask cluster"
    )
    dask_address: str | None = Field(
        None, description="an existing Dask scheduler (tcp://host:8786) for task_runner: dask"
    )
    dask_workers: int = Field(
        2, ge=1, le=64, description="worker processes of a local Dask cluster when no address"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name (e.g. Europe/Berlin)") from None
        return value

    @field_validator("default_region")
    @classmethod
    def _region_code(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError("must be a two-letter region code such as US or DE")
        return value.upper() if value else value

    @field_validator("dask_address")
    @classmethod
    def _dask_scheme(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(tcp|tls|ws|wss|inproc)://\S+", value):
            raise ValueError("must be a Dask scheduler address such as tcp://10.0.0.5:8786")
        return value

    @model_validator(mode="after")
    def _known_mappings(self) -> Settings:
        for index, entry in enumerate(self.csv_imports):
            if isinstance(entry.mapping, str) and entry.mapping not in self.csv_mappings:
                raise ValueError(
                    f"csv_imports[{index}].mapping: no csv_mappings entry named {entry.mapping!r}"
                )
        return self

    def enabled_sources(self) -> dict[str, SourceSettings]:
        return {name: source for name, source in self.sources.items() if source.enabled}


def interpolate(
    value: Any,
    env: Mapping[str, str],
    path: str = "",
    on_missing: Callable[[str, str], None] | None = None,
) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of a parsed YAML tree.

    A malformed reference is always refused. A variable that is not set and has no default
    is refused too, naming the key and the variable; with ``on_missing``, it is reported to
    ``on_missing(key, variable)`` instead and the reference is left as written."""
    if isinstance(value, Mapping):
        return {
            k: interpolate(v, env, f"{path}.{k}" if path else str(k), on_missing)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [interpolate(v, env, f"{path}[{i}]", on_missing) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    check_env_refs(value, path)

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        if on_missing is None:
            raise ConfigError(f"{path}: environment variable {name} is not set")
        on_missing(path, name)
        return match.group(0)

    return _ENV_REF.sub(substitute, value)


def _without_unresolved_sources(
    tree: dict[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """``tree`` without the sources that use a variable that is not set, and their names.

    For the commands that call no platform (report, sla, forget, people rebuild, db
    upgrade): a source's token is none of their business. The references of the sources
    left out are still checked (a malformed ``${...}`` is refused everywhere)."""
    sources = tree.get("sources")
    if not isinstance(sources, Mapping):
        return tree, []  # check_sources says what is wrong with it

    def unresolved(name: str, body: Any) -> bool:
        missing: list[str] = []
        interpolate(body, env, f"sources.{name}", lambda key, _: missing.append(key))
        return bool(missing)

    left_out = [name for name, body in sources.items() if unresolved(name, body)]
    kept = {name: body for name, body in sources.items() if name not in left_out}
    return {**tree, "sources": kept}, left_out


def _default_types(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A source's ``type`` defaults to its name, so ``hubspot:`` needs no ``type: hubspot``."""
    data = dict(raw)
    sources = data.get("sources")
    if isinstance(sources, Mapping):
        data["sources"] = {
            name: ({"type": name, **body} if isinstance(body, Mapping) else body)
            for name, body in sources.items()
        }
    return data


def _describe(error: ValidationError, key_lines: Lines | None = None) -> str:
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        parts = list(item["loc"])
        if len(parts) > 2 and parts[0] == "sources" and parts[2] in REGISTRY:
            del parts[2]  # the union's tag: sources.<name>.<type>.<key> reads as <name>.<key>
        if item["type"] == "extra_forbidden":  # never the key's text: a token may be pasted
            lines.append(unknown_key_position(parts, key_lines))
            continue
        location = ".".join(str(part) for part in parts)
        lines.append(f"{location}: {item['msg']}")
    return "; ".join(lines)  # one line, however many problems


def parse_settings(
    raw: Mapping[str, Any],
    *,
    origin: str,
    env: Mapping[str, str],
    key_lines: Lines | None = None,
    resolve_sources: bool = True,
) -> Settings:
    """Validate an already-parsed YAML document; ``origin`` names it in errors and
    ``key_lines`` (key path -> line) places an unknown key without printing it.

    ``resolve_sources=False`` (commands that call no platform): a source using a variable
    that is not set is left out of the settings instead of refused (see
    ``_without_unresolved_sources``); every other key's variables must still be set."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{origin}: expected a mapping of settings at the top level")
    try:
        tree = _default_types(raw)
        if not resolve_sources:
            tree, _ = _without_unresolved_sources(tree, env)
        data = check_sources(interpolate(tree, env))
    except ConfigError as error:
        raise ConfigError(f"{origin}: {error}") from None
    unknown = [
        f"sources.{name}.type"
        for name, body in (data.get("sources") or {}).items()
        if isinstance(body, Mapping) and body.get("type") not in REGISTRY
    ]
    if unknown:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(f"{origin}: {unknown[0]}: unknown source type (known: {known})")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError(
            f"{origin}: invalid configuration: {_describe(error, key_lines)}"
        ) from None
    try:
        zones = {f"sla.teams.{team}.timezone": c.timezone for team, c in settings.sla.teams.items()}
        check_zones({"sla.calendar.timezone": settings.sla.calendar.timezone, **zones})
        check_rules_file(settings.classification_rules)
        for name, source in settings.sources.items():
            known = REGISTRY[source.type].stream_names()
            where = ("sources", name, "streams")
            check_streams(where, source.type, source.streams, known, source.stream_on, key_lines)
    except ConfigError as error:
        raise ConfigError(f"{origin}: {error}") from None
    register_settings_secrets(settings)
    return settings


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The file chosen by ``--config`` or ``LEADFLOW_CONFIG``; None means defaults."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    return Path(chosen) if chosen else None


def load_settings(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    resolve_sources: bool = True,
) -> Settings:
    """Read and validate the configuration file (or defaults when none is chosen).

    ``resolve_sources=False`` is for commands that call no platform: a source whose
    ``${VAR}`` is not set is left out instead of refused (``parse_settings``)."""
    chosen = config_path(path)
    environment = os.environ if env is None else env
    if chosen is None:
        return parse_settings({}, origin="<defaults>", env=environment)
    raw, key_lines = read_yaml(read_text(chosen), str(chosen))
    return parse_settings(
        raw or {},
        origin=str(chosen),
        env=environment,
        key_lines=key_lines,
        resolve_sources=resolve_sources,
    )


def check_can_sync(settings: Settings, path: str | os.PathLike[str] | None = None) -> None:
    """Refuse a sync with nothing to read: no enabled source and no csv_imports."""
    if settings.enabled_sources() or settings.csv_imports:
        return
    chosen = config_path(path)
    origin = str(chosen) if chosen else "no configuration file (--config or LEADFLOW_CONFIG)"
    raise ConfigError(f"{origin}: sources: no enabled source and no csv_imports: nothing to sync")


def check_warehouse(url: str, origin: str | os.PathLike[str] | None = None) -> None:
    """Raise ConfigError, naming the URL with its password masked, unless the warehouse
    answers (PostgreSQL: a connection within 5 s; SQLite: a file, or none yet, in an
    existing writable folder). Writes nothing: an SQLite file is not created here.
    ``origin``, the configuration file, prefixes the message with the key."""
    import sqlalchemy as sa

    from leadflow.models.warehouse.engine import open_warehouse, redact_url

    chosen = config_path(origin)
    key = f"{chosen}: warehouse_url: " if chosen else "warehouse_url: "
    where = f"{key}warehouse {redact_url(url)}"
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"{where}: not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        check_sqlite_path(parsed.database, where)
        return
    if backend != "postgresql":
        raise ConfigError(f"{where}: unsupported database (use sqlite or postgresql)")
    try:
        with (
            open_warehouse(url, connect_args={"connect_timeout": 5}) as engine,
            engine.connect() as conn,
        ):
            conn.execute(sa.text("SELECT 1"))
    except (sa.exc.ArgumentError, ImportError) as error:
        raise ConfigError(f"{where}: {type(error).__name__}") from None
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise ConfigError(f"{where}: unreachable ({_masked(reason, parsed.password)})") from None


def _masked(text: str, password: str | None) -> str:
    return text.replace(password, "***") if password else text
