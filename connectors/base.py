"""What every connector is made of: its configuration, the pages it yields, its spec."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from leadflow.connectors.urls import BaseUrlError, VersionPath, split_base_url
from leadflow.models.records.leads import InvalidRecord, Lead, Rejected
from leadflow.models.records.spend import CampaignDay

log = logging.getLogger(__name__)

LEADS, SPEND = "leads", "spend"


class Switches(dict[str, bool]):
    """A source's ``streams`` switches as validated: a mapping that hashes (a configuration
    is frozen, and hashable where its other values are)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


class SourceConfig(BaseModel):
    """Settings shared by every source; each platform adds its own credentials and ids.

    ``base_url`` is the API host, ``scheme://host[:port][/prefix]``: the platform's version
    path (``VERSION_PATH``), when written, is taken off and the version it names becomes
    ``api_version``, unless ``api_version`` says otherwise (refused). See connectors/urls.py.
    ``RENAMED_KEYS`` maps deprecated key names to their new ones: the old name is read for
    one release with a warning; both names at once are refused.
    ``streams`` switches what is read, by stream name (``leads``, ``spend``, the connector's
    ``Stream.name``s; absent: on); which names a platform has is checked where the
    registry is known (``leadflow.config.checks.check_streams``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    VERSION_PATH: ClassVar[VersionPath | None] = None
    RENAMED_KEYS: ClassVar[Mapping[str, str]] = {}

    type: str = Field(description="the platform: a key of connectors.REGISTRY")
    enabled: bool = True
    base_url: str = Field(
        description="API host, scheme://host[:port][/prefix] (a version path is read as "
        "api_version); the sandbox's URL in the demo and tests"
    )
    timeout_seconds: float = Field(60.0, gt=0, description="read timeout per request")
    connect_timeout_seconds: float = Field(10.0, gt=0)
    max_attempts: int = Field(6, ge=1, le=20, description="tries per request in all")
    backoff_seconds: float = Field(1.0, ge=0, description="base of the exponential backoff")
    lookback_minutes: int = Field(
        60, ge=0, description="re-read this much before the watermark on every run"
    )
    start_date: datetime | None = Field(
        None, description="lower bound of the very first sync (default: everything)"
    )
    streams: dict[str, bool] = Field(
        default_factory=Switches,
        description="stream name -> false to skip it (leads, spend, engagement_events, "
        "sales_touches, sales_reps, crm_status_changes: those the platform has); absent: on",
    )

    @field_validator("streams")
    @classmethod
    def _hashable(cls, value: dict[str, bool]) -> Switches:
        return Switches(value)

    def stream_on(self, name: str) -> bool:
        """Whether the stream ``name`` is read (every stream is, unless switched off)."""
        return self.streams.get(name, True)

    def secrets(self) -> list[SecretStr]:
        """Every secret value of this source, for redaction."""
        return [v for v in self.__dict__.values() if isinstance(v, SecretStr)]

    @model_validator(mode="before")
    @classmethod
    def _one_url_rule(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = _renamed(cls, dict(data))
        url = data.get("base_url")
        if not isinstance(url, str):
            return data  # absent (the default) or the wrong type, which pydantic names
        try:
            data["base_url"], version = split_base_url(url, cls.VERSION_PATH)
        except BaseUrlError as error:
            raise PydanticCustomError("base_url", str(error)) from None
        if version is None or "api_version" not in cls.model_fields:
            return data
        given = data.get("api_version")
        if given is None:
            data["api_version"] = version
        elif given != version:
            raise PydanticCustomError(
                "version_conflict",
                "base_url ends in API version {version} but api_version differs: give the "
                "version once, as api_version, and base_url as the host only",
                {"version": version},
            )
        return data


def _renamed(cls: type[SourceConfig], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each deprecated key under its new name (a warning says which)."""
    for old, new in cls.RENAMED_KEYS.items():
        if old not in data:
            continue
        if new in data:
            raise PydanticCustomError(
                "renamed_key", "{old} is the deprecated name of {new}: give only {new}",
                {"old": old, "new": new},
            )  # fmt: skip
        log.warning(
            "%s: the setting %s is deprecated and will be refused in the next release: "
            "rename it to %s", cls.model_fields["type"].default or cls.__name__, old, new,
        )  # fmt: skip
        data[new] = data.pop(old)
    return data


