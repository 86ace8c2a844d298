"""Meta (Facebook/Instagram) Lead Ads and Ads Insights, through the Graph API.

Docs followed:
- Retrieving leads: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving
  (bulk read ``GET /{form_id}/leads``; ``filtering`` on ``time_created`` with GREATER_THAN and
  a Unix timestamp; organic leads carry no ad, ad set or campaign ids; ask for ``fields``)
- Lead forms of a Page: ``GET /{page_id}/leadgen_forms`` (``leads_count``,
  ``expired_leads_count``: Meta keeps leads 90 days)
- A form's questions: ``GET /{form_id}?fields=questions``, LeadGenQuestion ``{key, label, type}``
  (https://developers.facebook.com/docs/marketing-api/guides/lead-ads/create; the Business SDK's
  ``leadgenquestion.py``); ``field_data`` names are the question keys, localized with the form's
  ``locale`` for predefined questions, so ``type`` says which column an answer fills
- Insights: https://developers.facebook.com/docs/marketing-api/insights (``GET
  /act_{id}/insights`` with ``level``, ``time_increment``, ``time_range``; metrics are decimal
  strings; days in the ad account's time zone)
- Errors, throttling and paging: see ``leadflow.connectors.meta.graph``.

Enumeration is Page -> every lead form -> every lead, never through ads, so organic leads are
read too. Each form is its own partition (``{page_id}:{form_id}``). The docs promise no order
for a form's leads, so a form's pages carry no cursor until its last page, which carries the
latest ``created_time`` seen: a run killed mid-form re-reads that form from its old watermark.
Each lead record gets its form (id, name, ``tracking_parameters``, ``question_types`` = {question
key: type}) under ``leadflow_form``: Meta sets tracking parameters (utm_*) and question types on
the form, and ``to_lead`` only sees the record. Questions are read once per form per run (one
request each, cached on the client); when they cannot be read (a permission refused, a rejected
or failing request) that form's answers are mapped by key spelling alone and its first page says
so in a note; an expired token or a throttle still stops the run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from leadflow.connectors.base import Connector, Page, StartFor
from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    MissingScope,
    RateLimited,
)
from leadflow.connectors.http import PlatformSession, build_retry, register_secret
from leadflow.connectors.meta.config import MetaConfig
from leadflow.connectors.meta.fields import FORM_KEY, SOURCE, record_key, to_lead
from leadflow.connectors.meta.graph import MetaClient, classify_error
from leadflow.models.records.contact import parse_timestamp
from leadflow.models.records.leads import Rejected
from leadflow.models.records.spend import CampaignDay, iso_day, read_campaign_day

log = logging.getLogger(__name__)

# The default field set of a lead lacks the ad/campaign/form ids and is_organic: always ask.
LEAD_FIELDS = (
    "id,created_time,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,form_id,"
    "field_data,is_organic,platform,custom_disclaimer_responses,partner_name"
)
FORM_FIELDS = (
    "id,name,status,locale,created_time,leads_count,expired_leads_count,tracking_parameters"
)
INSIGHT_FIELDS = "campaign_id,campaign_name,spend,impressions,clicks,date_start,date_stop"


def accounts(config: MetaConfig) -> list[str]:
    """Each Facebook Page is a lead account."""
    return list(config.page_ids)


def spend_accounts(config: MetaConfig) -> list[str]:
    """Each ad account (bare id, no ``act_``) is a spend account."""
    return list(config.ad_account_ids)


def open_session(config: MetaConfig) -> MetaClient:
    """A Graph API client; the token travels in the Authorization header, not the URL.

    ``max_attempts`` requests at most per call, whatever the failure; a throttle whose
    estimate exceeds ``max_throttle_wait_seconds`` fails at once."""
    retry = build_retry(attempts=config.max_attempts, backoff_factor=config.backoff_seconds)
    session = PlatformSession(
        SOURCE,
        timeout=(config.connect_timeout_seconds, config.timeout_seconds),
        retry=retry,
        classify=classify_error,
        max_wait=config.max_throttle_wait_seconds,
    )
    token = config.access_token.get_secret_value()
    register_secret(token)
    session.headers["Authorization"] = f"Bearer {token}"
    return MetaClient(config, session)


def _forms(client: MetaClient, page_id: str) -> list[dict[str, Any]]:
    """Every lead form of a Page (active, archived or otherwise), all pages of them."""
    params = {"fields": FORM_FIELDS, "limit": client.config.page_size}
    forms: list[dict[str, Any]] = []
    for body, _last in client.edge(f"{page_id}/leadgen_forms", params):
        forms.extend(form for form in body.get("data") or [] if form.get("id"))
    return forms


def _question_types(client: MetaClient, form_id: str) -> dict[str, str] | str:
    """The form's questions as {key: type}, asked once per client (one run), or why not."""
    if form_id not in client.questions:
        try:
            node = client.get(form_id, {"fields": "questions"})
        except (RateLimited, AuthError) as error:
            if not isinstance(error, MissingScope):
                raise  # a throttle or a dead token stops the leads too: say so now
            client.questions[form_id] = str(error)
        except ConnectorError as error:
            client.questions[form_id] = str(error)
        else:
            questions = node.get("questions")
            client.questions[form_id] = {
                str(q["key"]): str(q.get("type") or "CUSTOM")
                for q in (questions if isinstance(questions, list) else [])
                if isinstance(q, Mapping) and q.get("key")
            }
    return client.questions[form_id]


