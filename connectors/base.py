"""What every connector is made of: its configuration, the pages it yields, its spec."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from models.leads import Lead


class SourceConfig(BaseModel):
    """Settings shared by every source; each platform adds its own credentials and ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="the platform: a key of connectors.REGISTRY")
    enabled: bool = True
    base_url: str = Field(description="API root; the sandbox's URL in the demo and tests")
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

    def secrets(self) -> list[SecretStr]:
        """Every secret value of this source, for redaction."""
        return [v for v in self.__dict__.values() if isinstance(v, SecretStr)]

    @property
    def account_key(self) -> str:
        """The account this source syncs, as stored in ``sync_state``."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Page:
    """One page of raw records and the highest cursor value seen up to and including it."""

    records: list[dict[str, Any]]
    cursor: datetime | None
    number: int


@dataclass(frozen=True, slots=True)
class LeadContext:
    """What ``to_lead`` needs besides the record itself."""

    source: str
    account_id: str
    default_region: str | None = None


@dataclass(frozen=True, slots=True)
class Connector:
    """A platform, as values: how to read its pages and how to map one record."""

    name: str
    config_class: type[SourceConfig]
    pages: Callable[[Any, datetime | None], Iterator[Page]]
    to_lead: Callable[[Mapping[str, Any], LeadContext], Lead]
    record_key: Callable[[Mapping[str, Any]], str | None]
    doc_url: str
