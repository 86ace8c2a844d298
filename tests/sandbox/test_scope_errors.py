"""Each sandbox serves its platform's documented refusal for a token without the permission
an endpoint needs, on that endpoint only, and nothing of the kind with every permission."""

from __future__ import annotations

import requests

from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.scopes import OWNERS
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset
from leadflow.sandbox.mailchimp.app import MailchimpSandbox
from leadflow.sandbox.mailchimp.data import mailchimp_dataset
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from leadflow.sandbox.meta.errors import LEADS_RETRIEVAL


def test_hubspot_missing_scopes_is_a_403_naming_the_granular_scope():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token="t") as box:
        auth = {"Authorization": "Bearer t"}
        assert requests.get(box.base_url + "/crm/v3/owners", headers=auth).status_code == 200
        box.revoke_scope(OWNERS)
        refused = requests.get(box.base_url + "/crm/v3/owners", headers=auth)
        contacts = requests.get(box.base_url + "/crm/v3/objects/contacts", headers=auth)
    assert refused.status_code == 403 and contacts.status_code == 200
    body = refused.json()
    assert body["category"] == "MISSING_SCOPES" and body["status"] == "error"
    assert body["message"].startswith("This app hasn't been granted all required scopes")
    [error] = body["errors"]
    assert error["context"]["requiredGranularScopes"] == ["crm.objects.owners.read"]
    assert body["correlationId"] == refused.headers["X-HubSpot-Correlation-Id"]


def test_meta_missing_permission_is_code_200_naming_it():
    dataset = meta_dataset(20)
    with MetaSandbox(dataset, token="t", permissions=frozenset({LEADS_RETRIEVAL})) as box:
        auth = {"Authorization": "Bearer t"}
        account = dataset.ad_accounts[0].id
        refused = requests.get(box.url(f"/act_{account}/insights"), headers=auth)
        forms = requests.get(box.url(f"/{dataset.pages[0].id}/leadgen_forms"), headers=auth)
    assert refused.status_code == 403 and forms.status_code == 200
    error = refused.json()["error"]
    assert error["code"] == 200 and error["type"] == "OAuthException"
    assert "ads_read" in error["message"] and error["fbtrace_id"]


def test_linkedin_missing_permission_is_access_denied_naming_the_resource():
    granted = frozenset({"r_marketing_leadgen_automation", "r_ads"})
    with LinkedInSandbox(linkedin_dataset(10), token="t", permissions=granted) as box:
        headers = {"Authorization": "Bearer t", "LinkedIn-Version": box.dataset.anchor.strftime("%Y%m"),
                   "X-Restli-Protocol-Version": "2.0.0"}  # fmt: skip
        refused = requests.get(box.base_url + "/rest/adAnalytics?q=analytics", headers=headers)
    assert refused.status_code == 403
    assert refused.json() == {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                              "message": "Not enough permissions to access: "
                              "adAnalytics.FINDER-analytics"}  # fmt: skip


def test_mailchimp_forbidden_is_the_glossary_problem_json():
    with MailchimpSandbox(mailchimp_dataset(10), forbidden=(r"^/campaigns",)) as box:
        auth = ("x", box.api_key)
        refused = requests.get(box.url("/campaigns"), auth=auth)
        lists = requests.get(box.url("/lists"), auth=auth)
    assert refused.status_code == 403 and lists.status_code == 200
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    body = refused.json()
    assert (body["status"], body["title"]) == (403, "Forbidden")
    assert body["detail"].startswith("You are not permitted to access this resource")
