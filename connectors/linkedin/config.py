"""The settings of one LinkedIn connection: its token, ad accounts, organizations, paging.

Docs: https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync (lead types,
permissions r_marketing_leadgen_automation) and
https://learn.microsoft.com/en-us/linkedin/marketing/versioning (the LinkedIn-Version header).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from leadflow.connectors.base import AdPlatformConfig
from leadflow.connectors.urls import VersionPath

ORGANIC_LEAD_TYPES = ("COMPANY", "EVENT", "ORGANIZATION_PRODUCT")
OrganicLeadType = Literal["COMPANY", "EVENT", "ORGANIZATION_PRODUCT"]


class LinkedInConfig(AdPlatformConfig):
    """Sponsored ad accounts and organizations whose lead forms are synced."""

    # /rest names no version: LinkedIn's version is a header.
    VERSION_PATH: ClassVar[VersionPath] = VersionPath(r"rest")
    RENAMED_KEYS: ClassVar[dict[str, str]] = {"linkedin_version": "api_version"}

    type: Literal["linkedin"] = "linkedin"
    base_url: str = Field("https://api.linkedin.com", description="API host; /rest is dropped")
    api_version: str = Field(
        "202606", pattern=r"^20\d\d(0[1-9]|1[0-2])$",
        description="LinkedIn-Version header (YYYYMM); versions are sunset after about a year "
        "(linkedin_version, its old name, is read until the next release)",
    )  # fmt: skip
    access_token: SecretStr = Field(
        description="OAuth token with r_marketing_leadgen_automation, r_ads, r_ads_reporting"
    )
    sponsored_account_ids: list[str] = Field(
        default_factory=list, description="ad account ids: SPONSORED leads and spend"
    )
    organization_ids: list[str] = Field(
        default_factory=list, description="organizations (pages) whose organic leads are synced"
    )
    lead_types: list[OrganicLeadType] = Field(
        default_factory=lambda: list(ORGANIC_LEAD_TYPES),
        description="organic lead types read for each organization (ad accounts: SPONSORED)",
    )
    include_test_leads: bool = Field(
        True, description="load test leads too, flagged is_test (never silently dropped)"
    )
    count: int = Field(100, ge=1, le=1000, description="lead responses per page (start/count)")
    initial_days: int = Field(
        365, ge=1, le=365, description="first sync without start_date: LinkedIn keeps 365 days"
    )
    spend_chunk_days: int = Field(
        30, ge=1, le=366, description="days per adAnalytics request (it does not page)"
    )

    @field_validator("sponsored_account_ids", "organization_ids")
    @classmethod
    def _bare_ids(cls, values: list[str]) -> list[str]:
        """Accept ``123`` or ``urn:li:sponsoredAccount:123``; keep the numeric id."""
        return [str(v).strip().rsplit(":", 1)[-1] for v in values if str(v).strip()]
