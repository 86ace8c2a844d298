"""A deterministic LinkedIn Lead Sync + ad analytics dataset (stdlib ``random.Random`` only).

Shapes follow the examples of LinkedIn's Lead Sync Postman collection (linked from
https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync). Two sponsored accounts
(USD, EUR), one organization (COMPANY and EVENT leads), six forms with different question orders,
custom questions, consents and hidden fields, five campaigns with daily delivery (UTC days) in the
90 days before ``anchor``, people from the shared pool (``leadflow.sandbox.people``), ~5% test
leads, optional questions sometimes unanswered, answers in no particular order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadflow.sandbox import abroad
from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.people import Person, draw

ORGANIZATION = (2414183, "Northwind Analytics")
ACCOUNTS = ((510000101, "Northwind Ads - Americas", "USD"),
            (510000202, "Northwind Ads - EMEA", "EUR"))  # fmt: skip
EVENT_URN = "urn:li:event:7255812345"
USD_PER_EUR = Decimal("1.08")
POOL_SIZE = 1500
WINDOW_DAYS = 90
TEST_LEAD_RATE = 0.05
DAY_MS = 86_400_000

# (predefinedField | None, name, label, kind, responseRequired, options)
FIRST = ("FIRST_NAME", "First name", "First name", "text", True, ())
LAST = ("LAST_NAME", "Last name", "Last name", "text", True, ())
EMAIL = ("EMAIL", "Email address", "Email address", "text", True, ())
WORK_EMAIL = ("WORK_EMAIL", "Work email", "Work email", "text", True, ())
PHONE = ("PHONE_NUMBER", "Phone number", "Phone number", "text", False, ())
COMPANY = ("COMPANY_NAME", "Company name", "Company name", "text", True, ())
TITLE = ("JOB_TITLE", "Job title", "Job title", "text", True, ())
COUNTRY = ("COUNTRY", "Country/Region", "Country/Region", "text", False, ())
CITY = ("CITY", "City", "City", "text", False, ())
TEAM = (None, "Custom question 0", "How big is your team?", "choice", True,
        ("1-10", "11-50", "51-200", "201+"))  # fmt: skip
CHALLENGE = (None, "Custom question 1", "What is your biggest reporting challenge?", "text",
             False, ())  # fmt: skip
IN_PERSON = (None, "Custom question 0", "Will you attend in person?", "choice", True,
             ("Yes", "No, online"))  # fmt: skip
GERMAN = {"Work email": "Geschäftliche E-Mail", "First name": "Vorname", "Last name": "Nachname",
          "Company name": "Unternehmen", "Job title": "Position", "City": "Ort"}  # fmt: skip
CHALLENGES = ("Attribution across channels", "Too many spreadsheets", "Slow CRM sync",
              "Lead quality", "Reporting to the board")  # fmt: skip

# (form id, owner: account index or "org", leadType, name, locale, questions, consents, hidden)
FORMS = (
    (7100101, 0, "SPONSORED", "Demo request - Americas", "en_US",
     (FIRST, LAST, EMAIL, COMPANY, TITLE, TEAM, PHONE),
     (("I agree to receive marketing emails from Northwind.", False),),
     (("utm_source", "linkedin"), ("utm_medium", "paid_social"), ("utm_campaign", "demo-q4"))),
    (7100102, 0, "SPONSORED", "Reporting ebook", "en_US",
     (EMAIL, FIRST, LAST, COUNTRY, CHALLENGE, COMPANY), (),
     (("utm_source", "linkedin"), ("utm_campaign", "ebook-2026"))),
    (7100203, 1, "SPONSORED", "Webinar EMEA", "de_DE",
     (WORK_EMAIL, FIRST, LAST, COMPANY, TITLE, CITY),
     (("Ich möchte Informationen per E-Mail erhalten.", True),), ()),
    (7100304, "org", "COMPANY", "Contact us (company page)", "en_US",
     (FIRST, LAST, EMAIL, PHONE, COMPANY, TEAM),
     (("Northwind may contact me about its products.", False),), ()),
    (7100305, "org", "EVENT", "Lead Sync Summit registration", "en_US",
     (FIRST, LAST, EMAIL, TITLE, IN_PERSON), (), (("event", "summit-2026"),)),
    # Only sandbox.abroad's people use it: they give a national phone and their country.
    (7100306, "org", "COMPANY", "Contact us - international", "en_US",
     (FIRST, LAST, EMAIL, (*PHONE[:4], True, ()), (*COUNTRY[:4], True, ()), COMPANY), (), ()),
)  # fmt: skip
# (account index, form id, name, status, daily budget); weights split the sponsored leads
CAMPAIGNS = (
    (0, 7100101, "Demo request - US/CA", "ACTIVE", "150", 5),
    (0, 7100101, "Demo request - retargeting", "ACTIVE", "60", 2),
    (0, 7100102, "Reporting ebook", "PAUSED", "80", 3),
    (1, 7100203, "Webinar DACH", "ACTIVE", "120", 3),
    (1, 7100203, "Webinar UK/IE", "ACTIVE", "90", 2),
)
SOURCE_WEIGHTS = {"SPONSORED": 75, "COMPANY": 15, "EVENT": 10}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def versioned_form_urn(form_id: int, version: int = 1) -> str:
    return f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},{version})"


def owner_urn_of(element: dict[str, Any]) -> str:
    return next(iter(element["owner"].values()))


@dataclass
class DailyStat:
    """One campaign's delivery on one UTC day (what adAnalytics DAILY reports)."""

    campaign: str
    account: str
    day: date
    impressions: int
    clicks: int
    cost: Decimal  # in the account's currency
    currency: str
    leads: int = 0  # non-test sponsored leads submitted that day (oneClickLeads)

    @property
    def cost_usd(self) -> Decimal:
        rate = USD_PER_EUR if self.currency == "EUR" else Decimal(1)
        return (self.cost * rate).quantize(Decimal("0.0001"))


