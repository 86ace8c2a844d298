"""A token without one endpoint's permission: each platform's documented refusal becomes a
``MissingScope`` naming the permission the platform names, asked once (never retried), while
the endpoints the token may read still answer. The sync adds the stream and the switch."""

from __future__ import annotations

import pickle
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from leadflow.connectors.errors import AuthError, MissingScope
from leadflow.connectors.hubspot.client import classify_error as hubspot_classify
from leadflow.connectors.hubspot.client import open_session as hubspot_session
from leadflow.connectors.hubspot.config import HubSpotConfig
from leadflow.connectors.hubspot.connector import pages as hubspot_pages
from leadflow.connectors.hubspot.sales import owner_pages, touch_pages
from leadflow.connectors.linkedin.config import LinkedInConfig
from leadflow.connectors.linkedin.connector import open_session as linkedin_session
from leadflow.connectors.linkedin.connector import pages as linkedin_pages
from leadflow.connectors.linkedin.connector import spend as linkedin_spend
from leadflow.connectors.meta.connector import open_session as meta_session
from leadflow.connectors.meta.connector import pages as meta_pages
from leadflow.connectors.meta.connector import spend as meta_spend
from leadflow.connectors.meta.graph import classify_error as meta_classify
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.scopes import OWNERS
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from leadflow.sandbox.meta.errors import LEADS_RETRIEVAL
from tests.connectors.meta.support import sandbox_config

TOKEN = "scope-test-t0ken-123"


def answer(status: int, body: dict[str, Any], path: str = "/crm/v3/owners") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.request = requests.Request("GET", f"http://127.0.0.1{path}").prepare()
    return response


def never(_: str) -> None:
    return None


# -- HubSpot ------------------------------------------------------------------------------
def test_hubspot_owners_without_their_scope_name_it_and_leave_contacts_and_touches_readable():
    with HubSpotSandbox.unthrottled(hubspot_contacts(30), token=TOKEN) as box:
        box.revoke_scope(OWNERS)
        config = HubSpotConfig(base_url=box.base_url, access_token=TOKEN, portal_id="p",
                               backoff_seconds=0.01)  # fmt: skip
        client = hubspot_session(config)
        try:
            with pytest.raises(MissingScope) as caught:
                list(owner_pages(client, "p", never))
            owners_asked = [r for r in box.requests if r.path.startswith("/crm/v3/owners")]
            assert len(owners_asked) == 1  # not retried
            assert sum(len(page.records) for page in hubspot_pages(client, "p", never)) == 30
            assert list(touch_pages(client, "p", never))
        finally:
            client.close()
    error = caught.value
    assert isinstance(error, AuthError) and error.scope == "crm.objects.owners.read"
    assert "scope" in str(error) and TOKEN not in str(error)
    named = error.in_stream("sales_reps", "sources.hubspot.streams.sales_reps")
    assert str(named).startswith("hubspot: stream sales_reps: the credentials lack the "
                                 "crm.objects.owners.read scope (HTTP 403 MISSING_SCOPES")  # fmt: skip
    assert str(named).endswith("or switch the stream off with "
                               "sources.hubspot.streams.sales_reps: false")  # fmt: skip
    again = pickle.loads(pickle.dumps(named))  # a Dask worker's failure crosses processes
    assert isinstance(again, MissingScope) and str(again) == str(named)


@pytest.mark.parametrize(
    ("errors", "named"),
    [
        pytest.param([{"message": "One or more of the following scopes are required.",
                       "context": {"requiredScopes": ["contacts"]}}], "contacts", id="older-requiredScopes"),
        pytest.param([{"message": "One or more of the following scopes are required.",
                       "context": {"requiredGranularScopes": ["a.read", "b.read"]}}],
                     "one of a.read, b.read", id="one-of"),
        pytest.param([{"message": "All of the following scopes are required.",
                       "context": {"requiredGranularScopes": ["a.read", "b.read"]}}],
                     "all of a.read, b.read", id="all-of"),
        pytest.param([], None, id="none-named"),
    ],
)  # fmt: skip
def test_hubspot_missing_scopes_bodies_name_what_they_require(errors, named):
    body = {"status": "error", "message": "This app hasn't been granted all required scopes",
            "category": "MISSING_SCOPES", "errors": errors}  # fmt: skip
    error = hubspot_classify(answer(403, body), body)
    assert isinstance(error, MissingScope) and error.scope == named
    assert "GET /crm/v3/owners" in str(error)


