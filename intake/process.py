"""Loading the inbox: each stored notification becomes a lead in ``leads``.

Runs after the acknowledgement, in the intake's loader process (``load_forever``, started by
``leadflow.intake.worker``), or once from anywhere (``process_inbox``). Per platform:

- Google Ads: the body is the lead; it is mapped by the poll's Google mapping
  (``connectors/google_ads/webhook.py``) under the configured customer. With
  ``intake.google_ads.source`` set, its form's name is read through that source first (once
  per form per process); a failed read loads the lead without it (the poll adds it).
- Meta, LinkedIn: the notification names the lead; it is fetched by id through the
  connector (the source ``intake.<platform>.source`` names, with its token) and mapped by the
  connector's own ``to_lead`` under the account the poll uses (the Page; the owner).

Leads load with ``models/loading/inbox.load_leads``: the poll's natural key and hash, so the
nightly poll finds the webhook's copy and adds no second one. A record that cannot be mapped
is quarantined as the poll would (the row is done). A lead that cannot be fetched yet (an
error, a timeout) leaves its row pending with one more attempt, retried after a doubling
delay, and failed after ``intake.max_attempts``. Fetching happens outside any transaction;
each platform's batch loads and marks its rows in one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from leadflow.config.settings import Settings
from leadflow.connectors.base import LeadContext
from leadflow.connectors.errors import ConnectorError
from leadflow.connectors.google_ads import webhook as google
from leadflow.connectors.google_ads.connector import CONNECTOR as GOOGLE
from leadflow.connectors.linkedin import webhook as linkedin
from leadflow.connectors.linkedin.connector import CONNECTOR as LINKEDIN
from leadflow.connectors.meta import webhook as meta
from leadflow.connectors.meta.connector import CONNECTOR as META
from leadflow.intake.settle import settle
from leadflow.models.loading.inbox import (
    InboxRow,
    due,
    load_leads,
    mark_loaded,
    mark_retry,
    prune_bodies,
)
from leadflow.models.privacy.suppression import drop_suppressed
from leadflow.models.records.leads import InvalidRecord, Lead, Rejected, check_created
from leadflow.models.warehouse.engine import write_transaction

log = logging.getLogger(__name__)
Clients = dict[str, Any]
SETTLE_EVERY = 5  # batches (of 200 rows) loaded between two settle passes under load


@dataclass
class Outcome:
    """What one batch of one platform came to."""

    leads: list[Lead] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    def reject(self, row: InboxRow, error: InvalidRecord, raw: Any) -> None:
        account = row.account_id or ""
        self.rejected.append(
            Rejected.from_error(error, account, raw if isinstance(raw, dict) else {})
        )
        self.done.append(row.notification_id)


def _google(
    settings: Settings, rows: Sequence[InboxRow], clients: Clients, now: datetime
) -> Outcome:
    section = settings.intake.google_ads
    out = Outcome()
    for row in rows:
        if section is None:
            out.failures[row.notification_id] = "no intake.google_ads section configured"
            continue
        customer = row.account_id or section.customer_id
        try:
            asset = _google_form(settings, customer, row.body, clients)
            lead = google.to_webhook_lead(
                row.body, customer, row.received_at, settings.default_region, asset
            )
            lead = check_created(lead, now)
        except InvalidRecord as error:
            out.reject(row, error, row.body)
            continue
        out.leads.append(lead)
        out.done.append(row.notification_id)
    return out


def _google_form(
    settings: Settings, customer: str, body: dict[str, Any], clients: Clients
) -> dict[str, Any] | None:
    """The body's lead form asset, read through ``intake.google_ads.source``; None without a
    source, or when the read fails (logged; the lead loads without a form name)."""
    section = settings.intake.google_ads
    if section is None or section.source is None:
        return None
    try:
        return google.form_asset(_client(settings, "google_ads", clients), customer, body)
    except (LookupError, ConnectorError, ValueError, OSError) as error:
        log.warning("intake: google_ads: the form's name could not be read (%s): the lead "
                    "loads without it", type(error).__name__)  # fmt: skip
        return None


def _client(settings: Settings, platform: str, clients: Clients) -> Any:
    """The platform's connector client, opened once per ``process_inbox`` call."""
    if platform not in clients:
        section = getattr(settings.intake, platform)
        name = section.source if section is not None else platform
        config = settings.sources.get(name)
        if config is None or config.type != platform:
            raise LookupError(f"no {platform} source named {name!r} under sources:")
        connector = {"meta": META, "google_ads": GOOGLE}.get(platform, LINKEDIN)
        clients[platform] = connector.open(config)
    return clients[platform]