@dataclass
class LinkedInDataset:
    seed: int
    anchor: datetime
    organization: dict[str, Any]
    accounts: list[dict[str, Any]]
    forms: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    leads: list[dict[str, Any]] = field(default_factory=list)
    daily: list[DailyStat] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)

    def form(self, form_id: int) -> dict[str, Any] | None:
        return next((f for f in self.forms if f["id"] == form_id), None)

    def form_of(self, lead: dict[str, Any]) -> dict[str, Any]:
        form_id = int(lead["versionedLeadGenFormUrn"].split("leadGenForm:")[1].split(",")[0])
        return self.form(form_id) or {}

    def add(self, lead: dict[str, Any], person: Person | None = None) -> dict[str, Any]:
        self.leads.append(lead)
        if person is not None:
            self.people[lead["id"]] = person
        return lead

    def responses(self, owner_urn: str, lead_type: str | None = None, *, test_only: bool = False,
                  start_ms: int | None = None, end_ms: int | None = None,
                  form_urn: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """Ground truth for ``q=owner``: matching leads, newest first (id breaks ties)."""
        found = [
            lead
            for lead in self.leads
            if owner_urn_of(lead) == owner_urn
            and (lead_type is None or lead["leadType"] == lead_type)
            and (not test_only or lead["testLead"])
            and (start_ms is None or lead["submittedAt"] >= start_ms)
            and (end_ms is None or lead["submittedAt"] < end_ms)
            and (form_urn is None or lead["versionedLeadGenFormUrn"] == form_urn)
        ]
        return sorted(found, key=lambda lead: (-lead["submittedAt"], lead["id"]))

    def cost_by_campaign_day(self) -> dict[tuple[str, date], Decimal]:
        return {(stat.campaign, stat.day): stat.cost for stat in self.daily}

    def answers_by_field(self, lead: dict[str, Any]) -> dict[str, Any]:
        """Answers keyed by predefinedField (or the question name for custom questions)."""
        questions = {q["questionId"]: q for q in self.form_of(lead)["content"]["questions"]}
        joined = {}
        for answer in lead["formResponse"]["answers"]:
            question = questions[answer["questionId"]]
            details = answer["answerDetails"]
            value = details.get("textQuestionAnswer", {}).get("answer")
            if value is None:
                value = details["multipleChoiceAnswer"]["options"]
            joined[question.get("predefinedField", question["name"])] = value
        return joined


def _question(spec: tuple[Any, ...], position: int, form_id: int, locale: str) -> dict[str, Any]:
    predefined, name, label, kind, required, options = spec
    if locale == "de_DE":
        label = GERMAN.get(label, label)
    question: dict[str, Any] = {
        "questionId": int(f"{position}0{form_id}"),
        "name": name,
        "question": {"localized": {locale: label}},
        "responseRequired": required,
        "responseEditable": True,
    }
    if kind == "choice":
        texts = [{"id": i, "text": {"localized": {locale: t}}} for i, t in enumerate(options)]
        question["questionDetails"] = {"multipleChoiceQuestionDetails": {"options": texts}}
    else:
        question["questionDetails"] = {"textQuestionDetails": {"maxResponseLength": 300}}
    if predefined:
        question["predefinedField"] = predefined
    return question


def _form(spec: tuple[Any, ...], owners: list[dict[str, str]], created: int) -> dict[str, Any]:
    form_id, owner, _lead_type, name, locale, questions, consents, hidden = spec
    language, country = locale.split("_")
    consent_items = [
        {"id": i, "checkRequired": required, "consent": {"localized": {locale: text}}}
        for i, (text, required) in enumerate(consents)
    ]
    return {
        "id": form_id, "versionId": 1, "name": name, "state": "PUBLISHED",
        "owner": owners[-1] if owner == "org" else owners[owner],
        "created": created, "lastModified": created,
        "creationLocale": {"country": country, "language": language},
        "hiddenFields": [{"name": k, "value": v} for k, v in hidden],
        "content": {
            "headline": {"localized": {locale: name}},
            "questions": [_question(q, i + 1, form_id, locale) for i, q in enumerate(questions)],
            "legalInfo": {
                "legalInfoId": int(f"10{form_id}"),
                "privacyPolicyUrl": "https://www.example.com/privacy",
                "consents": consent_items,
            },
        },
    }  # fmt: skip


def _answer_value(question: dict[str, Any], person: Person, rng: random.Random) -> Any:
    domain = "".join(c for c in person.company.lower() if c.isalnum()) + ".example"
    values = {
        "FIRST_NAME": person.first_name, "LAST_NAME": person.last_name, "EMAIL": person.email,
        "WORK_EMAIL": person.email.split("@")[0] + "@" + domain, "PHONE_NUMBER": person.phone,
        "COMPANY_NAME": person.company, "JOB_TITLE": person.job_title,
        "COUNTRY": person.country, "CITY": person.city,
    }  # fmt: skip
    if "predefinedField" in question:
        return values[question["predefinedField"]]
    choice = question["questionDetails"].get("multipleChoiceQuestionDetails")
    if choice:
        return [rng.randrange(len(choice["options"]))]
    return rng.choice(CHALLENGES)


def build_response(dataset: LinkedInDataset, form: dict[str, Any], person: Person,
                   rng: random.Random, *, submitted_at: int, lead_type: str,
                   test_lead: bool = False, campaign: dict[str, Any] | None = None,
                   ) -> dict[str, Any]:  # fmt: skip
    """One leadFormResponse element for ``person`` answering ``form``."""
    answers = []
    for question in form["content"]["questions"]:
        value = _answer_value(question, person, rng)
        skipped = not question["responseRequired"] and rng.random() < 0.25
        if value is None or skipped:
            continue
        kind = "multipleChoiceAnswer" if isinstance(value, list) else "textQuestionAnswer"
        payload = {"options": value} if isinstance(value, list) else {"answer": value}
        answers.append({"questionId": question["questionId"], "answerDetails": {kind: payload}})
    rng.shuffle(answers)
    consents = [
        {"consentId": c["id"], "accepted": c["checkRequired"] or rng.random() < 0.6}
        for c in form["content"]["legalInfo"]["consents"]
    ]
    u = f"{rng.getrandbits(128):032x}"
    lead: dict[str, Any] = {
        "id": f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}-{rng.randrange(10)}",
        "owner": dict(form["owner"]),
        "submitter": f"urn:li:person:{rng.getrandbits(48):012x}",
        "leadType": lead_type,
        "versionedLeadGenFormUrn": versioned_form_urn(form["id"], form["versionId"]),
        "submittedAt": submitted_at,
        "testLead": test_lead,
        "formResponse": {"answers": answers, "consentResponses": consents},
    }
    if campaign is not None:
        lead["leadMetadata"] = {"sponsoredLeadMetadata": {"campaign": campaign["urn"]}}
        lead["associatedEntity"] = {"associatedCreative": campaign["creative"]}
    elif lead_type == "EVENT":
        lead["associatedEntity"] = {"event": EVENT_URN}
    return dataset.add(lead, person)


