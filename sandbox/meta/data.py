"""Deterministic synthetic Meta Lead Ads + Ads Insights data (stdlib ``random.Random`` only).

Shapes follow Meta's docs (cited in ``leadflow.sandbox.meta.app``): leads are Graph ``Lead`` objects
with ``created_time`` like ``2026-11-20T14:50:56+0000``, ``field_data`` as ``[{"name": "email",
"values": ["..."]}]``, boolean ``is_organic``, and no ad/ad set/campaign fields on organic or test
leads. People come from the shared pool in ``leadflow.sandbox.people`` so the same humans also
appear on the other platforms. Two forms are localized (``leadflow.sandbox.meta.locales``): their
predefined questions, and so their leads' ``field_data`` names, are in Russian or Chinese.

Messy on purpose: upper-case or padded emails, phones in national format (the form's ``country``
answer, when asked, says which country), missing phones, lower-cased names, a form that only ever
gets organic leads, an archived form, a campaign without a lead form, and three leads made by the
Lead Ads Testing Tool. Insights are per ad per day, dated in the ad account's time zone, up to the
day before the anchor there.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.sandbox import abroad
from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.meta.locales import DEFAULT_LOCALE, FORM_LOCALES, english_key, localized_key
from leadflow.sandbox.people import Person, draw, person

WINDOW_DAYS = 90
POOL_SIZE = 1500
ACCOUNTS = (("Northwind Analytics - US", "USD", "America/Los_Angeles"),
            ("Northwind Analytics - EMEA", "GBP", "Europe/London"))  # fmt: skip
PAGES = ("Northwind Analytics", "Northwind Analytics UK", "Contoso Events")
CUSTOM = {
    "what_is_your_budget?": ("under_$1k", "$1k_-_$5k", "$5k_-_$25k", "over_$25k"),
    "which_session_would_you_like_to_attend?": ("tuesday_9am_pt", "thursday_4pm_gmt"),
    "how_many_employees_does_your_company_have?": ("1-10", "11-50", "51-200", "201-1000", "1000+"),
}
UTM = (("utm_source", "facebook"), ("utm_medium", "paid_social"), ("utm_campaign", "{slug}"))
# page, name, status, questions (custom ones last), tracking parameters?, disclaimer?, weight
FORMS = (
    (0, "Contact Sales - Q4 2026", "ACTIVE", ("full_name", "email", "phone_number",
     "company_name", "job_title", "what_is_your_budget?"), False, True, 30),
    (0, "Ebook: The Lead Routing Playbook", "ACTIVE", ("email", "full_name", "job_title"),
     True, False, 18),
    (0, "Newsletter signup (Page post)", "ACTIVE", ("email", "first_name"), False, False, 5),
    (1, "Webinar Registration - UK", "ACTIVE", ("first_name", "last_name", "email", "country",
     "which_session_would_you_like_to_attend?"), True, False, 16),
    (1, "Summer Promo 2026", "ARCHIVED", ("full_name", "email", "phone_number"), False, False, 6),
    (2, "Free Trial - Instagram", "ACTIVE", ("full_name", "email", "phone_number", "country",
     "city", "how_many_employees_does_your_company_have?"), True, True, 18),
    (2, "Event Waitlist", "ACTIVE", ("full_name", "email"), False, False, 6),
)  # fmt: skip
# account, name, objective, form (None: no lead form), runs from/until N days before anchor
CAMPAIGNS = (
    (0, "Q4 Lead Gen - Contact Sales", "OUTCOME_LEADS", 0, 95, None),
    (0, "Ebook Promotion", "OUTCOME_LEADS", 1, 95, None),
    (0, "Free Trial - IG Reels", "OUTCOME_LEADS", 5, 95, None),
    (0, "Brand Awareness - Always On", "OUTCOME_AWARENESS", None, 95, None),
    (1, "UK Webinar Series", "OUTCOME_LEADS", 3, 95, None),
    (1, "Summer Promo 2026", "OUTCOME_LEADS", 4, 95, 60),
    (1, "Event Waitlist Push", "OUTCOME_LEADS", 6, 20, None),
)
ADSETS = ("Lookalike 1% - Customers", "Interest - Marketing Ops")
ADS = ("Carousel A", "Video 15s")


@dataclass(frozen=True, slots=True)
class AdAccount:
    id: str  # numeric; its Graph node is "act_<id>"
    name: str
    currency: str
    timezone_name: str
    business_id: str


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    account_id: str
    name: str
    objective: str
    start: date
    stop: date | None

    def active(self, day: date) -> bool:
        return self.start <= day and (self.stop is None or day <= self.stop)


@dataclass(frozen=True, slots=True)
class Ad:
    id: str
    name: str
    adset_id: str
    adset_name: str
    campaign_id: str
    campaign_name: str
    account_id: str
    form_id: str | None


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Form:
    id: str
    page_id: str
    name: str
    status: str
    created_time: str
    questions: tuple[str, ...]
    tracking_parameters: tuple[tuple[str, str], ...]
    disclaimer_keys: tuple[str, ...]
    locale: str = DEFAULT_LOCALE  # predefined questions (and their keys) in this language


@dataclass(frozen=True, slots=True)
class DailyStat:
    """Delivery of one ad on one day (the ad account's local date)."""

    account_id: str
    campaign_id: str
    adset_id: str
    ad_id: str
    day: date
    spend_cents: int
    impressions: int
    clicks: int


def graph_time(moment: datetime) -> str:
    """Meta's datetime format: UTC with a ``+0000`` offset (no colon)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def lead_timestamp(lead: dict[str, Any]) -> int:
    """Unix seconds of a lead's ``created_time``."""
    return int(datetime.strptime(lead["created_time"], "%Y-%m-%dT%H:%M:%S%z").timestamp())


def local_today(account: AdAccount, anchor: datetime) -> date:
    """The anchor's date in the ad account's time zone."""
    return anchor.astimezone(ZoneInfo(account.timezone_name)).date()


class IdMaker:
    """Unique numeric id strings (``digits`` long, starting with ``prefix``) from one rng."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.seen = rng, set[str]()

    def __call__(self, digits: int, prefix: str = "1") -> str:
        width = digits - len(prefix)
        value = prefix + str(self.rng.randrange(10**width)).zfill(width)
        if value in self.seen:
            return self(digits, prefix)
        self.seen.add(value)
        return value


@dataclass
class MetaDataset:
    """Everything the Meta sandbox serves, plus ground-truth helpers for tests."""

    anchor: datetime
    ad_accounts: list[AdAccount]
    campaigns: list[Campaign]
    ads: list[Ad]
    pages: list[Page]
    forms: list[Form]
    leads: list[dict[str, Any]]  # oldest first; Graph-shaped, every field present
    stats: list[DailyStat]
    test_lead_ids: set[str]
    new_id: IdMaker = field(repr=False, compare=False)
    rng: random.Random = field(repr=False, compare=False)
    pool_size: int = POOL_SIZE

    def get(self, kind: str, object_id: str) -> Any:
        """The ``account``/``campaign``/``ad``/``page``/``form`` with that id, or None."""
        items = {"account": self.ad_accounts, "campaign": self.campaigns, "ad": self.ads,
                 "page": self.pages, "form": self.forms}[kind]  # fmt: skip
        return next((item for item in items if item.id == object_id), None)

    def lead(self, lead_id: str) -> dict[str, Any] | None:
        return next((lead for lead in self.leads if lead["id"] == lead_id), None)

    def leads_for_form(self, form_id: str) -> list[dict[str, Any]]:
        return [lead for lead in self.leads if lead["form_id"] == form_id]

    def organic_leads(self) -> list[dict[str, Any]]:
        return [lead for lead in self.leads if lead["is_organic"]]

    def spend_by_campaign_day(self) -> dict[tuple[str, str], Decimal]:
        """``{(campaign_id, "YYYY-MM-DD"): spend}`` in the account currency (account dates)."""
        cents: dict[tuple[str, str], int] = defaultdict(int)
        for stat in self.stats:
            cents[(stat.campaign_id, stat.day.isoformat())] += stat.spend_cents
        return {key: Decimal(value) / 100 for key, value in cents.items()}

    def add_lead(
        self,
        form_id: str,
        *,
        person_index: int | None = None,
        created_time: datetime | None = None,
        organic: bool = False,
        ad_id: str | None = None,
        platform: str = "fb",
        answers: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Store and return a new lead on ``form_id``: by default created now, by a random pool
        person (else ``answers``), via the form's first ad (``organic``: none; ``ad_id``: it)."""
        form = self.get("form", form_id)
        if form is None:
            raise KeyError(f"unknown form {form_id}")
        ads = [ad for ad in self.ads if ad.form_id == form_id and ad_id in (None, ad.id)]
        if ad_id and not ads:
            raise KeyError(f"ad {ad_id} does not use form {form_id}")
        if answers is None:
            if person_index is None:
                person_index = draw(self.rng, 1, self.pool_size)[0].index
            answers = _answers(self.rng, form, person(person_index))
        moment = created_time or datetime.now(UTC)
        ad = None if organic or not ads else ads[0]
        lead = _lead(self.new_id(16), moment, form, ad, platform, answers)
        self.leads.append(lead)
        self.leads.sort(key=lambda stored: (stored["created_time"], stored["id"]))
        return lead


def _answer(rng: random.Random, key: str, who: Person) -> str | None:
    key = english_key(key)  # a localized form asks the same predefined questions
    if key == "email":
        roll = rng.random()
        return who.email.upper() if roll < 0.08 else f" {who.email} " if roll < 0.11 else who.email
    if key == "phone_number":
        return _phone(rng, who.phone)
    if key in CUSTOM:
        return rng.choice(CUSTOM[key])
    value = {"full_name": who.full_name, "first_name": who.first_name, "last_name": who.last_name,
             "company_name": who.company, "job_title": who.job_title,
             "country": who.country_code, "city": who.city}[key]  # fmt: skip
    return value.lower() if value and key.endswith("name") and rng.random() < 0.05 else value


def _phone(rng: random.Random, phone: str | None) -> str | None:
    """As typed: international, national (no country code), bare digits, or not given."""
    roll = rng.random()
    if phone is None or roll < 0.06:
        return None
    code, *rest = phone.split(" ")
    if roll < 0.45:
        return phone
    if roll < 0.85:
        return f"({rest[0]}) {rest[1]}-{rest[2]}" if code == "+1" else "0" + " ".join(rest)
    return code + "".join(rest)


def _answers(rng: random.Random, form: Form, who: Person) -> list[dict[str, Any]]:
    answers = ((key, _answer(rng, key, who)) for key in form.questions)
    return [{"name": key, "values": [value]} for key, value in answers if value is not None]


def _lead(
    lead_id: str, moment: datetime, form: Form, ad: Ad | None, platform: str, data: list[Any]
) -> dict[str, Any]:
    lead: dict[str, Any] = {"id": lead_id, "created_time": graph_time(moment)}
    if ad is not None:
        lead.update(ad_id=ad.id, ad_name=ad.name, adset_id=ad.adset_id, adset_name=ad.adset_name,
                    campaign_id=ad.campaign_id, campaign_name=ad.campaign_name)  # fmt: skip
    lead.update(form_id=form.id, is_organic=ad is None, platform=platform, field_data=data)
    return lead


def _forms(rng: random.Random, new_id: IdMaker, pages: list[Page], anchor: datetime) -> list[Form]:
    forms = []
    for page, name, status, questions, utm, disclaimer, _weight in FORMS:
        created = anchor - timedelta(days=rng.randrange(100, 200), seconds=rng.randrange(86400))
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower().split(" - ")[0]).strip("_")
        tracking = tuple((key, value.format(slug=slug)) for key, value in UTM) if utm else ()
        disclaimers = ("optional_1",) if disclaimer else ()
        locale = FORM_LOCALES.get(name, DEFAULT_LOCALE)
        keys = tuple(localized_key(key, locale) for key in questions)
        forms.append(Form(new_id(16), pages[page].id, name, status, graph_time(created),
                          keys, tracking, disclaimers, locale))  # fmt: skip
    return forms


