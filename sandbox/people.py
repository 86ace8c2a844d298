"""A deterministic pool of synthetic people that every platform's sandbox data draws from.

Person ``i`` is the same human on every platform (same name, email, phone, company), so
drawing indices from one shared range makes some people appear on several platforms, as
real leads do. Values come from ``random.Random`` seeded by the index: no Faker, no I/O.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from leadflow.sandbox.data import (
    COMPANIES,
    COUNTRIES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    JOB_TITLES,
    LAST_NAMES,
)

COUNTRY_CODES = {"United States": "US", "USA": "US", "United Kingdom": "GB", "UK": "GB",
                 "Canada": "CA", "Australia": "AU", "France": "FR", "Germany": "DE"}  # fmt: skip
PHONE_FORMATS = {
    "US": "+1 415 555 01{n:02d}",
    "CA": "+1 604 555 01{n:02d}",
    "GB": "+44 20 7946 0{m:03d}",
    "AU": "+61 2 5550 {m:04d}",
    "FR": "+33 1 99 00 {n:02d} {k:02d}",
    "DE": "+49 30 {m:03d}{n:02d}{k:02d}",
}


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic human, identical wherever the pool is used."""

    index: int
    first_name: str
    last_name: str
    email: str
    phone: str | None
    company: str
    job_title: str
    country: str | None
    country_code: str | None
    city: str | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def person(index: int) -> Person:
    """Person number ``index`` of the pool (any non-negative integer)."""
    rng = random.Random(f"leadflow-person-{index}")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country, cities, _style, _weight = rng.choices(COUNTRIES, weights=[c[-1] for c in COUNTRIES])[0]
    code = COUNTRY_CODES.get(country) if country else None
    local = f"{first}.{last}{index}".lower().replace("ü", "u").replace("'", "")
    phone = None
    if code and rng.random() < 0.8:
        n, m, k = rng.randrange(100), rng.randrange(1000), rng.randrange(100)
        phone = PHONE_FORMATS[code].format(n=n, m=m, k=k)
    return Person(
        index=index,
        first_name=first,
        last_name=last,
        email=f"{local}@{rng.choice(EMAIL_DOMAINS)}",
        phone=phone,
        company=rng.choice(COMPANIES),
        job_title=rng.choice(JOB_TITLES),
        country=country,
        country_code=code,
        city=rng.choice(cities),
    )


def draw(rng: random.Random, count: int, pool_size: int) -> list[Person]:
    """``count`` people drawn from the first ``pool_size`` of the pool (repeats allowed:
    the same person may submit twice)."""
    return [person(rng.randrange(pool_size)) for _ in range(count)]
