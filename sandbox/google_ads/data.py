"""Deterministic Google Ads accounts, campaigns, spend and lead form submissions.

Everything comes from ``random.Random(seed)`` and is anchored at
``leadflow.sandbox.data.DEFAULT_ANCHOR``. People come from the shared pool
(:func:`leadflow.sandbox.people.draw`), so the same humans also submit leads on the other platforms.

Accounts have different time zones, as real Google Ads accounts do: reports and lead times are in
the ACCOUNT's zone (https://developers.google.com/google-ads/api/docs/query/date-ranges):

* ``4440001111`` manager (MCC), America/New_York; it manages the LA, Kolkata and Auckland
  clients. Metrics cannot be queried on it.
* ``1234567890`` America/Los_Angeles (UTC-8 in Nov, DST ended 2026-11-01), USD, direct access.
* ``5550001234`` Asia/Kolkata (UTC+5:30), INR, reachable only through the manager.
* ``7770004321`` Europe/London (UTC+0 in Nov), GBP, direct access only (not under the MCC).
* ``8880005678`` Pacific/Auckland (UTC+13 in Nov), NZD, reachable only through the manager.

``submission_date_time`` is ``"yyyy-mm-dd hh:mm:ss+|-hh:mm"`` in the account's zone
(https://developers.google.com/google-ads/api/reference/rpc/v24/LeadFormSubmissionData). Some
submissions sit on purpose at local midnight, one second before it, at UTC midnight and one second
before it, and (LA) on both sides of the DST fold: ``edge`` names them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.sandbox import abroad
from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.google_ads.gaql import format_date_time
from leadflow.sandbox.people import Person, draw

LEAD_WINDOW = timedelta(days=60)
METRIC_DAYS = 90
POOL_SIZE = 300
GCLID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
CPC_SCALE = {"USD": 1.0, "INR": 80.0, "GBP": 0.8, "NZD": 1.7}


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    time_zone: str
    currency_code: str
    manager: bool = False
    direct: bool = True  # the OAuth user has direct access
    managers: tuple[str, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


MANAGER_ID = "4440001111"
CUSTOMERS = (
    Customer(MANAGER_ID, "Leadflow Agency MCC", "America/New_York", "USD", manager=True),
    Customer("1234567890", "Northwind Traders US", "America/Los_Angeles", "USD",
             managers=(MANAGER_ID,)),
    Customer("5550001234", "Contoso India", "Asia/Kolkata", "INR", direct=False,
             managers=(MANAGER_ID,)),
    Customer("7770004321", "Fabrikam UK", "Europe/London", "GBP"),
    Customer("8880005678", "Tailspin NZ", "Pacific/Auckland", "NZD", direct=False,
             managers=(MANAGER_ID,)),
)  # fmt: skip
CLIENT_WEIGHTS = {"1234567890": 40, "5550001234": 25, "7770004321": 15, "8880005678": 20}
FORMS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "contact": (
        ("FULL_NAME", "EMAIL", "PHONE_NUMBER", "POSTAL_CODE", "CITY", "COUNTRY"),
        (("What service are you interested in?", ("Lead routing", "CRM sync", "Reporting")),),
    ),
    "b2b": (
        ("FIRST_NAME", "LAST_NAME", "WORK_EMAIL", "PHONE_NUMBER", "COMPANY_NAME", "JOB_TITLE",
         "COUNTRY"),
        (("How many employees does your company have?", ("1-10", "11-50", "51-200", "201+")),
         ("When do you plan to buy?", ("This month", "This quarter", "Just researching"))),
    ),
}  # fmt: skip
CAMPAIGNS = (("Lead Gen - Search", "contact", "ENABLED"), ("B2B Demo Requests", "b2b", "ENABLED"),
             ("Brand - Summer (paused)", "contact", "PAUSED"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Campaign:
    customer_id: str
    id: str
    name: str
    status: str
    form: str
    asset_id: str
    ad_groups: tuple[tuple[str, str, str], ...]  # (ad group id, name, ad id)

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/campaigns/{self.id}"


@dataclass(frozen=True, slots=True)
class Submission:
    customer_id: str
    id: str
    campaign_id: str
    ad_group_id: str
    ad_id: str
    asset_id: str
    submitted_at: datetime  # aware, UTC
    fields: tuple[tuple[str, str], ...]  # (LeadFormFieldUserInputType, value)
    custom: tuple[tuple[str, str], ...] = ()  # (question text, answer)
    gclid: str | None = None
    person_index: int | None = None
    edge: str | None = None

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/leadFormSubmissionData/{self.id}"


@dataclass(frozen=True, slots=True)
class DailyMetrics:
    customer_id: str
    campaign_id: str
    date: date  # in the account's time zone
    cost_micros: int
    clicks: int
    impressions: int


@dataclass
class GoogleAdsDataset:
    anchor: datetime
    customers: dict[str, Customer]
    campaigns: list[Campaign]
    metrics: list[DailyMetrics]
    _submissions: list[Submission] = field(default_factory=list)

    # -- ground truth --------------------------------------------------------------------------
    def customer(self, customer_id: str) -> Customer:
        return self.customers[customer_id]

    def client_ids(self) -> list[str]:
        return [c.id for c in self.customers.values() if not c.manager]

    def campaigns_of(self, customer_id: str) -> list[Campaign]:
        return [c for c in self.campaigns if c.customer_id == customer_id]

    def submissions(self, customer_id: str | None = None) -> list[Submission]:
        """Submissions (of one account), oldest first."""
        found = [s for s in self._submissions if customer_id in (None, s.customer_id)]
        return sorted(found, key=lambda s: (s.submitted_at, s.id))

    def submissions_between(
        self, customer_id: str, start: datetime, end: datetime
    ) -> list[Submission]:
        """Submissions with ``start <= submitted_at < end`` (aware datetimes)."""
        return [s for s in self.submissions(customer_id) if start <= s.submitted_at < end]

    def edge_submissions(self, customer_id: str | None = None) -> list[Submission]:
        return [s for s in self.submissions(customer_id) if s.edge]

    def cost_micros_by_campaign_day(
        self, customer_id: str | None = None
    ) -> dict[tuple[str, str, str], int]:
        """``{(customer_id, campaign_id, "YYYY-MM-DD" in account time): cost_micros}``."""
        return {
            (m.customer_id, m.campaign_id, m.date.isoformat()): m.cost_micros
            for m in self.metrics
            if customer_id in (None, m.customer_id)
        }

    def local_time(self, submission: Submission) -> str:
        return format_date_time(submission.submitted_at, self.customer(submission.customer_id).tz)

    # -- mutation (tests) ----------------------------------------------------------------------
    def add_submission(
        self,
        customer_id: str,
        *,
        submitted_at: datetime,
        fields: dict[str, str] | None = None,
        custom: dict[str, str] | None = None,
        campaign_id: str | None = None,
        gclid: str | None = None,
    ) -> Submission:
        """Add a submission (default: a FULL_NAME + EMAIL lead on the first enabled campaign)."""
        if submitted_at.tzinfo is None:
            raise ValueError("submitted_at must be timezone-aware")
        enabled = [c for c in self.campaigns_of(customer_id) if c.status == "ENABLED"]
        campaign = next(c for c in enabled if campaign_id in (None, c.id))
        group_id, _name, ad_id = campaign.ad_groups[0]
        person_fields = fields or {"FULL_NAME": "Test Lead", "EMAIL": "test.lead@example.com"}
        lead_id = _lead_id(random.Random(f"added-{len(self._submissions)}"))
        submission = Submission(
            customer_id, lead_id, campaign.id, group_id, ad_id, campaign.asset_id,
            submitted_at.astimezone(UTC).replace(microsecond=0), tuple(person_fields.items()),
            tuple((custom or {}).items()), gclid,
        )  # fmt: skip
        self._submissions.append(submission)
        return submission

    # -- flat GAQL rows ("resource.field" -> python value) ------------------------------------
    def customer_row(self, customer_id: str, prefix: str = "customer") -> dict[str, Any]:
        c = self.customer(customer_id)
        return _flat(prefix, resource_name=f"customers/{c.id}", id=int(c.id),
                     descriptive_name=c.name, time_zone=c.time_zone,
                     currency_code=c.currency_code, manager=c.manager)  # fmt: skip

    def customer_client_rows(self, customer_id: str) -> list[dict[str, Any]]:
        """The account itself (level 0) and, for a manager, its clients (level 1)."""
        levels = [(customer_id, 0)]
        levels += [(c.id, 1) for c in self.customers.values() if customer_id in c.managers]
        return [
            {**self.customer_row(customer_id), **self.customer_row(cid, "customer_client"),
             "customer_client.level": level,
             "customer_client.client_customer": f"customers/{cid}",
             "customer_client.resource_name": f"customers/{customer_id}/customerClients/{cid}"}
            for cid, level in levels
        ]  # fmt: skip

    def campaign_rows(self, customer_id: str) -> list[dict[str, Any]]:
        base = self.customer_row(customer_id)
        return [
            {**base, **_flat("campaign", resource_name=c.resource_name, id=int(c.id), name=c.name,
                             status=c.status)}
            for c in self.campaigns_of(customer_id)
        ]  # fmt: skip

    def campaign_day_rows(self, customer_id: str) -> list[dict[str, Any]]:
        by_id = {row["campaign.id"]: row for row in self.campaign_rows(customer_id)}
        return [
            {**by_id[int(m.campaign_id)], "segments.date": m.date, **_flat(
                "metrics", cost_micros=m.cost_micros, clicks=m.clicks, impressions=m.impressions)}
            for m in self.metrics if m.customer_id == customer_id
        ]  # fmt: skip

    def lead_rows(self, customer_id: str) -> list[dict[str, Any]]:
        campaigns = {int(r["campaign.id"]): r for r in self.campaign_rows(customer_id)}
        return [_lead_row(s, campaigns[int(s.campaign_id)]) for s in self.submissions(customer_id)]


def _flat(prefix: str, **values: Any) -> dict[str, Any]:
    return {f"{prefix}.{name}": value for name, value in values.items()}


def _lead_row(s: Submission, campaign: dict[str, Any]) -> dict[str, Any]:
    ids = f"customers/{s.customer_id}"
    group = f"{ids}/adGroups/{s.ad_group_id}"
    fields = [{"fieldType": kind, "fieldValue": value} for kind, value in s.fields]
    custom = [{"questionText": question, "fieldValue": value} for question, value in s.custom]
    lead = _flat(
        "lead_form_submission_data", resource_name=s.resource_name, id=s.id, gclid=s.gclid or "",
        asset=f"{ids}/assets/{s.asset_id}", campaign=campaign["campaign.resource_name"],
        ad_group=group, ad_group_ad=f"{ids}/adGroupAds/{s.ad_group_id}~{s.ad_id}",
        submission_date_time=s.submitted_at, lead_form_submission_fields=fields,
        custom_lead_form_submission_fields=custom,
    )  # fmt: skip
    return {**campaign, "ad_group.resource_name": group, "ad_group.id": int(s.ad_group_id), **lead}


# -- generation --------------------------------------------------------------------------------
def _lead_id(rng: random.Random) -> str:
    """Numeric-looking string ids above 2**53: they survive only if kept as strings."""
    return str(rng.randrange(10**17, 9 * 10**18))


def _campaigns(rng: random.Random) -> list[Campaign]:
    campaigns = []
    for customer in CUSTOMERS:
        if customer.manager:
            continue
        for name, form, status in CAMPAIGNS:
            groups = tuple(
                (str(rng.randrange(10**10, 10**11)), f"{name} - group {n}",
                 str(rng.randrange(10**11, 10**12)))
                for n in (1, 2)
            )  # fmt: skip
            campaign_id, asset_id = str(rng.randrange(10**9, 10**10)), str(rng.randrange(10**10))
            campaigns.append(
                Campaign(customer.id, campaign_id, name, status, form, asset_id, groups)
            )
    return campaigns


def _metrics(rng: random.Random, campaigns: list[Campaign], anchor: datetime) -> list[DailyMetrics]:
    rows = []
    for campaign in campaigns:
        customer = next(c for c in CUSTOMERS if c.id == campaign.customer_id)
        last = anchor.astimezone(customer.tz).date() - timedelta(days=1)
        days = METRIC_DAYS if campaign.status == "ENABLED" else 30
        first = last - timedelta(days=METRIC_DAYS - 1)
        for offset in range(days):
            impressions = rng.randrange(200, 5000)
            clicks = int(impressions * rng.uniform(0.01, 0.08))
            cpc = rng.uniform(0.8, 4.0) * CPC_SCALE[customer.currency_code]
            cost = round(clicks * cpc * 100) * 10_000
            day = first + timedelta(days=offset)
            rows.append(DailyMetrics(customer.id, campaign.id, day, cost, clicks, impressions))
    return rows


def _postal_code(rng: random.Random, country_code: str | None) -> str:
    if country_code == "GB":
        return f"EC{rng.randrange(1, 5)}A {rng.randrange(1, 9)}BB"
    if country_code in ("CA", "AU"):
        return f"{rng.randrange(1000, 9999)}"
    return f"{rng.randrange(10000, 99999)}"


FIELD_VALUES = {
    "FULL_NAME": lambda p: p.full_name, "FIRST_NAME": lambda p: p.first_name,
    "LAST_NAME": lambda p: p.last_name, "EMAIL": lambda p: p.email,
    "WORK_EMAIL": lambda p: p.email, "PHONE_NUMBER": lambda p: p.phone,
    "COMPANY_NAME": lambda p: p.company, "JOB_TITLE": lambda p: p.job_title,
    "COUNTRY": lambda p: p.country, "CITY": lambda p: p.city,
}  # fmt: skip


def _answers(rng: random.Random, form: str, person: Person) -> dict[str, Any]:
    types, questions = FORMS[form]
    fields = [(t, _postal_code(rng, person.country_code) if t == "POSTAL_CODE" else
               FIELD_VALUES[t](person)) for t in types]  # fmt: skip
    custom = [(q, rng.choice(options)) for q, options in questions if rng.random() < 0.85]
    gclid = None if rng.random() < 0.15 else "Cj0KCQiA" + "".join(rng.choices(GCLID_CHARS, k=60))
    return {"fields": tuple((t, v) for t, v in fields if v), "custom": tuple(custom),
            "gclid": gclid}  # fmt: skip


def _edge_times(customer: Customer, anchor: datetime) -> list[tuple[str, datetime]]:
    day = (anchor - timedelta(days=3)).astimezone(customer.tz).date()
    local_midnight = datetime(day.year, day.month, day.day, tzinfo=customer.tz)
    utc_midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    second = timedelta(seconds=1)
    edges = [
        ("local-midnight", local_midnight),
        ("before-local-midnight", local_midnight - second),
        ("utc-midnight", utc_midnight),
        ("before-utc-midnight", utc_midnight - second),
    ]
    if customer.time_zone == "America/Los_Angeles":  # 01:30 happens twice on 2026-11-01
        fold = datetime(2026, 11, 1, 1, 30, tzinfo=customer.tz)
        edges += [("dst-fold-first", fold), ("dst-fold-second", fold.replace(fold=1))]
    return [(label, moment.astimezone(UTC)) for label, moment in edges if moment < anchor]


def _submission(
    rng: random.Random, ds: GoogleAdsDataset, customer_id: str, moment: datetime, edge: str | None
) -> Submission:
    enabled = [c for c in ds.campaigns_of(customer_id) if c.status == "ENABLED"]
    campaign = rng.choice(enabled)
    group_id, _name, ad_id = rng.choice(campaign.ad_groups)
    person = draw(rng, 1, POOL_SIZE)[0]
    answers = _answers(rng, campaign.form, person)
    return Submission(
        customer_id, _lead_id(rng), campaign.id, group_id, ad_id, campaign.asset_id, moment,
        answers["fields"], answers["custom"], answers["gclid"], person.index, edge,
    )  # fmt: skip


def google_ads_dataset(
    submissions: int = 500, *, seed: int = 13, anchor: datetime = DEFAULT_ANCHOR
) -> GoogleAdsDataset:
    """Accounts, campaigns, 90 days of daily spend and ``submissions`` lead submissions.

    The first submissions are the boundary cases (see module docstring); the rest fall at
    random whole seconds in the 60 days before ``anchor``; one more per client account comes
    from a person abroad (``leadflow.sandbox.abroad``: a local phone and a country).
    Identical arguments give an identical dataset.
    """
    rng = random.Random(seed)
    campaigns = _campaigns(rng)
    ds = GoogleAdsDataset(anchor, {c.id: c for c in CUSTOMERS}, campaigns, [])
    ds.metrics = _metrics(rng, campaigns, anchor)
    edges = [
        (c.id, label, t) for c in CUSTOMERS if not c.manager for label, t in _edge_times(c, anchor)
    ]
    for customer_id, label, moment in edges[:submissions]:
        ds._submissions.append(_submission(rng, ds, customer_id, moment, label))
    span = int(LEAD_WINDOW.total_seconds())
    ids, weights = list(CLIENT_WEIGHTS), list(CLIENT_WEIGHTS.values())
    for _ in range(max(0, submissions - len(edges))):
        moment = anchor - timedelta(seconds=rng.randrange(1, span))
        customer_id = rng.choices(ids, weights)[0]
        ds._submissions.append(_submission(rng, ds, customer_id, moment, None))
    for day, (customer_id, code) in enumerate(abroad.GOOGLE_ADS.items(), start=2):
        given = abroad.BY_CODE[code].given(abroad.BY_CODE[code].country)
        fields = {key.upper(): given[key] for key in ("full_name", "email", "phone_number",
                                                      "city", "country")}  # fmt: skip
        ds.add_submission(customer_id, submitted_at=anchor - timedelta(days=day), fields=fields)
    return ds