def _campaigns(
    new_id: IdMaker, accounts: list[AdAccount], forms: list[Form], anchor: datetime
) -> tuple[list[Campaign], list[Ad]]:
    campaigns, ads = [], []
    for account, name, objective, form, start, stop in CAMPAIGNS:
        first, last = anchor - timedelta(days=start), anchor - timedelta(days=stop or 0)
        campaign = Campaign(new_id(18, "1202"), accounts[account].id, name, objective,
                            first.date(), last.date() if stop else None)  # fmt: skip
        campaigns.append(campaign)
        for adset_name in ADSETS:
            adset_id = new_id(18, "1202")
            for ad_name in ADS:
                ads.append(Ad(new_id(18, "1202"), f"{name} - {ad_name}", adset_id, adset_name,
                              campaign.id, name, campaign.account_id,
                              None if form is None else forms[form].id))  # fmt: skip
    return campaigns, ads


def _leads(
    rng: random.Random, dataset: MetaDataset, count: int, anchor: datetime
) -> list[dict[str, Any]]:
    campaigns = {campaign.id: campaign for campaign in dataset.campaigns}
    weights = [spec[-1] for spec in FORMS]
    leads = []
    for who in draw(rng, count, dataset.pool_size):
        form = rng.choices(dataset.forms, weights=weights)[0]
        back = 60 + rng.random() * 30 if form.status == "ARCHIVED" else rng.random() * WINDOW_DAYS
        moment = (anchor - timedelta(days=back)).replace(microsecond=0)
        eligible = [ad for ad in dataset.ads if ad.form_id == form.id
                    and campaigns[ad.campaign_id].active(moment.date())]  # fmt: skip
        ad = rng.choice(eligible) if eligible and rng.random() > 0.09 else None
        ig_share = 0.85 if ad and "IG" in ad.campaign_name else 0.25
        platform = "ig" if rng.random() < ig_share else "fb"
        lead = _lead(dataset.new_id(16), moment, form, ad, platform, _answers(rng, form, who))
        if form.disclaimer_keys:
            lead["custom_disclaimer_responses"] = [
                {"checkbox_key": key, "is_checked": "1" if rng.random() < 0.6 else ""}
                for key in form.disclaimer_keys
            ]
        leads.append(lead)
    return leads


