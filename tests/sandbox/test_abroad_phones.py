"""People abroad (``leadflow.sandbox.abroad``) type their phone in their country's national
format and answer the country question: synced from the Meta, LinkedIn and Google Ads
sandboxes with a US default region, each such lead loads its phone in E.164 with its own
country's code, which parsing in the default region could not give."""

from __future__ import annotations

from collections.abc import Iterator

import phonenumbers
import pytest
import sqlalchemy as sa

from leadflow.models.records.contact import normalize_phone
from leadflow.models.warehouse.tables import leads
from leadflow.sandbox.abroad import ABROAD, BY_CODE, GOOGLE_ADS, LINKEDIN, META
from tests.reliability.platforms import (
    Platforms,
    fresh_warehouse,
    running_platforms,
    sync_platform,
)

UK_ACCOUNT = "7770004321"  # outside the manager: the demo reads it with a source of its own


@pytest.fixture(scope="module")
def platforms() -> Iterator[Platforms]:
    with running_platforms(contacts=10) as running:
        yield running


def test_every_local_number_is_valid_only_in_its_own_country():
    for who in ABROAD:
        parsed = phonenumbers.parse(who.local_phone, who.country_code)
        assert phonenumbers.is_valid_number(parsed), who.country_code
        assert not who.local_phone.startswith("+")
        assert normalize_phone(who.local_phone, who.country_code) == who.e164
        try:
            in_us = normalize_phone(who.local_phone, "US")
        except ValueError:
            in_us = None
        assert in_us != who.e164, who.country_code


def loaded(platforms: Platforms, tmp_path, source: str, **update) -> dict[str, tuple]:
    """email -> (phone, country) of what one sync of ``source`` stored."""
    config = platforms.sources[source].model_copy(update=update)
    engine = fresh_warehouse(f"sqlite:///{tmp_path / f'{source}.db'}")
    outcome = sync_platform(config, engine, "abroad")
    assert not outcome.errors, outcome.errors
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(leads.c.email, leads.c.phone, leads.c.country).where(leads.c.source == source)
        ).all()
    engine.dispose()
    return {email: (phone, country) for email, phone, country in rows}


@pytest.mark.parametrize(
    ("source", "codes", "answer"),
    [
        ("meta", META, "code"),
        ("linkedin", LINKEDIN, "name"),
        ("google_ads", tuple(c for a, c in GOOGLE_ADS.items() if a != UK_ACCOUNT), "name"),
    ],
)
def test_a_local_phone_with_a_country_answer_loads_with_its_country_code(
    platforms, tmp_path, source, codes, answer
):
    found = loaded(platforms, tmp_path, source)
    assert len(found) > 100  # the whole sandbox account loaded, not just these leads
    for code in codes:
        who = BY_CODE[code]
        assert found[who.email] == (who.e164, who.country_code if answer == "code" else who.country)


def test_the_google_ads_account_outside_the_manager_has_its_lead_abroad_too(platforms, tmp_path):
    found = loaded(
        platforms, tmp_path, "google_ads", customer_ids=[UK_ACCOUNT], login_customer_id=None
    )
    who = BY_CODE[GOOGLE_ADS[UK_ACCOUNT]]
    assert found[who.email] == (who.e164, who.country)
