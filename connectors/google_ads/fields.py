"""Google Ads rows and queries: lead form submissions, campaign days, GAQL text and times.

Docs followed:
- https://developers.google.com/google-ads/api/reference/rpc/v24/LeadFormSubmissionData
  (``submission_date_time`` is "yyyy-mm-dd hh:mm:ss+|-hh:mm" in the account's time zone;
  resource names ``customers/{cid}/leadFormSubmissionData/{id}``)
- https://developers.google.com/google-ads/api/reference/rpc/v24/LeadFormFieldUserInputTypeEnum.LeadFormFieldUserInputType
- https://developers.google.com/google-ads/api/fields/v24/lead_form_submission_data (attributed
  resources ad_group, ad_group_ad, asset, campaign, customer: their fields may be selected with
  it) and https://developers.google.com/google-ads/api/reference/rpc/v24/Asset (``name``:
  "Optional name of the asset"; ``lead_form_asset``: LeadFormAsset, whose required
  ``headline`` describes what the form asks for): the form's name for classification
- https://developers.google.com/google-ads/api/docs/query/grammar and
  https://developers.google.com/google-ads/api/docs/query/date-ranges (``segments.date``)
- https://developers.google.com/google-ads/api/reference/rpc/v24/GoogleAdsFailure (REST error
  bodies: ``error.details[].errors[].errorCode`` / ``details.quotaErrorDetails.retryDelay``)
- https://support.google.com/google-ads/answer/12080108 (the API returns up to 60 days of
  leads; lead forms in the UI keep 30)
- REST JSON uses lowerCamelCase names and sends int64 values (``costMicros``) as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.connectors.base import LeadContext
from leadflow.models.records.contact import (
    clean_name,
    clean_text,
    reachable_contact,
    region_for_country,
)
from leadflow.models.records.leads import InvalidRecord, Lead, Rejected
from leadflow.models.records.masking import describe, quoted_shape
from leadflow.models.records.names import split_full_name
from leadflow.models.records.spend import CampaignDay, iso_day, read_campaign_day

SOURCE = "google_ads"
ROW_KEY = "leadFormSubmissionData"
GAQL_DATETIME = "%Y-%m-%d %H:%M:%S"
LEAD_FIELDS = (
    "resource_name", "id", "asset", "campaign", "ad_group", "ad_group_ad", "gclid",
    "submission_date_time", "lead_form_submission_fields", "custom_lead_form_submission_fields",
)  # fmt: skip
CURSOR_FIELD = "lead_form_submission_data.submission_date_time"
ACCOUNT_QUERY = "SELECT customer.id, customer.time_zone, customer.currency_code FROM customer"
# The lead form assets (the forms) of a customer; a webhook names its form by asset id.
FORM_QUERY = (
    "SELECT asset.id, asset.name, asset.lead_form_asset.headline FROM asset "
    "WHERE asset.type = 'LEAD_FORM'"
)
ASSET_FIELDS = ("asset.name", "asset.lead_form_asset.headline")
SPEND_QUERY = (
    "SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros, metrics.clicks, "
    "metrics.impressions FROM campaign WHERE segments.date BETWEEN '{first}' AND '{last}'"
)

# Predefined questions leadflow has a column for; every other field type is kept in
# custom_fields under its lower-cased enum name (qualifying questions, address parts...).
_MAPPED_TYPES = frozenset(
    {
        "FULL_NAME", "FIRST_NAME", "LAST_NAME", "EMAIL", "WORK_EMAIL", "PHONE_NUMBER",
        "WORK_PHONE", "COMPANY_NAME", "JOB_TITLE", "COUNTRY", "CITY",
    }
)  # fmt: skip


def customer_id_digits(value: Any) -> str:
    """A customer id without its dashes: ``123-456-7890`` -> ``1234567890``."""
    digits = str(value).strip().replace("-", "")
    if not digits.isdigit():
        raise ValueError(f"a customer id is digits (dashes allowed), not {value!r}")
    return digits


def submission(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``leadFormSubmissionData`` object of a search row (or the object itself)."""
    inner = record.get(ROW_KEY)
    return inner if isinstance(inner, Mapping) else record


def record_key(record: Mapping[str, Any]) -> str | None:
    """The natural key: the submission's resource name."""
    value = submission(record).get("resourceName")
    return str(value) if value not in (None, "") else None


def resource_id(name: object) -> str | None:
    """The trailing id of a resource name: ``customers/1/campaigns/42`` -> ``42``.

    An ad group ad is ``customers/1/adGroupAds/{ad_group_id}~{ad_id}``: the ad id is
    the part after the tilde.
    """
    if not isinstance(name, str) or not name.strip():
        return None
    tail = name.strip().rsplit("/", 1)[-1]
    return tail.rsplit("~", 1)[-1] or None


def customer_of(name: object) -> str | None:
    """The customer id a resource name belongs to."""
    if isinstance(name, str) and name.startswith("customers/"):
        return name.split("/", 2)[1] or None
    return None


