"""The ``intake:`` section: where ``leadflow intake`` listens and each platform's secrets.

Every secret is written as ``${ENV}`` like every token (the file is interpolated before it
is validated) and is registered for redaction, so no log line or error carries it. A
platform without a section has no route: its webhooks are answered 404.

Meta and LinkedIn notifications carry ids only: the lead is fetched through the source named
by ``source`` (a key of ``sources:``, default the platform's name), with its token. A Google
Ads body is the lead but names its form by id only: with ``source`` set, the form's name is
read through that source (once per form per process).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from leadflow.connectors.http import register_secret


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _redacted(self) -> _Section:
        for value in self.__dict__.values():
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())
        return self


class MetaIntake(_Section):
    """Meta Webhooks for Pages (``leadgen``): the app secret signs every POST
    (X-Hub-Signature-256); the verify token is the one typed into the app's Webhooks setup."""

    app_secret: SecretStr = Field(description="the Meta app's secret (${META_APP_SECRET})")
    verify_token: SecretStr = Field(description="the Webhooks verify token you chose")
    source: str = Field("meta", description="the sources: entry whose token fetches leads")


class GoogleAdsIntake(_Section):
    """Google Ads lead form webhook: the key set on the lead form, and the customer whose
    forms post here (the body names no customer; the poll keys leads by it)."""

    google_key: SecretStr = Field(description="the key set on the lead form (${GOOGLE_KEY})")
    customer_id: str = Field(description="the Google Ads customer id the forms belong to")
    source: str | None = Field(
        None,
        description="the sources: entry (type google_ads) that reads each form's name; "
        "unset: webhook leads carry no form name until the poll reads it",
    )

    @field_validator("customer_id", mode="before")
    @classmethod
    def _digits(cls, value: object) -> str:
        digits = str(value).strip().replace("-", "")
        if not re.fullmatch(r"\d+", digits):
            raise ValueError("a customer id is digits (dashes allowed)")
        return digits


class LinkedInIntake(_Section):
    """LinkedIn lead notifications: the app's client secret answers the challengeCode and
    checks X-LI-Signature."""

    client_secret: SecretStr = Field(description="the LinkedIn app's client secret")
    source: str = Field("linkedin", description="the sources: entry whose token fetches leads")


class IntakeSettings(BaseModel):
    """``leadflow intake``: the ASGI app receiving the platforms' lead webhooks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="listen address; put a TLS proxy in front")
    port: int = Field(8787, ge=1, le=65535)
    max_body_bytes: int = Field(
        256_000, ge=1_000, le=10_000_000, description="larger bodies are refused (413)"
    )
    poll_seconds: float = Field(
        1.0, gt=0, le=600, description="how often the inbox is checked for leads to load"
    )
    max_attempts: int = Field(
        20, ge=1, le=1000, description="tries to fetch and load a lead before it is failed"
    )
    retry_base_seconds: float = Field(
        5.0, ge=0, description="first retry delay; it doubles with each try, up to an hour"
    )
    meta: MetaIntake | None = None
    google_ads: GoogleAdsIntake | None = None
    linkedin: LinkedInIntake | None = None

    def platforms(self) -> list[str]:
        """The platforms with a section: those the app has routes for."""
        return [p for p in ("meta", "google_ads", "linkedin") if getattr(self, p) is not None]