def _fetched(
    settings: Settings, platform: str, rows: Sequence[InboxRow], clients: Clients, now: datetime
) -> Outcome:
    """Meta and LinkedIn: fetch each lead by id, then map it with the connector."""
    out = Outcome()
    try:
        client = _client(settings, platform, clients)
    except LookupError as error:
        out.failures = {row.notification_id: str(error) for row in rows}
        return out
    connector = META if platform == "meta" else LINKEDIN
    for row in rows:
        try:
            if platform == "meta":
                record = meta.fetch_lead(client, row.notification_id, row.body.get("form_id"))
            else:
                record = linkedin.fetch_lead(client, row.notification_id)
        except (ConnectorError, ValueError, OSError) as error:
            out.failures[row.notification_id] = f"fetch failed: {type(error).__name__}: {error}"
            continue
        account = row.account_id or linkedin.owner_account(record) or ""
        context = LeadContext(platform, account, settings.default_region)
        try:
            out.leads.append(check_created(connector.to_lead(record, context), now))
        except InvalidRecord as error:
            out.reject(row, error, record)
            continue
        out.done.append(row.notification_id)
    return out


PLATFORMS: dict[str, Callable[..., Outcome]] = {
    "google_ads": _google,
    "meta": lambda s, rows, c, now: _fetched(s, "meta", rows, c, now),
    "linkedin": lambda s, rows, c, now: _fetched(s, "linkedin", rows, c, now),
}


def process_batch(
    engine: Engine, settings: Settings, now: datetime, clients: Clients, limit: int = 200
) -> int:
    """Load one batch of due rows; returns how many rows it handled (0: nothing due)."""
    with engine.connect() as conn:
        rows = due(conn, now, limit=limit)
    by_platform: dict[str, list[InboxRow]] = {}
    for row in rows:
        by_platform.setdefault(row.platform, []).append(row)
    intake = settings.intake
    for platform, batch in sorted(by_platform.items()):
        handle = PLATFORMS.get(platform)
        if handle is None:
            out = Outcome(
                failures={r.notification_id: f"unknown platform {platform}" for r in batch}
            )
        else:
            out = handle(settings, batch, clients, now)
        with write_transaction(engine) as conn:
            # Leads are stamped once the write lock is held (SQLite: after a people pass that
            # held it), so the stamp is later than the fact watermark of a pass that did not
            # see them, and the next pass picks them up.
            stamp = max(now, datetime.now(UTC))
            leads, rejected, _ = drop_suppressed(
                conn, settings.privacy.salt(), out.leads, out.rejected, settings.default_region
            )  # an erased person's lead is not loaded again (the row is done all the same)
            load_leads(conn, platform, leads, rejected, stamp)
            mark_loaded(conn, platform, out.done, now)
            if platform == "google_ads":  # the answers now live in leads (or quarantine)
                bodies = {r.notification_id: r.body for r in batch}
                done = {key: google.without_answers(bodies[key]) for key in out.done}
                prune_bodies(conn, platform, done)
            mark_retry(conn, platform, out.failures, now, max_attempts=intake.max_attempts,
                       base_seconds=intake.retry_base_seconds)  # fmt: skip
        if out.failures:
            log.warning("intake: %s: %d leads not loaded yet, retried later", platform,
                        len(out.failures))  # fmt: skip
        log.info("intake: %s: %d leads loaded, %d quarantined", platform,
                 len(out.leads), len(out.rejected))  # fmt: skip
    return len(rows)


def process_inbox(
    engine: Engine, settings: Settings, now: datetime | None = None, *, max_batches: int = 50
) -> int:
    """Load every due row (in batches); returns how many rows were handled."""
    handled = 0
    with ExitStack() as stack:
        clients: Clients = {}
        stack.callback(lambda: [client.close() for client in clients.values()])
        for _ in range(max_batches):
            count = process_batch(engine, settings, now or datetime.now(UTC), clients)
            handled += count
            if count == 0:
                break
    return handled


def load_forever(
    engine: Engine, settings: Settings, wake: Any, running: Callable[[], bool]
) -> None:
    """Load the inbox while ``running()``: at once when ``wake`` (``worker.PipeWake``, which
    the app writes to after each commit) says so, else every ``poll_seconds`` (retries come
    due); after each
    pass of up to ``SETTLE_EVERY`` batches that handled rows, classify and evaluate who
    changed (``settle``: skipped while another run classifies, then tried on the next turn),
    and go on without waiting while rows keep coming. A failing pass is logged and the loop
    goes on; its rows stay pending."""
    unsettled = True  # a previous process may have loaded rows and stopped before settling
    busy = False
    while running():
        wake.wait(0 if busy else settings.intake.poll_seconds)  # busy: only drain it
        if not running():
            return
        try:
            handled = process_inbox(engine, settings, max_batches=SETTLE_EVERY)
            if handled or unsettled:
                unsettled = settle(engine, settings) is None
            busy = handled > 0
        except Exception as error:  # the loop must outlive a bad pass; the rows stay pending
            unsettled, busy = True, False
            log.error("intake: processing the inbox failed: %s", type(error).__name__)
