"""The settings of one Meta app connection: its token, Pages, ad accounts and paging.

Docs: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving
(permissions) and https://developers.facebook.com/docs/graph-api/overview/rate-limiting
(throttling: how long a wait is worth sleeping through).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from leadflow.connectors.base import AdPlatformConfig
from leadflow.connectors.urls import VersionPath


def _graph_version(version: str) -> str:
    """Graph API versions are ``vN.0``: ``/v21`` in a base_url means ``v21.0``."""
    return version if "." in version else f"{version}.0"


class MetaConfig(AdPlatformConfig):
    """Meta Lead Ads: a token that can read the Pages' leads and the ad accounts' insights."""

    VERSION_PATH: ClassVar[VersionPath] = VersionPath(
        r"(?P<version>v\d+(?:\.\d+)?)", _graph_version
    )

    type: Literal["meta"] = "meta"
    base_url: str = Field(
        "https://graph.facebook.com",
        description="Graph API host; a /vN.0 path is read as api_version",
    )
    api_version: str = Field("v26.0", pattern=r"^v\d+\.\d+$", description="Graph API version")
    access_token: SecretStr = Field(
        description="Page (or system user) token with leads_retrieval, ads_management, "
        "pages_show_list, pages_read_engagement, pages_manage_ads; ads_read for spend"
    )
    page_ids: tuple[str, ...] = Field((), description="Facebook Pages whose lead forms to read")
    ad_account_ids: tuple[str, ...] = Field(
        (), description="ad accounts for daily spend, with or without the act_ prefix"
    )
    page_size: int = Field(100, ge=1, le=500, description="the Graph API `limit` per page")
    max_throttle_wait_seconds: float = Field(
        900.0, ge=0, description="longest throttle wait worth sleeping through; longer fails"
    )

    @field_validator("page_ids", "ad_account_ids", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """A single id may be written without a list."""
        return [value] if isinstance(value, str) else value

    @field_validator("ad_account_ids")
    @classmethod
    def _bare_account_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """``act_123`` and ``123`` name the same account; keep the bare number."""
        bare = tuple(str(v).strip().removeprefix("act_") for v in value)
        if any(not v for v in bare):
            raise ValueError("an ad account id is empty")
        return bare