class AdPlatformConfig(SourceConfig):
    """An ad platform: leads plus daily campaign spend; windows overlap by a day or more."""

    lookback_minutes: int = Field(
        1440, ge=1440, description="re-read at least a day before the watermark"
    )
    spend_lookback_days: int = Field(
        7, ge=1, description="platforms restate recent spend: re-read this many days"
    )
    spend_initial_days: int = Field(90, ge=1, description="days of spend on the first sync")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of raw records from one partition (a portal, a form, an owner...).

    ``cursor`` is the watermark this page lets the partition commit: the highest cursor
    seen so far for a stream sorted ascending, or None until the last page of a stream the
    platform does not sort. ``notes`` are warnings for the run summary (e.g. a count the
    platform reported that differs from what was fetched).
    """

    records: list[dict[str, Any]]
    cursor: datetime | None
    number: int
    partition: str
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class MappedPage:
    """A page as it is loaded: the rows its records became and the records that could not
    be mapped (bound for quarantine), with the page's place in its partition (see Page).

    ``records`` is how many records the page held. The sync maps an API connector's pages
    (``MappedPage.of``); a lead export file, whose rows need the file's layout and line
    numbers, yields its pages mapped already (``leadflow.connectors.files.export``).
    """

    partition: str
    number: int
    cursor: datetime | None
    records: int
    rows: list[Any]
    rejected: list[Rejected]
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, page: Page, rows: list[Any], rejected: list[Rejected]) -> MappedPage:
        """``page`` once its records were mapped to ``rows`` and ``rejected``."""
        return cls(
            page.partition, page.number, page.cursor, len(page.records), rows, rejected,
            page.notes,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class LeadContext:
    """What ``to_lead`` needs besides the record itself."""

    source: str
    account_id: str
    default_region: str | None = None


StartFor = Callable[[str], datetime | None]
"""Where a partition's extraction starts: its watermark minus the lookback, or None."""


def resumed(start_for: StartFor, partition: str) -> bool | None:
    """Whether ``partition``'s start came from a previous sync's watermark (True) or from
    ``start_date`` / a backfill's range (False); None when ``start_for`` does not say (a
    plain function: the sync's lookup says, ``leadflow.pipeline.page_loop.StartLookup``)."""
    ask = getattr(start_for, "resumed", None)
    return bool(ask(partition)) if callable(ask) else None


@dataclass(frozen=True, slots=True)
class Stream:
    """A second kind of record a platform serves besides leads (engagement events, sales
    touches, reps), read and checkpointed like leads.

    ``name`` is the warehouse stream: "engagement_events", "sales_touches", "sales_reps" or
    "crm_status_changes".
    ``to_rows`` maps one raw record to zero or more model rows
    (``leadflow.models.records.activity``);
    it raises ``InvalidRecord`` for a record that cannot be mapped. The flow saves each
    page's cursor under ``f"{name}:{page.partition}"``.
    """

    name: str
    accounts: Callable[[Any], Sequence[str]]
    pages: Callable[[Any, str, StartFor], Iterator[Page]]
    to_rows: Callable[[Mapping[str, Any], LeadContext], list[Any]]
    record_key: Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True, slots=True)