def _created(record: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_timestamp(record.get("created_time"))
    except ValueError:
        return None


def _lead_params(client: MetaClient, start: datetime | None) -> dict[str, Any]:
    params: dict[str, Any] = {"fields": LEAD_FIELDS, "limit": client.config.page_size}
    if start is not None:
        # GREATER_THAN is strict and counts whole seconds: step one second back.
        after = int(start.timestamp()) - 1
        rule = [{"field": "time_created", "operator": "GREATER_THAN", "value": after}]
        params["filtering"] = json.dumps(rule, separators=(",", ":"))
    return params


def _reconcile(form: Mapping[str, Any], fetched: int) -> tuple[str, ...]:
    """On a full read, the form's own count (minus expired leads) should match."""
    count = form.get("leads_count")
    if not isinstance(count, int):
        return ()
    expired = form.get("expired_leads_count")
    expected = count - (expired if isinstance(expired, int) else 0)
    if expected == fetched:
        return ()
    return (
        f"meta form {form['id']} ({form.get('name', '?')}): Meta reports {expected} readable "
        f"leads ({count} in all, {expired or 0} expired) but {fetched} were fetched",
    )


def _form_pages(
    client: MetaClient, page_id: str, form: Mapping[str, Any], start: datetime | None
) -> Iterator[Page]:
    partition = f"{page_id}:{form['id']}"
    about = {key: form.get(key) for key in ("id", "name", "tracking_parameters")}
    types = _question_types(client, str(form["id"]))
    unread: tuple[str, ...] = ()
    if isinstance(types, str):
        log.warning("meta form %s: questions unreadable, mapping by key spelling", form["id"])
        unread = (
            f"meta form {form['id']} ({form.get('name', '?')}): its questions could not be read "
            f"({types}); its answers were mapped by key spelling only",
        )
    else:
        about["question_types"] = types
    latest: datetime | None = None
    fetched = 0
    bodies = client.edge(f"{form['id']}/leads", _lead_params(client, start))
    for number, (body, last) in enumerate(bodies, start=1):
        records = [{**r, FORM_KEY: about} for r in body.get("data") or [] if isinstance(r, dict)]
        fetched += len(records)
        latest = max(filter(None, [latest, *map(_created, records)]), default=None)
        notes = _reconcile(form, fetched) if last and start is None else ()
        notes = (unread if number == 1 else ()) + notes
        yield Page(records, latest if last else None, number, partition, notes)


def pages(client: MetaClient, page_id: str, start_for: StartFor) -> Iterator[Page]:
    """Every lead of every form of one Page created at or after its form's start."""
    forms = _forms(client, page_id)
    log.info("meta: page %s has %d lead forms", page_id, len(forms))
    for form in forms:
        yield from _form_pages(client, page_id, form, start_for(f"{page_id}:{form['id']}"))


def _currency(client: MetaClient, account: str) -> str | None:
    """The ad account's currency, asked once per client."""
    if account not in client.currencies:
        node = client.get(f"act_{account}", {"fields": "currency"})
        client.currencies[account] = node.get("currency") or None
    return client.currencies[account]


def _campaign_day(
    account: str, currency: str | None, row: Mapping[str, Any]
) -> CampaignDay | Rejected:
    """One AdsInsights row (level campaign, one day per row): a CampaignDay, or a Rejected
    naming the field and the problem (quarantined; the rest of the report loads)."""
    figures = {
        "campaign_id": ("campaign_id", lambda: row.get("campaign_id")),
        "day": ("date_start", lambda: iso_day(row.get("date_start"))),
        "spend": ("spend", lambda: row.get("spend") or "0"),
        "impressions": ("impressions", lambda: row.get("impressions") or 0),
        "clicks": ("clicks", lambda: row.get("clicks") or 0),
    }
    name = row.get("campaign_name")
    return read_campaign_day(
        SOURCE, account, row, figures, currency=currency,
        campaign_name=name if isinstance(name, str) else None,
    )  # fmt: skip


def spend(
    client: MetaClient, account: str, first_day: date, last_day: date
) -> Iterator[list[CampaignDay | Rejected]]:
    """Daily spend per campaign of one ad account, one batch per page of insights; a row
    that cannot load is a Rejected in its place."""
    currency = _currency(client, account)
    params = {
        "level": "campaign",
        "time_increment": 1,
        "fields": INSIGHT_FIELDS,
        "time_range": json.dumps({"since": first_day.isoformat(), "until": last_day.isoformat()}),
        "limit": client.config.page_size,
    }
    for body, _last in client.edge(f"act_{account}/insights", params):
        rows = [row if isinstance(row, Mapping) else {"row": row} for row in body.get("data") or []]
        yield [_campaign_day(account, currency, row) for row in rows]


CONNECTOR = Connector(
    name=SOURCE,
    config_class=MetaConfig,
    open=open_session,
    accounts=accounts,
    pages=pages,
    to_lead=to_lead,
    record_key=record_key,
    doc_url="https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving",
    spend_accounts=spend_accounts,
    spend=spend,
)
