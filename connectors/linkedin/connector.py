"""LinkedIn Lead Sync (lead form responses) and ad analytics (daily campaign spend).

Docs followed:
- Lead Sync: https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync
  (``GET /rest/leadFormResponses?q=owner&owner=(...)&leadType=(leadType:...)``,
  ``limitedToTestLeads``, ``submittedAtTimeRange=(start:ms,end:ms)``, ``start``/``count``
  paging; ``GET /rest/leadForms/{id}``; leadTypes SPONSORED / COMPANY / EVENT /
  ORGANIZATION_PRODUCT) and its schema page .../lead-sync/lead-sync-schema
- Reporting: https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/ads-reporting
  (``q=analytics``, one pivot, ``dateRange``, ``accounts=List(urn)``, ``fields``; no paging)
- Accounts, campaigns: .../marketing/integrations/ads/account-structure/create-and-manage-accounts,
  .../create-and-manage-campaigns (``currency``; ``adCampaigns?q=search``, ``pageToken``)
- Rest.li 2.0: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version
- Versioning: https://learn.microsoft.com/en-us/linkedin/marketing/versioning (``LinkedIn-Version:
  YYYYMM``, monthly releases, each supported about a year)
- Limits and errors: see ``leadflow.connectors.linkedin.client``

Lead responses come back newest first (the order is not documented as a sort key), so a
partition (owner + lead type) commits its watermark only on its last page. The window's end
is fixed when a partition starts, which also keeps offset paging stable while leads arrive.
Paging (``start``/``count``, ``pageToken``) is ``leadflow.connectors.pagination``'s; retries
are the transport's, ``client.classify_error`` saying what each error means. A lead form that
cannot be read (404/403) fails neither the partition nor the owner's other forms: the page
that first met it carries a note naming the form and the status (``LinkedInClient.form``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from leadflow.connectors.base import Connector, Page, StartFor
from leadflow.connectors.http import PlatformSession, build_retry, register_secret
from leadflow.connectors.linkedin import restli
from leadflow.connectors.linkedin.client import LinkedInClient, best_effort
from leadflow.connectors.linkedin.config import LinkedInConfig
from leadflow.connectors.linkedin.fields import SOURCE, campaign_day, record_key, to_lead
from leadflow.connectors.pagination import Offset, paginate
from leadflow.models.records.contact import parse_timestamp
from leadflow.models.records.leads import Rejected
from leadflow.models.records.spend import CampaignDay

log = logging.getLogger(__name__)


def accounts(config: LinkedInConfig) -> list[str]:
    """Every lead owner: ``sponsoredAccount:<id>`` and ``organization:<id>``."""
    return [f"sponsoredAccount:{i}" for i in config.sponsored_account_ids] + [
        f"organization:{i}" for i in config.organization_ids
    ]


def spend_accounts(config: LinkedInConfig) -> list[str]:
    return list(config.sponsored_account_ids)


def open_session(config: LinkedInConfig) -> LinkedInClient:
    """A client sending the version and Rest.li 2.0 headers; the transport retries 429 and
    5xx (``client.classify_error``, which each call passes: it names what was asked)."""
    token = config.access_token.get_secret_value()
    register_secret(token)
    retry = build_retry(attempts=config.max_attempts, backoff_factor=config.backoff_seconds)
    session = PlatformSession(
        SOURCE, timeout=(config.connect_timeout_seconds, config.timeout_seconds), retry=retry
    )
    session.headers.update({
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": config.api_version,
        "X-Restli-Protocol-Version": "2.0.0",
        "Accept": "application/json",
    })  # fmt: skip
    return LinkedInClient(config, session)


def _submitted(record: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_timestamp(record.get("submittedAt"))
    except ValueError:
        return None


def pages(client: LinkedInClient, account: str, start_for: StartFor) -> Iterator[Page]:
    """Every lead of one owner: per lead type, real leads then (optionally) test leads.

    ``limitedToTestLeads=true`` returns only test leads; whether ``false`` includes them is
    not spelled out, so test leads get their own pass (and partition) and are never lost.
    """
    kind = account.partition(":")[0]
    lead_types = ["SPONSORED"] if kind == "sponsoredAccount" else client.config.lead_types
    numbers = itertools.count(1)
    for lead_type in lead_types:
        seen: set[str] = set()
        yield from _partition(client, account, lead_type, False, start_for, numbers, seen)
        if client.config.include_test_leads:
            yield from _partition(client, account, lead_type, True, start_for, numbers, seen)


def _partition(
    client: LinkedInClient, account: str, lead_type: str, test_only: bool,
    start_for: StartFor, numbers: Iterator[int], seen: set[str],
) -> Iterator[Page]:  # fmt: skip
    """Page one owner + lead type (+ test) window by start/count up to ``paging.total``."""
    partition = f"{account}/{lead_type}" + ("/test" if test_only else "")
    end = datetime.now(UTC)
    begin = min(start_for(partition) or end - timedelta(days=client.config.initial_days), end)
    fetched, newest, total = 0, None, None
    read = partial(client.lead_responses, account, lead_type, test_only, (begin, end))
    paging = Offset(
        _elements, _total, param="start", count_param="count", count=client.config.count
    )
    where = "GET /rest/leadFormResponses"
    for page in paginate(read, paging, source=SOURCE, where=where):
        elements, reported = _elements(page.reply), _total(page.reply)
        total = total if reported is None else reported
        fetched += len(elements)
        moments = [m for m in map(_submitted, elements) if m is not None]
        newest = max([*moments, newest] if newest else moments, default=None)
        records = _keep(client, elements, test_only, seen)
        notes = (*(_reconcile(partition, total, fetched) if page.last else ()),
                 *client.take_warnings())  # fmt: skip
        yield Page(records, newest if page.last else None, next(numbers), partition, notes)


def _elements(reply: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [e for e in reply.get("elements") or [] if isinstance(e, Mapping)]


def _total(reply: Mapping[str, Any]) -> int | None:
    """``paging.total``, when the reply says it (else the last one said holds)."""
    total = (reply.get("paging") or {}).get("total")
    return total if isinstance(total, int) else None


def _keep(client: LinkedInClient, elements: list[Mapping[str, Any]], test_only: bool,
          seen: set[str]) -> list[dict[str, Any]]:  # fmt: skip
    """Records to load, each with its form attached; a test lead already read is skipped."""
    records = []
    for element in elements:
        key = record_key(element)
        if key in seen or (element.get("testLead") and not client.config.include_test_leads):
            continue
        if key is not None and not test_only:
            seen.add(key)
        form_id = restli.form_id_of(element.get("versionedLeadGenFormUrn"))
        form = element.get("form") or (client.form(form_id) if form_id else None)
        records.append({**element, "form": form} if form else dict(element))
    return records


def _reconcile(partition: str, total: object, fetched: int) -> tuple[str, ...]:
    if isinstance(total, int) and total != fetched:
        return (f"linkedin {partition}: LinkedIn reported {total} responses, fetched {fetched}",)
    return ()


def spend(
    client: LinkedInClient, account_id: str, first_day: date, last_day: date
) -> Iterator[list[CampaignDay | Rejected]]:
    """Daily spend per campaign in the ad account's currency, a chunk of days at a time; an
    element that cannot load (no campaign, no day, a negative cost...) is a Rejected."""
    campaigns = best_effort(lambda: client.campaigns(account_id), "campaign names") or []
    names = {str(c.get("id")): str(c.get("name")) for c in campaigns if c.get("name")}
    currency = client.currency(account_id, campaigns)
    step = timedelta(days=client.config.spend_chunk_days)
    chunk = first_day
    while chunk <= last_day:
        chunk_last = min(chunk + step - timedelta(days=1), last_day)
        elements = client.ad_analytics(account_id, chunk, chunk_last)
        rows = [e if isinstance(e, Mapping) else {"element": e} for e in elements]
        if rows:
            yield [campaign_day(e, account_id, currency, names) for e in rows]
        chunk = chunk_last + timedelta(days=1)


CONNECTOR = Connector(
    name=SOURCE,
    config_class=LinkedInConfig,
    open=open_session,
    accounts=accounts,
    pages=pages,
    to_lead=to_lead,
    record_key=record_key,
    doc_url="https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync",
    spend_accounts=spend_accounts,
    spend=spend,
)
