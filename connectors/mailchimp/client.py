"""The Mailchimp client: its configuration, the connection gate, and what its errors mean.

Docs followed (https://mailchimp.com/developer/marketing/): docs/fundamentals/ (root
``https://<dc>.api.mailchimp.com/3.0``, ``<dc>`` the key's suffix; Basic auth ``any:<key>``;
10 simultaneous connections, 429 beyond); docs/errors/ (problem+json ``{type, title, status,
detail, instance}``; the glossary: 401 API Key Invalid / API Key Missing, 403 Forbidden "You
are not permitted to access this resource", User Disabled, Wrong Datacenter, 404 Resource Not
Found "The requested resource could not be found.", 429 Too Many Requests).

A 403 is a ``MissingScope`` (Mailchimp names no scope: its own words are kept); a 404 names
what is missing by the path asked: an audience (``list_ids``), a campaign's report, or a
collection this base_url does not serve (``base_url``). Retries are the transport's.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar, Literal

import requests
from pydantic import Field, SecretStr, field_validator, model_validator

from leadflow.connectors.base import SourceConfig
from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    MissingScope,
    RateLimited,
    TerminalError,
)
from leadflow.connectors.http import PlatformSession, build_retry, error_detail, register_secret
from leadflow.connectors.mailchimp.fields import SOURCE
from leadflow.connectors.urls import VersionPath

MAX_CONNECTIONS = 10  # Mailchimp's documented limit of simultaneous connections per account
_DATA_CENTER = re.compile(r"^[a-z]+[0-9]+$")
LIST_FIELDS = "lists.id,lists.name,total_items"
CAMPAIGN_FIELDS = "campaigns.id,campaigns.send_time,campaigns.recipients.list_id,total_items"


class MailchimpConfig(SourceConfig):
    """A Mailchimp account: an API key, and the audiences (lists) to read."""

    type: Literal["mailchimp"] = "mailchimp"
    # /3.0 is the API's path and its only version: dropped from base_url, never configured.
    VERSION_PATH: ClassVar[VersionPath] = VersionPath(r"3\.0")

    base_url: str | None = Field(
        None,
        description="API host (a /3.0 path is dropped); default https://<dc>.api.mailchimp.com "
        "from the key's -<dc> suffix (the sandbox's URL in the demo and tests)",
    )
    api_key: SecretStr = Field(description="Marketing API key, ending in its data center: -us21")
    list_ids: tuple[str, ...] = Field((), description="audience ids; empty: every audience")
    page_size: int = Field(1000, ge=1, le=1000, description="`count` per request (max 1000)")
    max_connections: int = Field(
        4, ge=1, le=MAX_CONNECTIONS, description="requests in flight per API key (<= 10)"
    )
    activity_days: int = Field(
        30, ge=1, description="campaigns sent this many days before the window are scanned"
    )

    @field_validator("list_ids", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _has_root(self) -> MailchimpConfig:
        self.api_root()
        return self

    def api_root(self) -> str:
        """``{base_url}/3.0``, or the key's data center's API root."""
        if self.base_url:
            return f"{self.base_url}/3.0"
        _, _, center = self.api_key.get_secret_value().rpartition("-")
        if not _DATA_CENTER.match(center):
            raise ValueError("the API key has no data-center suffix (like -us21): set base_url")
        return f"https://{center}.api.mailchimp.com/3.0"


_GATES: dict[str, threading.BoundedSemaphore] = {}
_GATES_LOCK = threading.Lock()


def connection_gate(config: MailchimpConfig) -> threading.BoundedSemaphore:
    """The semaphore shared by every request made with this API key in this process."""
    ident = hashlib.sha256(config.api_key.get_secret_value().encode()).hexdigest()
    with _GATES_LOCK:
        gate = _GATES.get(ident)
        if gate is None:
            gate = _GATES[ident] = threading.BoundedSemaphore(config.max_connections)
        return gate


def open_session(config: MailchimpConfig) -> MailchimpClient:
    """A client for one account; the transport retries 429 and 5xx with backoff."""
    key = config.api_key.get_secret_value()
    register_secret(key)
    retry = build_retry(attempts=config.max_attempts, backoff_factor=config.backoff_seconds)
    session = PlatformSession(
        SOURCE,
        timeout=(config.connect_timeout_seconds, config.timeout_seconds),
        retry=retry,
        pool_size=config.max_connections,
    )
    session.auth = ("leadflow", key)
    session.headers["Accept"] = "application/json"
    return MailchimpClient(config, session, connection_gate(config))


class MailchimpClient:
    """GETs through the connection gate; maps problem+json errors."""

    def __init__(
        self, config: MailchimpConfig, session: PlatformSession, gate: threading.Semaphore
    ) -> None:
        self.config = config
        self.session = session
        self.gate = gate
        self.root = config.api_root()
        self.requests_made = 0

    def get(self, path: str, params: Mapping[str, Any], resource: str) -> dict[str, Any]:
        """One GET, its retries included, through the account's connection gate."""
        classify = partial(classify_error, resource=resource, root=self.root)
        self.requests_made += 1
        with self.gate:
            body = self.session.fetch_json(
                "GET", self.root + path, classify=classify, params=dict(params)
            )
        if not isinstance(body, dict):
            raise TerminalError(SOURCE, f"{resource}: expected a JSON object")
        return body

    def close(self) -> None:
        self.session.close()


GRANT_ACCESS = (
    "Mailchimp names no scope: check that the key's user may read it (the user's role, the "
    "account's status, the data center in the key)"
)
# What a 404 means depends on what was asked (a path under /3.0).
_AUDIENCE = re.compile(r"/lists/(?P<id>[^/]+)(?:/members)?/?$")
_REPORT = re.compile(r"/reports/(?P<id>[^/]+)/(?P<report>[^/]+)/?$")


def _missing(response: requests.Response, root: str, why: str) -> TerminalError:
    """A 404, naming what is missing and the key to check: an audience (``list_ids``), a
    campaign's report, or an endpoint this ``base_url`` does not serve."""
    url = response.request.url if response.request is not None else ""
    path = requests.utils.urlparse(url or "").path
    asked = path.split("/3.0", 1)[-1] if "/3.0" in path else path
    audience, report = _AUDIENCE.search(asked), _REPORT.search(asked)
    if audience is not None:
        what = f"list {audience['id']} not found (no such audience; {why}); check list_ids"
    elif report is not None:
        what = (f"the {report['report']} report of campaign {report['id']} not found ({why}); "
                "the campaign may have been deleted")  # fmt: skip
    else:
        what = (f"GET {path} not found ({why}): the endpoint is not served at {root}; "
                "check base_url (the API host, without /3.0)")  # fmt: skip
    return TerminalError(SOURCE, what)


def classify_error(
    response: requests.Response, body: Any, resource: str, root: str = ""
) -> ConnectorError | None:
    """Mailchimp's problem+json errors, by status (module doc)."""
    status = response.status_code
    why = f"HTTP {status}: {error_detail(body, ('title',))} - {error_detail(body, ('detail',))}"
    if status == 401:
        return AuthError(
            SOURCE, f"Mailchimp API key refused ({why}); check the key or re-authorize"
        )
    if status == 403:
        return MissingScope(SOURCE, None, f"{resource}: {why}", grant=GRANT_ACCESS)
    if status == 429:
        return RateLimited(SOURCE, f"still throttled after retries on {resource} ({why})")
    if status == 404:
        return _missing(response, root, why)
    if 400 <= status < 500:
        return TerminalError(SOURCE, f"request for {resource} rejected ({why})")
    return None