class Connector:
    """A platform, as values: how to open it, what to read, how to map one record.

    ``accounts`` lists the lead accounts of a configuration (one task each);
    ``pages(client, account, start_for)`` yields every page of one account;
    ``spend(client, account, first_day, last_day)`` yields batches of campaign days, a row
    that fails validation as a ``Rejected`` in its place (quarantined, the rest loads).
    """

    name: str
    config_class: type[SourceConfig]
    open: Callable[[Any], Any]
    accounts: Callable[[Any], Sequence[str]]
    pages: Callable[[Any, str, StartFor], Iterator[Page]]
    to_lead: Callable[[Mapping[str, Any], LeadContext], Lead]
    record_key: Callable[[Mapping[str, Any]], str | None]
    doc_url: str
    spend_accounts: Callable[[Any], Sequence[str]] | None = None
    spend: Callable[[Any, str, date, date], Iterator[list[CampaignDay | Rejected]]] | None = None
    streams: tuple[Stream, ...] = ()

    def stream_names(self) -> tuple[str, ...]:
        """Every stream a source of this platform can switch: leads, spend (an ad
        platform's), then its other streams."""
        spend = (SPEND,) if self.spend is not None and self.spend_accounts is not None else ()
        return (LEADS, *spend, *(stream.name for stream in self.streams))

    def __post_init__(self) -> None:
        if not getattr(self.to_lead, "leadflow_strict", False):
            strict = strict_to_lead(self.name, self.to_lead, self.record_key)
            object.__setattr__(self, "to_lead", strict)


ToLead = Callable[[Mapping[str, Any], LeadContext], Lead]
MALFORMED = (AttributeError, KeyError, IndexError, TypeError, ValueError, OverflowError)


def strict_to_lead(
    source: str, to_lead: ToLead, record_key: Callable[[Mapping[str, Any]], str | None]
) -> ToLead:
    """``to_lead`` that raises nothing but ``InvalidRecord`` (the quarantine error).

    A record of the wrong shape (a string where an object belongs, a list for a number)
    breaks a mapper somewhere inside; instead of guarding every access, the failure becomes
    an InvalidRecord naming the top-level field whose removal makes it go away.
    """

    def mapped(record: Mapping[str, Any], context: LeadContext) -> Lead:
        try:
            lead = to_lead(record, context)
        except InvalidRecord:
            raise
        except MALFORMED as error:
            reason = f"malformed: {type(error).__name__}: {error}"[:500]
            field_name = _culprit(to_lead, record, context)
            raise InvalidRecord(source, _key(record_key, record), field_name, reason) from None
        _check_key_sizes(source, lead)
        return lead

    mapped.leadflow_strict = True  # type: ignore[attr-defined]
    mapped.__doc__ = to_lead.__doc__
    return mapped


# Indexed text columns of ``leads``: PostgreSQL refuses a B-tree index entry over ~2.7 kB,
# so a hostile value there would fail the whole page instead of one record.
INDEXED_FIELDS = ("source_lead_id", "account_id", "campaign_id", "email_match_key", "phone")
MAX_KEY_BYTES = 1000
MAX_KEY_CHARS_ALWAYS_FIT = MAX_KEY_BYTES // 4  # UTF-8 takes at most 4 bytes a character


def _check_key_sizes(source: str, lead: Lead) -> None:
    for name in INDEXED_FIELDS:
        value = getattr(lead, name)
        if not isinstance(value, str) or len(value) <= MAX_KEY_CHARS_ALWAYS_FIT:
            continue
        if len(value.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            key = None if name == "source_lead_id" else lead.source_lead_id
            reason = f"longer than {MAX_KEY_BYTES} bytes ({len(value)} characters)"
            raise InvalidRecord(source, key, name, reason)


def _key(record_key: Callable[[Mapping[str, Any]], str | None], record: Any) -> str | None:
    try:
        key = record_key(record)
    except MALFORMED:  # the key itself may be unreadable
        return None
    return key if isinstance(key, str) else None


def _culprit(to_lead: ToLead, record: Any, context: LeadContext) -> str:
    """The top-level field to blame: the first whose removal lets the record map, else the
    first whose removal makes the record merely invalid for another field, else "<record>"."""
    if not isinstance(record, Mapping):
        return "<record>"
    invalid_without: list[str] = []
    for name in record:
        try:
            to_lead({k: v for k, v in record.items() if k != name}, context)
        except InvalidRecord as error:
            if error.field_name != str(name):
                invalid_without.append(str(name))
            continue
        except MALFORMED:
            continue
        return str(name)
    return invalid_without[0] if invalid_without else "<record>"