def parse_submission_time(value: object) -> datetime:
    """``"2019-01-01 12:32:45-08:00"`` (account wall time plus offset) -> aware UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a submission date time: {describe(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"not 'yyyy-mm-dd hh:mm:ss+hh:mm': {quoted_shape(value)}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"submission date time without a UTC offset: {quoted_shape(value)}")
    return parsed.astimezone(UTC)


def wall_time_literal(moment: datetime, zone: ZoneInfo) -> str:
    """The account-local wall time to put in a ``>=`` filter so nothing at or after
    ``moment`` is left out.

    GAQL date-time literals carry no offset: Google reads them in the account's time
    zone. Seconds are truncated (never rounded up), and in the repeated hour when
    clocks fall back the wall time is moved back until either reading of it is not
    after ``moment``.
    """
    wall = moment.astimezone(zone).replace(tzinfo=None, microsecond=0)
    latest = max(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    if latest > moment:
        wall -= latest - moment
    return wall.strftime(GAQL_DATETIME)


def form_name(asset: object) -> str | None:
    """A lead form asset's name for classification: ``asset.name`` when set, else the form's
    ``lead_form_asset.headline`` (required on every lead form)."""
    if not isinstance(asset, Mapping):
        return None
    lead_form = asset.get("leadFormAsset")
    headline = lead_form.get("headline") if isinstance(lead_form, Mapping) else None
    return clean_text(asset.get("name")) or clean_text(headline)


def _answers(row: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Predefined answers by field type, and the rest (other types, custom questions)."""
    mapped: dict[str, str] = {}
    extra: dict[str, Any] = {}
    for item in row.get("leadFormSubmissionFields") or ():
        kind, value = str(item.get("fieldType") or "UNKNOWN"), item.get("fieldValue")
        if value in (None, ""):
            continue
        if kind in _MAPPED_TYPES and kind not in mapped:
            mapped[kind] = str(value)
        else:
            extra[kind.lower()] = value
    for item in row.get("customLeadFormSubmissionFields") or ():
        question, value = clean_text(item.get("questionText")), item.get("fieldValue")
        if question and value not in (None, ""):
            extra[question] = value
    return mapped, extra


def _names(answers: Mapping[str, str]) -> tuple[str | None, str | None]:
    first, last = answers.get("FIRST_NAME"), answers.get("LAST_NAME")
    if first is None and last is None and answers.get("FULL_NAME"):
        first, last = split_full_name(answers["FULL_NAME"])
    return clean_name(first), clean_name(last)


def _contact(
    key: str, answers: Mapping[str, str], extra: dict[str, Any], region: str | None
) -> tuple[str | None, str | None, str | None, dict[str, str]]:
    """Email (EMAIL, else WORK_EMAIL) and phone (PHONE_NUMBER, else WORK_PHONE)."""
    email = answers.get("EMAIL") or answers.get("WORK_EMAIL")
    phone = answers.get("PHONE_NUMBER") or answers.get("WORK_PHONE")
    if answers.get("EMAIL") and answers.get("WORK_EMAIL"):
        extra["work_email"] = answers["WORK_EMAIL"]
    if answers.get("PHONE_NUMBER") and answers.get("WORK_PHONE"):
        extra["work_phone"] = answers["WORK_PHONE"]
    return reachable_contact(SOURCE, key, email, phone, region)


def to_lead(record: Mapping[str, Any], context: LeadContext) -> Lead:
    """Map one ``lead_form_submission_data`` search row to a Lead."""
    row = submission(record)
    key = record_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "resourceName", "missing")
    try:
        submitted = parse_submission_time(row.get("submissionDateTime"))
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, "submissionDateTime", str(error)) from None
    answers, extra = _answers(row)
    country = clean_text(answers.get("COUNTRY"))
    region = region_for_country(country, context.default_region)
    email, match_key, phone, problems = _contact(key, answers, extra, region)
    if row.get("gclid"):
        extra["gclid"] = row["gclid"]
    if problems:
        extra["_invalid"] = problems
    if form := form_name(record.get("asset")):
        extra["form_name"] = form  # what classification's form_name rules read
    first, last = _names(answers)
    campaign = record.get("campaign") if isinstance(record.get("campaign"), Mapping) else {}
    return Lead(
        source=SOURCE,
        source_lead_id=key,
        account_id=context.account_id or customer_of(key) or "",
        created_at=submitted,
        updated_at=submitted,
        email=email,
        email_match_key=match_key,
        phone=phone,
        first_name=first,
        last_name=last,
        company=clean_text(answers.get("COMPANY_NAME")),
        job_title=clean_text(answers.get("JOB_TITLE")),
        country=country,
        city=clean_text(answers.get("CITY")),
        campaign_id=resource_id(row.get("campaign")),
        campaign_name=clean_text(campaign.get("name")),
        adset_id=resource_id(row.get("adGroup")),
        ad_id=resource_id(row.get("adGroupAd")),
        form_id=resource_id(row.get("asset")),
        is_test=False,
        is_organic=False if row.get("campaign") else None,
        custom_fields=extra,
        raw=dict(record),
    )


