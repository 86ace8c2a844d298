"""The settings of one HubSpot portal: credentials (private app or OAuth), ids, paging.

Auth docs: https://developers.hubspot.com/docs/api/private-apps (a private app's static
token) and https://developers.hubspot.com/docs/api/oauth/tokens (an OAuth app: client id,
client secret and a refresh token exchanged for 30-minute access tokens).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from leadflow.connectors.base import SourceConfig
from leadflow.connectors.urls import VersionPath

TouchType = Literal["calls", "emails", "meetings"]
OAUTH_FIELDS = ("client_id", "client_secret", "refresh_token")


class HubSpotConfig(SourceConfig):
    """A HubSpot portal, reached with EITHER a private-app token OR an OAuth app's
    client id, client secret and refresh token (exactly one of the two)."""

    # HubSpot's API has no version root; a /crm/v3 (or /crm/v4) path is dropped all the same.
    VERSION_PATH: ClassVar[VersionPath] = VersionPath(r"crm/v\d+")

    type: Literal["hubspot"] = "hubspot"
    base_url: str = Field("https://api.hubapi.com", description="API host; /crm/v3 is dropped")
    client_id: str | None = Field(None, description="OAuth app client id")
    client_secret: SecretStr | None = Field(None, description="OAuth app client secret")
    refresh_token: SecretStr | None = Field(
        None, description="OAuth refresh token of the portal's installation"
    )
    # After the OAuth fields: its validator sees whether they were given.
    access_token: SecretStr | None = Field(
        None,
        validate_default=True,
        description="private app token (crm.objects.contacts.read, owners, ...)",
    )
    token_refresh_margin_seconds: float = Field(
        300, ge=0, description="refresh an OAuth access token this long before it expires"
    )
    portal_id: str | None = Field(
        None,
        description="the HubSpot account (portal) id, a label stored with every lead; "
        "default: the token's own, read once per run from GET /account-info/v3/details",
    )
    page_size: int = Field(200, ge=1, le=200, description="search page size (max 200)")
    extra_properties: tuple[str, ...] = Field((), description="custom contact properties")
    discover_properties: bool = Field(
        True, description="list the portal's custom contact properties once per run and read them"
    )
    search_requests_per_second: float = Field(
        5.0, gt=0, description="searches per second, kept on the client's side (HubSpot's limit: 5)"
    )
    requests_per_ten_seconds: int = Field(
        100,
        ge=1,
        description="the burst limit of every other call until a response announces the "
        "portal's own (X-HubSpot-RateLimit-Max: 100 Free/Starter, 190 Professional/Enterprise)",
    )
    sales_reps: bool = Field(True, description="read the owners (crm.objects.owners.read)")
    sales_touches: bool = Field(True, description="read calls, emails and meetings on contacts")
    touch_types: tuple[TouchType, ...] = Field(
        ("calls", "emails", "meetings"), description="the engagement objects read as touches"
    )
    owners_page_size: int = Field(100, ge=1, le=500, description="owners per page (max 500)")

    @field_validator("portal_id", mode="before")
    @classmethod
    def _empty_portal_is_unset(cls, value: Any) -> Any:
        """``portal_id: ${HUBSPOT_PORTAL_ID:-}`` with the variable unset reads the token's."""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("access_token")
    @classmethod
    def _token_or_oauth(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and not any(_present(info.data.get(name)) for name in OAUTH_FIELDS):
            raise PydanticCustomError(
                "missing", "Field required (or client_id, client_secret and refresh_token)"
            )
        return value

    @model_validator(mode="after")
    def _one_auth_mode(self) -> HubSpotConfig:
        oauth = {name: getattr(self, name) for name in OAUTH_FIELDS}
        given = [name for name, value in oauth.items() if _present(value)]
        if self.access_token is not None and given:
            raise ValueError(
                "give either access_token (private app) or client_id/client_secret/"
                f"refresh_token (OAuth), not both (also given: {', '.join(given)})"
            )
        if self.access_token is None and len(given) < len(OAUTH_FIELDS):
            missing = [name for name in OAUTH_FIELDS if name not in given]
            raise ValueError(
                "HubSpot needs access_token (private app) or an OAuth client_id, "
                f"client_secret and refresh_token (missing: {', '.join(missing)})"
            )
        return self

    @property
    def uses_oauth(self) -> bool:
        return self.access_token is None

    def stream_on(self, name: str) -> bool:
        """``streams``, and the older switches ``sales_reps`` / ``sales_touches`` (either
        one off is off)."""
        older = {"sales_reps": self.sales_reps, "sales_touches": self.sales_touches}
        return super().stream_on(name) and older.get(name, True)


def _present(value: str | SecretStr | None) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)