def _campaigns(rng: random.Random, accounts: list[dict[str, Any]], first_day: date) -> list:
    campaigns = []
    for index, (account, form_id, name, status, budget, _weight) in enumerate(CAMPAIGNS):
        start = first_day + timedelta(days=rng.randrange(0, 21))
        end = start + timedelta(days=rng.randrange(35, 50)) if status == "PAUSED" else None
        campaign_id = 612000001 + index
        campaigns.append({
            "id": campaign_id,
            "urn": f"urn:li:sponsoredCampaign:{campaign_id}",
            "creative": f"urn:li:sponsoredCreative:{780000001 + index}",
            "form": form_id,
            "name": name,
            "account": accounts[account]["urn"],
            "campaignGroup": f"urn:li:sponsoredCampaignGroup:{650000001 + account}",
            "status": status,
            "type": "SPONSORED_UPDATES",
            "dailyBudget": {"amount": budget, "currencyCode": accounts[account]["currency"]},
            "runSchedule": {"start": ms(datetime.combine(start, datetime.min.time(), UTC))}
            | ({"end": ms(datetime.combine(end, datetime.min.time(), UTC))} if end else {}),
        })  # fmt: skip
    return campaigns


def _delivery(rng: random.Random, dataset: LinkedInDataset, last_day: date) -> None:
    currency = {a["urn"]: a["currency"] for a in dataset.accounts}
    for campaign in dataset.campaigns:
        day = datetime.fromtimestamp(campaign["runSchedule"]["start"] / 1000, UTC).date()
        end = campaign["runSchedule"].get("end")
        stop = datetime.fromtimestamp(end / 1000, UTC).date() if end else last_day
        while day <= min(stop, last_day):
            if rng.random() >= 0.08:  # some days the campaign does not deliver at all
                impressions = rng.randint(600, 5000)
                clicks = int(impressions * rng.uniform(0.004, 0.012))
                cost = Decimal(impressions * rng.randint(2800, 7600)) / 100000
                dataset.daily.append(DailyStat(
                    campaign["urn"], campaign["account"], day, impressions, clicks,
                    cost.quantize(Decimal("0.0001")), currency[campaign["account"]],
                ))  # fmt: skip
            day += timedelta(days=1)