# -- Meta ---------------------------------------------------------------------------------
def test_meta_insights_without_ads_read_name_it_while_leads_still_load():
    dataset = meta_dataset(40)
    token = "sandbox-meta-token-0123"
    with MetaSandbox(dataset, token=token, permissions=frozenset({LEADS_RETRIEVAL})) as box:
        client = meta_session(sandbox_config(box))
        try:
            loaded = [r for page in dataset.pages for p in meta_pages(client, page.id, never)
                      for r in p.records]  # fmt: skip
            box.clear_requests()
            account = dataset.ad_accounts[0].id
            today = date(2026, 11, 20)
            with pytest.raises(MissingScope) as caught:
                list(meta_spend(client, account, today - timedelta(days=3), today))
            assert len(box.requests) == 1
        finally:
            client.close()
    assert len(loaded) == len(dataset.leads)
    assert caught.value.scope == "ads_read" and "code 200" in str(caught.value)


@pytest.mark.parametrize(
    ("code", "message", "scope"),
    [
        (10, "(#10) Requires leads_retrieval permission", "leads_retrieval"),
        (200, "(#200) Ad account owner has NOT grant ads_management or ads_read permission",
         "ads_management or ads_read"),
        (294, "(#294) Managing advertisements requires an access token", None),
    ],
)  # fmt: skip
def test_meta_permission_codes_are_missing_scopes_but_190_is_not(code, message, scope):
    body = {"error": {"message": message, "type": "OAuthException", "code": code}}
    error = meta_classify(answer(403, body, "/v26.0/act_1/insights"), body)
    assert isinstance(error, MissingScope) and error.scope == scope
    expired = {"error": {"message": "expired", "type": "OAuthException", "code": 190}}
    token_error = meta_classify(answer(400, expired), expired)
    assert isinstance(token_error, AuthError) and not isinstance(token_error, MissingScope)


# -- LinkedIn -----------------------------------------------------------------------------
def _linkedin(box: LinkedInSandbox) -> LinkedInConfig:
    return LinkedInConfig(base_url=box.base_url, access_token=TOKEN,
                          sponsored_account_ids=[str(box.dataset.accounts[0]["id"])],
                          backoff_seconds=0.01)  # fmt: skip


def test_linkedin_analytics_without_r_ads_reporting_name_it_while_leads_still_load():
    granted = frozenset({"r_marketing_leadgen_automation", "r_ads"})
    with LinkedInSandbox(linkedin_dataset(20), token=TOKEN, permissions=granted) as box:
        account = str(box.dataset.accounts[0]["id"])
        client = linkedin_session(_linkedin(box))
        try:
            assert list(linkedin_pages(client, f"sponsoredAccount:{account}", never))
            box.clear_requests()
            today = box.dataset.anchor.date()
            with pytest.raises(MissingScope) as caught:
                list(linkedin_spend(client, account, today - timedelta(days=2), today))
            assert [r.path for r in box.requests].count("/rest/adAnalytics") == 1
        finally:
            client.close()
    assert caught.value.scope == "r_ads_reporting"
    assert "Not enough permissions to access: adAnalytics" in str(caught.value)


def test_linkedin_campaign_names_without_r_ads_are_skipped_not_fatal():
    granted = frozenset({"r_marketing_leadgen_automation", "r_ads_reporting"})
    with LinkedInSandbox(linkedin_dataset(20), token=TOKEN, permissions=granted) as box:
        account = str(box.dataset.accounts[0]["id"])
        client = linkedin_session(_linkedin(box))
        try:
            today = box.dataset.anchor.date()
            days = list(linkedin_spend(client, account, today - timedelta(days=30), today))
        finally:
            client.close()
    assert days and all(row.campaign_name is None for batch in days for row in batch)
