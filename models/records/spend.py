"""One campaign's metrics for one day on one ad platform: what cost per lead is made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class CampaignDay:
    """Spend, impressions and clicks of a campaign on one day, in the account's currency.

    ``day`` is the date in the ad account's own time zone, as the platform reports it.
    ``spend`` is exact (Decimal): platforms send decimal strings or integer micros.
    """

    platform: str
    account_id: str
    campaign_id: str
    day: date
    spend: Decimal
    currency: str | None = None
    campaign_name: str | None = None
    impressions: int = 0
    clicks: int = 0

    def __post_init__(self) -> None:
        if self.spend < 0:
            raise ValueError(
                f"{self.platform} campaign {self.campaign_id} on {self.day}: negative spend"
            )

    @property
    def natural_key(self) -> tuple[str, str, str, date]:
        return (self.platform, self.account_id, self.campaign_id, self.day)
