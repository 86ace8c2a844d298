"""The built-in sandbox platforms, started together, and a configuration that points at them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.files.samples import GENERIC_MAPPING, write_samples
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import google_ads_dataset
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset
from leadflow.sandbox.mailchimp.app import MailchimpSandbox
from leadflow.sandbox.mailchimp.data import mailchimp_dataset
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from leadflow.sandbox.salesforce.app import CLIENT_ID as SALESFORCE_CLIENT_ID
from leadflow.sandbox.salesforce.app import SalesforceSandbox
from leadflow.sandbox.salesforce.keys import shared_key_pair
from leadflow.sandbox.weather import forecast

# Sandbox credentials: not secrets, but passed through ${ENV} like real ones would be.
TOKENS = {
    "LEADFLOW_DEMO_HUBSPOT_TOKEN": "sandbox-hubspot-token",
    "LEADFLOW_DEMO_META_TOKEN": "sandbox-meta-token",
    "LEADFLOW_DEMO_GOOGLE_TOKEN": "sandbox-google-token",
    "LEADFLOW_DEMO_GOOGLE_DEVELOPER_TOKEN": "sandbox-dev-token",
    "LEADFLOW_DEMO_LINKEDIN_TOKEN": "sandbox-linkedin-token",
    "LEADFLOW_DEMO_MAILCHIMP_KEY": "sandbox-key-us21",
}

CONFIG = """\
# Written by `leadflow demo`: the sandbox platforms on 127.0.0.1, an SQLite warehouse.
warehouse_url: {warehouse_url}
timezone: America/New_York
default_region: US
privacy:
  # Salt of the email/phone hashes (BI email_hash, forget's suppression list).
  hash_salt: ${{LEADFLOW_HASH_SALT:-leadflow-demo-salt-not-a-secret}}
sla:
  # The sandbox's reps are slow on purpose: with the first-touch rule critical (as
  # `leadflow demo` makes it) the run ends Failed on its breaches, after loading
  # everything, and names the rule.
  calendar: {{country: US}}
  teams:
    Outbound AE: {{timezone: Europe/Berlin, country: DE, subdivision: BE}}
  rules:
    first_touch: {{business_minutes: 60, severity: {first_touch_severity}}}
    qualified_volume: {{per_period: 400, per_team: {{Inbound SDR: 250, Outbound AE: 250}}}}
writeback:
  # SLA breaches become tasks in the sandbox HubSpot (leadflow writeback; the last step of
  # speed-to-lead). The sandbox allows 100 requests per 10 s, as HubSpot's Starter does.
  enabled: true
  max_writes_per_run: 100
  lookback_days: 365  # the sandbox's breaches go back months (the default is 7 days)
sources:
  hubspot:
    base_url: {hubspot}
    access_token: ${{LEADFLOW_DEMO_HUBSPOT_TOKEN}}
    portal_id: "sandbox-portal"
    start_date: 2026-01-01T00:00:00Z
  meta:
    base_url: {meta}
    access_token: ${{LEADFLOW_DEMO_META_TOKEN}}
    page_ids: [{meta_pages}]
    ad_account_ids: [{meta_accounts}]
  google_ads:
    base_url: {google}
    access_token: ${{LEADFLOW_DEMO_GOOGLE_TOKEN}}
    developer_token: ${{LEADFLOW_DEMO_GOOGLE_DEVELOPER_TOKEN}}
    login_customer_id: "{google_manager}"
    customer_ids: [{google_managed}]
  google_ads_uk:
    # An account outside the manager: a second source of the same type, no login id.
    type: google_ads
    base_url: {google}
    access_token: ${{LEADFLOW_DEMO_GOOGLE_TOKEN}}
    developer_token: ${{LEADFLOW_DEMO_GOOGLE_DEVELOPER_TOKEN}}
    customer_ids: ["{google_direct}"]
  linkedin:
    base_url: {linkedin}
    access_token: ${{LEADFLOW_DEMO_LINKEDIN_TOKEN}}
    sponsored_account_ids: [{linkedin_accounts}]
    organization_ids: ["{linkedin_org}"]
  mailchimp:
    # No list_ids: every audience of the account is synced.
    base_url: {mailchimp}
    api_key: ${{LEADFLOW_DEMO_MAILCHIMP_KEY}}
{mailchimp_paging}"""
# With weather, each platform's lead stream needs a later page for its faults to land on.
WEATHER_PAGING = """\
    # Pages of 200 members (not 1,000): the sandbox's faults wait on a later page.
    page_size: 200
"""

CSV_IMPORTS = """\
# Lead export files imported by every sync (here: samples written by the demo).
csv_imports:
  - path: "{meta}"
    source: meta
  - path: "{linkedin}"
    source: linkedin
  - path: "{generic}"
    source: crm_csv
    mapping: crm_export_de
csv_mappings:
  crm_export_de: {mapping}
"""

SALESFORCE_LEADS = 600
SALESFORCE = """\
  salesforce:
    # Salesforce through the JWT bearer flow: the connected app's consumer key, the
    # integration user, the app certificate's private key (here: the sandbox's, a file).
    base_url: {url}
    client_id: "{client_id}"
    username: "{username}"
    private_key: {key_file}
