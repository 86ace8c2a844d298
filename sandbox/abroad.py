"""A handful of people outside the demo's default region, who type their phone the way their
country writes it: no ``+`` and no country code, a trunk ``0`` in front.

Such a number means something only with the lead's country (``0912 345 678`` is a Taiwanese
mobile, +886 912 345 678, but parsed as a US number it is nothing), so every lead these people
submit answers the form's country question too, the way that platform's sandbox answers it
elsewhere: an ISO code on Meta (``leadflow.sandbox.meta.data``), the country's name on
LinkedIn (the predefined ``COUNTRY`` question) and on Google Ads (the ``COUNTRY`` field).

Every number is one libphonenumber holds valid for its region, so a loader that parses it in the
lead's own country stores ``e164``; one that parses it in the default region stores nothing or a
wrong number. The Meta, LinkedIn and Google Ads datasets each add a few of these leads
(:data:`META`, :data:`LINKEDIN`, :data:`GOOGLE_ADS`) after their random ones, from seeds of
their own, so nothing else in them moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.sandbox.people import Person


@dataclass(frozen=True, slots=True)
class Abroad:
    """One person abroad: what they type, and the E.164 number a correct load stores."""

    first_name: str
    last_name: str
    email: str
    company: str
    job_title: str
    city: str
    country_code: str  # ISO 3166-1 alpha-2
    country: str  # the country's English name
    local_phone: str  # as typed: national format, trunk prefix, no country code
    e164: str

    def person(self) -> Person:
        """As a pool ``Person`` (phone: the local format; index: past any pool's size)."""
        return Person(FIRST_INDEX + ABROAD.index(self), self.first_name, self.last_name,
                      self.email, self.local_phone, self.company, self.job_title, self.country,
                      self.country_code, self.city)  # fmt: skip

    def given(self, country: str) -> dict[str, str]:
        """Answers to the predefined questions by their English key (Meta's keys; Google
        Ads' field types in upper case), ``country`` answering the country question."""
        return {"full_name": f"{self.first_name} {self.last_name}", "email": self.email,
                "first_name": self.first_name, "last_name": self.last_name,
                "phone_number": self.local_phone, "company_name": self.company,
                "job_title": self.job_title, "city": self.city, "country": country}  # fmt: skip


# Indexes past any pool size, so these people never collide with a drawn one.
FIRST_INDEX = 900_000
ABROAD = (
    Abroad("Mei-Ling", "Chen", "meiling.chen@example.net", "Formosa Data", "Marketing Manager",
           "Taipei", "TW", "Taiwan", "0912 345 678", "+886912345678"),
    Abroad("Oliver", "Bennett", "oliver.bennett@example.co.uk", "Thames Analytics",
           "Head of Growth", "London", "GB", "United Kingdom", "020 7946 0958", "+442079460958"),
    Abroad("Jonas", "Becker", "jonas.becker@example.de", "Spree Software", "CMO", "Berlin", "DE",
           "Germany", "030 12345678", "+493012345678"),
    Abroad("Haruto", "Sato", "haruto.sato@example.jp", "Sakura Systems", "Sales Director",
           "Tokyo", "JP", "Japan", "03-1234-5678", "+81312345678"),
    Abroad("Priya", "Nair", "priya.nair@example.in", "Deccan Cloud", "Demand Gen Lead",
           "Bengaluru", "IN", "India", "098765 43210", "+919876543210"),
    Abroad("Aroha", "Walker", "aroha.walker@example.co.nz", "Harbour Labs", "Founder", "Auckland",
           "NZ", "New Zealand", "021 123 4567", "+64211234567"),
)  # fmt: skip
BY_CODE = {person.country_code: person for person in ABROAD}

# Who submits where. Meta: the Free Trial form, which asks for the phone and the country
# (answered with an ISO code); LinkedIn: the organization's international contact form;
# Google Ads: one lead per client account (the UK one is read by a source of its own).
META = ("TW", "GB", "JP")
META_FORM = "Free Trial - Instagram"
LINKEDIN = ("DE", "IN", "TW")
LINKEDIN_FORM = "Contact us - international"
GOOGLE_ADS = {"1234567890": "GB", "5550001234": "IN", "8880005678": "NZ", "7770004321": "TW"}