def micros_to_amount(value: object) -> Decimal:
    """``costMicros`` (an int64 sent as a string) -> the exact amount in currency units."""
    try:
        return Decimal(int(str(value if value is not None else "0"))).scaleb(-6)
    except (ValueError, InvalidOperation):
        raise ValueError(f"costMicros is not an integer: {describe(value)}") from None


def campaign_day(
    row: Mapping[str, Any], account: str, currency: str | None
) -> CampaignDay | Rejected:
    """One ``FROM campaign`` row segmented by ``segments.date`` -> a CampaignDay, or a
    Rejected naming the field and the problem (quarantined; the rest of the report loads)."""

    def part(name: str) -> Mapping[str, Any]:
        return row.get(name) or {}

    def campaign_id() -> object:
        campaign = part("campaign")
        return campaign.get("id") or resource_id(campaign.get("resourceName"))

    figures = {
        "campaign_id": ("campaign.id", campaign_id),
        "day": ("segments.date", lambda: iso_day(part("segments").get("date"))),
        "spend": (
            "metrics.costMicros",
            lambda: micros_to_amount(part("metrics").get("costMicros")),
        ),
        "impressions": ("metrics.impressions", lambda: part("metrics").get("impressions") or 0),
        "clicks": ("metrics.clicks", lambda: part("metrics").get("clicks") or 0),
    }
    campaign = row.get("campaign")
    name = clean_text(campaign.get("name")) if isinstance(campaign, Mapping) else None
    return read_campaign_day(SOURCE, account, row, figures, currency=currency, campaign_name=name)


def lead_query(lower: str | None) -> str:
    """The GAQL of one window, oldest first; sent unchanged with every page token."""
    # campaign and asset (the lead form) are attributed resources of
    # lead_form_submission_data: the campaign's name and the form's name and headline join in.
    fields = ", ".join(
        [*(f"lead_form_submission_data.{name}" for name in LEAD_FIELDS), "campaign.name",
         *ASSET_FIELDS]
    )  # fmt: skip
    where = f" WHERE {CURSOR_FIELD} >= '{lower}'" if lower else ""
    return f"SELECT {fields} FROM lead_form_submission_data{where} ORDER BY {CURSOR_FIELD} ASC"


def submitted_at(record: Mapping[str, Any]) -> datetime | None:
    """The submission time of a row in UTC, or None when it is unreadable."""
    try:
        return parse_submission_time(submission(record).get("submissionDateTime"))
    except ValueError:
        return None


def count_note(customer_id: str, reported: object, fetched: int) -> str | None:
    """A warning when Google's ``totalResultsCount`` differs from what was fetched."""
    if reported is None or int(str(reported)) == fetched:
        return None
    return (
        f"customer {customer_id}: Google reported {int(str(reported))} lead form submissions "
        f"for the window but {fetched} were fetched"
    )


def retention_note(
    customer_id: str,
    start: datetime | None,
    now: datetime,
    limit: int,
    resumed: bool = True,
    from_start_date: bool = False,
) -> str:
    """A warning when a window starts so long ago that Google may not have the leads.

    ``resumed``: the start came from a previous sync's watermark (the sync is stale);
    otherwise it is the configured ``start_date`` (``from_start_date``) or a backfill's.
    """
    age = (now - start) // timedelta(days=1) if start is not None else 0
    if age <= limit:
        return ""
    kept = "Google keeps lead form data only ~30 days (the API returns up to 60)"
    if resumed:
        return (
            f"last successful sync of customer {customer_id} is {age} days old; {kept}: "
            "older leads may be lost"
        )
    origin = "start_date is" if from_start_date else "the backfill starts"
    return (
        f"customer {customer_id}: {origin} {age} days back; {kept}, so leads older than "
        "that are not available"
    )


def failure_errors(body: Any) -> list[dict[str, Any]]:
    """The GoogleAdsError entries of an error body's GoogleAdsFailure details."""
    error = body.get("error") if isinstance(body, Mapping) else None
    details = error.get("details") if isinstance(error, Mapping) else None
    found = [e for d in details or () if isinstance(d, Mapping) for e in d.get("errors") or ()]
    return [e for e in found if isinstance(e, Mapping)]


def error_codes(failures: list[dict[str, Any]]) -> dict[str, str]:
    """``{"quotaError": "RESOURCE_EXHAUSTED", ...}`` from every error's ``errorCode``."""
    return {k: str(v) for e in failures for k, v in (e.get("errorCode") or {}).items()}


def retry_delay_seconds(failures: list[dict[str, Any]]) -> float | None:
    """``quotaErrorDetails.retryDelay`` (a protobuf Duration such as ``"30s"``) in seconds."""
    for failure in failures:
        quota = (failure.get("details") or {}).get("quotaErrorDetails") or {}
        raw = str(quota.get("retryDelay") or "").strip()
        if raw.endswith("s"):
            try:
                return float(raw[:-1])
            except ValueError:
                continue
    return None