"""

GOOGLE_MANAGER = "4440001111"
GOOGLE_DIRECT = "7770004321"


@dataclass(frozen=True)
class Sandboxes:
    """The running sandbox servers."""

    hubspot: HubSpotSandbox
    meta: MetaSandbox
    google: GoogleAdsSandbox
    linkedin: LinkedInSandbox
    mailchimp: MailchimpSandbox
    weather: bool = False  # faults queued on a later lead page of each (``with_weather``)
    salesforce: SalesforceSandbox | None = None

    def platforms(self) -> dict[str, Any]:
        """Each platform's sandbox, by source type."""
        return {"hubspot": self.hubspot, "meta": self.meta, "google_ads": self.google,
                "linkedin": self.linkedin, "mailchimp": self.mailchimp}  # fmt: skip

    def with_weather(self) -> Sandboxes:
        """Queue on every platform, once, a truncated body and a mid-body disconnect on a
        later page of its lead stream (``leadflow.sandbox.weather``); the sync retries both."""
        for platform, box in self.platforms().items():
            forecast(box, platform)
        return replace(self, weather=True)

    def urls(self) -> dict[str, str]:
        return {
            "hubspot": self.hubspot.base_url,
            "meta": self.meta.base_url,
            "google_ads": self.google.base_url,
            "linkedin": self.linkedin.base_url,
            "mailchimp": self.mailchimp.base_url,
        } | ({"salesforce": self.salesforce.url} if self.salesforce else {})


@contextmanager
def running_sandboxes(
    contacts: int = 2500, port: int = 0, *, weather: bool = False
) -> Iterator[Sandboxes]:
    """Start every sandbox platform (HubSpot on ``port``, the rest on free ports); with
    ``weather`` (``leadflow demo``), a truncated body and a mid-body disconnect wait on a later
    page of each platform's lead stream (``Sandboxes.with_weather``)."""
    with ExitStack() as stack:
        boxes = Sandboxes(
            hubspot=stack.enter_context(
                HubSpotSandbox(
                    hubspot_contacts(contacts),
                    token=TOKENS["LEADFLOW_DEMO_HUBSPOT_TOKEN"],
                    port=port,
                )
            ),
            meta=stack.enter_context(MetaSandbox(meta_dataset())),
            google=stack.enter_context(GoogleAdsSandbox(google_ads_dataset())),
            linkedin=stack.enter_context(LinkedInSandbox(linkedin_dataset())),
            mailchimp=stack.enter_context(MailchimpSandbox(mailchimp_dataset())),
            salesforce=stack.enter_context(SalesforceSandbox(SALESFORCE_LEADS)),
        )
        yield boxes.with_weather() if weather else boxes


def _quoted(values: list[object]) -> str:
    return ", ".join(f'"{value}"' for value in values)


def csv_imports_config(folder: Path) -> str:
    """Sample lead exports written to ``folder`` and the config that imports them nightly."""
    paths = write_samples(folder)
    return CSV_IMPORTS.format(
        meta=paths["meta"].resolve(),
        linkedin=paths["linkedin"].resolve(),
        generic=paths["generic"].resolve(),
        mapping=json.dumps(GENERIC_MAPPING),
    )


def write_salesforce_key(path: Path) -> Path:
    """The Salesforce sandbox's private key (its connected app's certificate's), written to
    ``path`` for the configuration's ``private_key``: a sandbox key, not a secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(shared_key_pair().private_pem, encoding="utf-8")
    path.chmod(0o600)
    return path.resolve()


def demo_config(
    boxes: Sandboxes,
    warehouse_url: str,
    samples: Path | None = None,
    first_touch_severity: str = "warning",
    salesforce_key: Path | None = None,
) -> str:
    """A configuration file's text that syncs every sandbox platform into the warehouse,
    and imports sample lead export files written to ``samples`` when given. ``leadflow
    demo`` makes the first-touch SLA rule critical, to show a breach failing the run. The
    Salesforce sandbox is synced when ``salesforce_key`` (its key file) is given."""
    meta, google, linkedin = boxes.meta.dataset, boxes.google.dataset, boxes.linkedin.dataset
    managed = [c for c in google.client_ids() if c != GOOGLE_DIRECT]
    imports = csv_imports_config(samples) if samples is not None else ""
    return (
        CONFIG.format(
            warehouse_url=warehouse_url,
            hubspot=boxes.hubspot.base_url,
            meta=boxes.meta.base_url,
            meta_pages=_quoted([page.id for page in meta.pages]),
            meta_accounts=_quoted([account.id for account in meta.ad_accounts]),
            google=boxes.google.base_url,
            google_manager=GOOGLE_MANAGER,
            google_managed=_quoted(managed),
            google_direct=GOOGLE_DIRECT,
            linkedin=boxes.linkedin.base_url,
            linkedin_accounts=_quoted([account["id"] for account in linkedin.accounts]),
            linkedin_org=linkedin.organization["id"],
            mailchimp=boxes.mailchimp.base_url,
            mailchimp_paging=WEATHER_PAGING if boxes.weather else "",
            first_touch_severity=first_touch_severity,
        )
        + _salesforce(boxes, salesforce_key)
        + imports
    )


def _salesforce(boxes: Sandboxes, key: Path | None) -> str:
    if boxes.salesforce is None or key is None:
        return ""
    sf = boxes.salesforce
    return SALESFORCE.format(
        url=sf.url, client_id=SALESFORCE_CLIENT_ID, username=sf.username, key_file=key
    )
