"""Checks of the configuration file that pydantic's models cannot make on their own.

Every check raises :class:`ConfigError` with a message naming a key (or a position: the
parent key path and a line) and what is wrong, never a value: a secret could be in it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ValidationError

Lines = dict[tuple[str, ...], int]  # key path -> 1-based line of the key in the file

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or invalid."""


def read_text(path: Path) -> str:
    """The file as UTF-8 text; a ConfigError naming the line of a byte that is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as error:
        why = error.strerror or type(error).__name__
        raise ConfigError(f"{path}: cannot read the configuration file ({why})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text (line {line}, byte {error.start})") from None


def read_yaml(text: str, origin: str) -> tuple[Any, Lines]:
    """The parsed document and the line of every key; duplicate keys are refused."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        lines: Lines = {}
        if node is not None:
            _key_lines(node, (), lines, origin)
        return yaml.safe_load(text), lines
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{origin}: not valid YAML{where}") from None


def _key_lines(node: yaml.Node, path: tuple[str, ...], lines: Lines, origin: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            where = (*path, str(key.value))
            line = key.start_mark.line + 1
            if key.value in seen:
                raise ConfigError(f"{origin}: {'.'.join(where)}: duplicate key at line {line}")
            seen.add(key.value)
            lines.setdefault(where, line)
            _key_lines(value, where, lines, origin)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.setdefault((*path, str(index)), item.start_mark.line + 1)
            _key_lines(item, (*path, str(index)), lines, origin)


def unknown_key_position(parts: list[Any], lines: Lines | None) -> str:
    """Where an unknown key is, without its text (a token pasted as a key stays unprinted)."""
    parent = ".".join(str(part) for part in parts[:-1]) or "top level"
    line = (lines or {}).get(tuple(str(part) for part in parts))
    return f"{parent}: unknown key" + (f" at line {line}" if line else "")


_STREAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def check_streams(
    path: tuple[str, ...],
    platform: str,
    switches: Mapping[str, bool],
    known: Sequence[str],
    is_on: Callable[[str], bool],
    lines: Lines | None = None,
) -> None:
    """A source's ``streams`` may switch only the platform's streams (``known``), and must
    leave one on (``is_on``). A name that is not a plain stream name is placed by its line
    instead of printed (a token pasted there stays unprinted)."""
    key, have = ".".join(path), ", ".join(known)
    for name in switches:
        if name in known:
            continue
        if _STREAM_NAME.fullmatch(str(name)):
            raise ConfigError(f"{key}.{name}: {platform} has no such stream (it has: {have})")
        line = (lines or {}).get((*path, str(name)))
        where = f" at line {line}" if line else ""
        raise ConfigError(f"{key}: unknown stream{where} ({platform} has: {have})")
    if not any(is_on(name) for name in known):
        raise ConfigError(
            f"{key}: every stream is switched off: nothing to sync from this source "
            "(switch one on, or set enabled: false)"
        )


def check_env_refs(value: str, path: str) -> None:
    """Refuse a ``${`` that does not start a well-formed ``${NAME}`` / ``${NAME:-default}``."""
    start = value.find("${")
    while start != -1:
        match = ENV_REF.match(value, start)
        if match is None:
            raise ConfigError(
                f"{path}: malformed ${{...}} reference (expected ${{NAME}} or "
                "${NAME:-default}, NAME of letters, digits and _, closed by })"
            )
        start = value.find("${", match.end())


def check_sources(data: Mapping[str, Any]) -> dict[str, Any]:
    """``sources`` must be a mapping; each ``base_url`` http(s), each ``start_date`` aware.

    A ``start_date`` that is a plain date means midnight in the top-level ``timezone``.
    Returns ``data`` with such dates made aware datetimes.
    """
    sources = data.get("sources")
    if sources is None:
        return dict(data)
    if not isinstance(sources, Mapping):
        raise ConfigError("sources: must be a mapping of source name to its settings")
    fixed = {}
    for name, body in sources.items():
        if isinstance(body, Mapping):
            body = dict(body)
            if "base_url" in body:
                _check_base_url(body["base_url"], f"sources.{name}.base_url")
            if "start_date" in body:
                body["start_date"] = _start_date(
                    body["start_date"], f"sources.{name}.start_date", data.get("timezone")
                )
        fixed[name] = body
    return {**data, "sources": fixed}


def _check_base_url(value: Any, key: str) -> None:
    if not isinstance(value, str):
        return  # pydantic names the wrong type
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{key}: must be an http:// or https:// URL with a host")


def _start_date(value: Any, key: str, zone: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ConfigError(
                f"{key}: not an ISO-8601 date or date-time with a UTC offset"
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ConfigError(
                f"{key}: a date-time needs a UTC offset (e.g. 2026-01-01T00:00:00Z), "
                "or give a plain date"
            )
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=_zone(zone))
    return value


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(name) if isinstance(name, str) else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # the timezone key's own check refuses it


def check_zones(zones: Mapping[str, str | None]) -> None:
    """Each named key, when set, must be an IANA time zone."""
    for key, name in zones.items():
        if name is None:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{key}: not an IANA time zone name (e.g. Europe/Berlin)") from None


def check_rules_file(path: str | None) -> None:
    """``classification_rules`` must name a readable, valid rules file."""
    if path is None:
        return
    from leadflow.models.people.rules import load_rules

    key = "classification_rules"
    try:
        load_rules(path)
    except OSError as error:
        why = error.strerror or type(error).__name__
        raise ConfigError(f"{key}: cannot read the rules file ({why})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: the rules file is not UTF-8 text") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{key}: the rules file is not valid YAML{where}") from None
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        count = error.error_count()
        raise ConfigError(
            f"{key}: the rules file is invalid at {where} ({first['type']}; {count} error(s))"
        ) from None


def check_sqlite_path(database: str | None, where: str) -> None:
    """An SQLite file must be a file (or not exist yet) in an existing, writable folder."""
    if database in (None, "", ":memory:"):
        return
    target = Path(database).expanduser().resolve()
    folder = target.parent
    if target.is_dir():
        raise ConfigError(f"{where}: is a directory, not a database file")
    if not folder.is_dir():
        raise ConfigError(f"{where}: unreachable (folder {folder} does not exist)")
    if not os.access(folder, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.R_OK | os.W_OK)
    ):
        raise ConfigError(f"{where}: not writable (check the permissions of {folder})")