def _test_leads(dataset: MetaDataset, anchor: datetime) -> list[dict[str, Any]]:
    """Leads as the Lead Ads Testing Tool makes them: dummy values, no ad, not organic."""
    made = []
    for i, form in enumerate((dataset.forms[0], dataset.forms[5], dataset.forms[0])):
        data = [{"name": key, "values": ["test@meta.com" if key == "email"
                                         else f"<test lead: dummy data for {key}>"]}
                for key in form.questions]  # fmt: skip
        moment = anchor - timedelta(days=40 - 15 * i, hours=3)
        lead = _lead(dataset.new_id(16), moment, form, None, "fb", data)
        made.append({**lead, "is_organic": False})
    return made


def _stats(rng: random.Random, dataset: MetaDataset) -> list[DailyStat]:
    campaigns = {campaign.id: campaign for campaign in dataset.campaigns}
    accounts = {account.id: account for account in dataset.ad_accounts}
    stats = []
    for ad in dataset.ads:
        scale = rng.uniform(0.5, 1.6)
        today = local_today(accounts[ad.account_id], dataset.anchor)
        for back in range(WINDOW_DAYS, 0, -1):
            day = today - timedelta(days=back)
            if not campaigns[ad.campaign_id].active(day) or rng.random() < 0.04:
                continue  # not running, or no delivery that day: Meta returns no row
            impressions = int(rng.randint(400, 5000) * scale)
            clicks = int(impressions * rng.uniform(0.004, 0.03))
            spend = round(impressions * rng.uniform(0.4, 2.2))  # CPM $4-$22, in cents
            stats.append(DailyStat(ad.account_id, ad.campaign_id, ad.adset_id, ad.id, day,
                                   spend, impressions, clicks))  # fmt: skip
    return stats