def _submit_sponsored(rng: random.Random, dataset: LinkedInDataset, person: Person) -> None:
    weights = [spec[-1] for spec in CAMPAIGNS]
    campaign = rng.choices(dataset.campaigns, weights=weights)[0]
    stat = rng.choice([s for s in dataset.daily if s.campaign == campaign["urn"]])
    moment = ms(datetime.combine(stat.day, datetime.min.time(), UTC)) + rng.randrange(DAY_MS)
    test = rng.random() < TEST_LEAD_RATE
    stat.leads += not test
    form = dataset.form(campaign["form"]) or {}
    build_response(
        dataset, form, person, rng, submitted_at=moment, lead_type="SPONSORED",
        test_lead=test, campaign=campaign,
    )  # fmt: skip


def linkedin_dataset(
    leads: int = 400,
    *,
    seed: int = 17,
    anchor: datetime = DEFAULT_ANCHOR,
    pool_size: int = POOL_SIZE,
) -> LinkedInDataset:
    """``leads`` lead form responses (and 3 by people abroad, ``leadflow.sandbox.abroad``)
    plus forms, campaigns and daily delivery; deterministic."""
    rng = random.Random(seed)
    first_day = (anchor - timedelta(days=WINDOW_DAYS)).date()
    org = {"id": ORGANIZATION[0], "name": ORGANIZATION[1]}
    org["urn"] = f"urn:li:organization:{org['id']}"
    accounts = [{"id": i, "name": n, "currency": c, "urn": f"urn:li:sponsoredAccount:{i}",
                 "reference": org["urn"]} for i, n, c in ACCOUNTS]  # fmt: skip
    owners = [{"sponsoredAccount": a["urn"]} for a in accounts] + [{"organization": org["urn"]}]
    created = ms(anchor - timedelta(days=WINDOW_DAYS + 30))
    forms = [_form(spec, owners, created) for spec in FORMS]
    dataset = LinkedInDataset(seed, anchor, org, accounts, forms, [])
    dataset.campaigns = _campaigns(rng, accounts, first_day)
    _delivery(rng, dataset, (anchor - timedelta(days=1)).date())
    window_start, window_ms = ms(anchor - timedelta(days=WINDOW_DAYS)), WINDOW_DAYS * DAY_MS
    kinds = rng.choices(list(SOURCE_WEIGHTS), weights=list(SOURCE_WEIGHTS.values()), k=leads)
    for person, kind in zip(draw(rng, leads, pool_size), kinds, strict=True):
        if kind == "SPONSORED":
            _submit_sponsored(rng, dataset, person)
            continue
        form = next(f for f, spec in zip(forms, FORMS, strict=True) if spec[2] == kind)
        moment = window_start + rng.randrange(window_ms)
        test = rng.random() < TEST_LEAD_RATE
        build_response(dataset, form, person, rng, submitted_at=moment, lead_type=kind,
                       test_lead=test)  # fmt: skip
    form = next(form for form in forms if form["name"] == abroad.LINKEDIN_FORM)
    for day, code in enumerate(abroad.LINKEDIN, start=4):  # national phones, country names
        moment = ms(anchor - timedelta(days=day))
        build_response(dataset, form, abroad.BY_CODE[code].person(), random.Random(code),
                       submitted_at=moment, lead_type="COMPANY")  # fmt: skip
    dataset.leads.sort(key=lambda lead: (lead["submittedAt"], lead["id"]))
    return dataset
