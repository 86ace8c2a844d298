"""The settings of one Salesforce org: OAuth credentials (JWT bearer or refresh token), the
API version, what to read and how much of the daily API allowance to leave alone.

Docs followed:
- OAuth 2.0 JWT bearer flow:
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
  (``iss`` the connected app's consumer key, ``sub`` the username, ``aud``
  https://login.salesforce.com, https://test.salesforce.com or an Experience Cloud site URL,
  ``exp`` within 3 minutes; RS256 with the key of the certificate uploaded to the app)
- OAuth 2.0 refresh token flow:
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
  (``client_secret`` optional unless the app requires it)
- REST API versions (``/services/data/vXX.X``):
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_versions.htm
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from leadflow.connectors.base import SourceConfig
from leadflow.connectors.urls import VersionPath

DEFAULT_VERSION = "62.0"
LOGIN, TEST_LOGIN = "https://login.salesforce.com", "https://test.salesforce.com"
# A field path in SOQL: Name, UserRole.Name, utm_source__c. Nothing else is ever pasted
# into a query, so configured names cannot inject SOQL.
FIELD_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
TouchObject = Literal["Task", "Event"]


def _version(text: str) -> str:
    """``62`` and ``62.0`` are the same API version, written ``62.0``."""
    return text if "." in text else f"{text}.0"


class SalesforceConfig(SourceConfig):
    """A Salesforce org, reached with EITHER the JWT bearer flow (``username`` and
    ``private_key``) OR the refresh token flow (``refresh_token``), through the connected
    app ``client_id``. ``base_url`` is where tokens are asked for (the login host, a
    sandbox's test.salesforce.com or the org's My Domain); the API itself is called at the
    ``instance_url`` the token response names."""

    VERSION_PATH: ClassVar[VersionPath] = VersionPath(
        r"services/data/v(?P<version>\d+(?:\.\d)?)", _version
    )

    type: Literal["salesforce"] = "salesforce"
    base_url: str = Field(
        "https://login.salesforce.com",
        description="the OAuth host (login.salesforce.com, test.salesforce.com for a sandbox "
        "org, or My Domain); a pasted /services/data/vNN.N is read as api_version",
    )
    api_version: str = Field(DEFAULT_VERSION, pattern=r"^\d{2,3}\.\d$")
    client_id: str = Field(min_length=1, description="the connected app's consumer key")
    client_secret: SecretStr | None = Field(None, description="consumer secret (refresh flow)")
    refresh_token: SecretStr | None = Field(None, description="refresh token (refresh flow)")
    username: str | None = Field(None, description="the integration user (JWT flow: sub)")
    private_key: SecretStr | None = Field(
        None, description="PEM private key (e.g. ${SALESFORCE_KEY}) or a path to a PEM file"
    )
    audience: str | None = Field(
        None, description="JWT aud; default: the login server base_url stands for"
    )
    jwt_lifetime_seconds: int = Field(180, ge=30, le=180, description="JWT exp: at most 3 min")
    org_id: str | None = Field(
        None, description="the org id, a label stored with every record; default: the token's"
    )
    page_size: int = Field(
        2000, ge=200, le=2000, description="Sforce-Query-Options batchSize (200-2000)"
    )
    bulk_threshold: int = Field(
        10_000, ge=0, description="more rows than this in a window: a Bulk API 2.0 job (0: never)"
    )
    bulk_page_records: int = Field(10_000, ge=1, description="Bulk results maxRecords per page")
    bulk_poll_seconds: float = Field(2.0, gt=0, description="first wait between job polls")
    bulk_poll_max_seconds: float = Field(30.0, gt=0, description="longest wait between polls")
    bulk_timeout_seconds: float = Field(3600.0, gt=0, description="give a job up after this")
    api_reserve: int = Field(
        1000, ge=0, description="stop when fewer daily API requests than this remain"
    )
    lead_fields: tuple[str, ...] = Field(
        (), description="more Lead fields to read (kept in custom_fields), e.g. utm_source__c"
    )
    lead_campaigns: bool = Field(
        True, description="read each lead's first CampaignMember as its campaign (a query a page)"
    )
    touch_objects: tuple[TouchObject, ...] = Field(
        ("Task", "Event"), description="the activity objects read as sales touches"
    )
    rep_team_field: str = Field(
        "UserRole.Name", description="the User field path that names a rep's team"
    )

    @field_validator("lead_fields", "rep_team_field")
    @classmethod
    def _field_paths(cls, value: Any) -> Any:
        names = (value,) if isinstance(value, str) else value
        bad = [i for i, name in enumerate(names) if not FIELD_PATH.fullmatch(name)]
        if bad:
            raise ValueError("a field name is letters, digits and _ (dotted for a relationship)")
        return value

    @field_validator("org_id", "username", "audience", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """``org_id: ${SALESFORCE_ORG_ID:-}`` with the variable unset is no org_id."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _one_flow(self) -> SalesforceConfig:
        jwt = self.private_key is not None or self.username is not None
        if jwt and self.refresh_token is not None:
            raise ValueError(
                "give either username and private_key (JWT bearer flow) or refresh_token "
                "(refresh token flow), not both"
            )
        if self.refresh_token is None and (self.private_key is None or self.username is None):
            missing = [n for n in ("username", "private_key") if getattr(self, n) is None]
            raise ValueError(
                "Salesforce needs username and private_key (JWT bearer flow) or refresh_token "
                f"(refresh token flow) (missing: {', '.join(missing)})"
            )
        return self

    @property
    def uses_jwt(self) -> bool:
        return self.refresh_token is None

    @property
    def jwt_audience(self) -> str:
        """``audience``, else the authorization server ``base_url`` stands for (a My Domain
        URL: login.salesforce.com, or test.salesforce.com for a sandbox org's), else
        ``base_url`` itself (a local sandbox, a gateway)."""
        if self.audience:
            return self.audience
        host = urlsplit(self.base_url).hostname or ""
        if host.endswith(".sandbox.my.salesforce.com"):
            return TEST_LOGIN
        return LOGIN if host.endswith(".my.salesforce.com") else self.base_url