def meta_dataset(
    leads: int = 600,
    *,
    seed: int = 11,
    anchor: datetime = DEFAULT_ANCHOR,
    pool_size: int = POOL_SIZE,
) -> MetaDataset:
    """``leads`` leads (plus 3 testing-tool leads and 3 by ``sandbox.abroad``'s people) by
    people ``0..pool_size-1`` of the shared pool over the 90 days before ``anchor``, oldest
    first, with daily insights; identical for identical arguments."""
    rng = random.Random(seed)
    new_id = IdMaker(rng)
    accounts = [AdAccount(new_id(16), name, cur, tz, new_id(15)) for name, cur, tz in ACCOUNTS]
    pages = [Page(new_id(15), name) for name in PAGES]
    forms = _forms(rng, new_id, pages, anchor)
    campaigns, ads = _campaigns(new_id, accounts, forms, anchor)
    dataset = MetaDataset(anchor, accounts, campaigns, ads, pages, forms, [], [], set(), new_id,
                          random.Random(seed + 1), pool_size)  # fmt: skip
    made = _leads(rng, dataset, leads, anchor) + _test_leads(dataset, anchor)
    dataset.leads = sorted(made, key=lambda lead: (lead["created_time"], lead["id"]))
    dataset.test_lead_ids = {lead["id"] for lead in made[leads:]}
    dataset.stats = _stats(rng, dataset)
    form = next(form for form in forms if form.name == abroad.META_FORM)
    for day, code in enumerate(abroad.META, start=3):  # national phones, ISO country answers
        given, pick = abroad.BY_CODE[code].given(code), random.Random(f"meta-abroad-{code}")
        data = [{"name": key, "values": [given.get(key) or pick.choice(CUSTOM[key])]}
                for key in form.questions]  # fmt: skip
        dataset.add_lead(form.id, created_time=anchor - timedelta(days=day), answers=data)
    return dataset
