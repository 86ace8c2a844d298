"""The LinkedIn sandbox's Lead Sync over real HTTP: owners and lead types, paging, filters,
form lookups and projections."""

from __future__ import annotations

from datetime import timedelta

from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import LinkedInDataset, ms, versioned_form_urn
from leadflow.sandbox.people import person
from tests.sandbox.linkedin.restli_client import (
    ACCOUNT_A,
    ACCOUNT_B,
    ORG,
    RESPONSES,
    Client,
    enc,
    leads_query,
    owner,
)


# -- lead sync ---------------------------------------------------------------------------------
def test_paging_through_every_owner_and_lead_type(shared: Client, dataset: LinkedInDataset) -> None:
    for urn, lead_type in (
        (ACCOUNT_A, "SPONSORED"),
        (ACCOUNT_B, "SPONSORED"),
        (ORG, "COMPANY"),
        (ORG, "EVENT"),
    ):
        fetched = shared.all_leads(urn, lead_type, count=17)
        assert fetched == dataset.responses(urn, lead_type)
        assert [lead["submittedAt"] for lead in fetched] == sorted(
            (lead["submittedAt"] for lead in fetched), reverse=True
        )
    assert shared.all_leads(ORG, "ORGANIZATION_PRODUCT") == []


def test_paging_defaults_links_and_count_cap(shared: Client) -> None:
    first = shared.get(RESPONSES, leads_query(ACCOUNT_A, "SPONSORED")).json()
    assert (first["paging"]["start"], first["paging"]["count"], len(first["elements"])) == (
        0,
        10,
        10,
    )
    (link,) = first["paging"]["links"]
    assert (
        link["rel"] == "next"
        and "start=10&count=10" in link["href"]
        and "owner=(sponsoredAccount:" in link["href"]
    )
    followed = shared.http.get(shared.base + link["href"], timeout=10).json()
    assert followed["paging"]["start"] == 10
    assert {lk["rel"] for lk in followed["paging"]["links"]} == {"prev", "next"}
    big = shared.get(RESPONSES, leads_query(ACCOUNT_A, "SPONSORED", count=500)).json()
    assert big["paging"]["count"] == 100 and len(big["elements"]) == 100


def test_strict_count_and_restli(dataset: LinkedInDataset) -> None:
    with LinkedInSandbox(dataset, clamp_count=False, strict_restli=True) as strict:
        client = Client(strict)
        assert (
            client.get(RESPONSES, leads_query(ACCOUNT_A, "SPONSORED", count=101)).status_code == 400
        )
        raw = f"q=owner&owner=(sponsoredAccount:{ACCOUNT_A})&leadType=(leadType:SPONSORED)"
        assert client.get(RESPONSES, raw).status_code == 400


def test_lead_type_must_fit_the_owner(shared: Client) -> None:
    for urn, lead_type in ((ORG, "SPONSORED"), (ACCOUNT_A, "COMPANY"), (ACCOUNT_A, "BOGUS")):
        assert shared.get(RESPONSES, leads_query(urn, lead_type)).status_code == 400
    assert shared.get(RESPONSES, f"q=owner&owner={owner(ACCOUNT_A)}").status_code == 400
    stranger = shared.get(RESPONSES, leads_query("urn:li:sponsoredAccount:1", "SPONSORED"))
    assert stranger.status_code == 403 and stranger.json()["code"] == "ACCESS_DENIED"


def test_time_range_test_leads_and_form_filters(shared: Client, dataset: LinkedInDataset) -> None:
    start, end = ms(DEFAULT_ANCHOR - timedelta(days=20)), ms(DEFAULT_ANCHOR - timedelta(days=5))
    window = shared.all_leads(
        ACCOUNT_A, "SPONSORED", submittedAtTimeRange=f"(start:{start},end:{end})"
    )
    assert window == dataset.responses(ACCOUNT_A, "SPONSORED", start_ms=start, end_ms=end)
    assert window and all(start <= lead["submittedAt"] < end for lead in window)
    edge = window[-1]["submittedAt"]
    assert window[-1] in shared.all_leads(
        ACCOUNT_A, "SPONSORED", submittedAtTimeRange=f"(start:{edge})"
    )
    assert window[-1] not in shared.all_leads(
        ACCOUNT_A, "SPONSORED", submittedAtTimeRange=f"(end:{edge})"
    )
    everything = shared.all_leads(ACCOUNT_A, "SPONSORED", limitedToTestLeads="false")
    tests = shared.all_leads(ACCOUNT_A, "SPONSORED", limitedToTestLeads="true")
    assert tests and all(lead["testLead"] for lead in tests)
    assert set(map(str, tests)) < set(map(str, everything))  # false = not limited: all leads
    urn = versioned_form_urn(7100102)
    by_form = shared.all_leads(ACCOUNT_A, "SPONSORED", versionedLeadGenFormUrn=enc(urn))
    assert by_form and all(lead["versionedLeadGenFormUrn"] == urn for lead in by_form)
    assert by_form == shared.all_leads(
        ACCOUNT_A, "SPONSORED", versionedLeadGenFormUrn=urn
    )  # lenient


def test_form_lookup_joins_question_ids(shared: Client, dataset: LinkedInDataset) -> None:
    forms: dict[str, dict] = {}
    page = shared.get(RESPONSES, leads_query(ACCOUNT_B, "SPONSORED", count=40)).json()
    for lead in page["elements"]:
        form_id = lead["versionedLeadGenFormUrn"].split("leadGenForm:")[1].split(",")[0]
        if form_id not in forms:
            forms[form_id] = shared.get(f"/rest/leadForms/{form_id}").json()
        questions = {q["questionId"]: q for q in forms[form_id]["content"]["questions"]}
        joined = {
            questions[a["questionId"]].get("predefinedField"): a["answerDetails"]
            for a in lead["formResponse"]["answers"]
        }
        who = dataset.people[lead["id"]]
        assert joined["WORK_EMAIL"]["textQuestionAnswer"]["answer"].startswith(
            who.email.split("@")[0]
        )
        assert joined["FIRST_NAME"]["textQuestionAnswer"]["answer"] == who.first_name
    assert forms["7100203"]["content"]["questions"][1]["question"]["localized"] == {
        "de_DE": "Vorname"
    }
    by_urn = shared.get("/rest/leadForms/" + enc("urn:li:leadGenForm:7100203"))
    assert by_urn.json() == forms["7100203"]
    assert shared.get("/rest/leadForms/urn:li:leadGenForm:7100203").status_code == 400
    assert shared.get("/rest/leadForms/999").status_code == 404
    listed = shared.get("/rest/leadForms", f"q=owner&owner={owner(ORG)}").json()
    assert [f["id"] for f in listed["elements"]] == [7100304, 7100305, 7100306]
    assert listed["paging"]["total"] == 3


def test_projection_and_single_lead(shared: Client, dataset: LinkedInDataset) -> None:
    fields = "id,submittedAt,testLead,form:(hiddenFields,name)"
    (lead,) = shared.get(
        RESPONSES, leads_query(ACCOUNT_A, "SPONSORED", count=1, fields=fields)
    ).json()["elements"]
    assert set(lead) == {"id", "submittedAt", "testLead", "form"}
    assert set(lead["form"]) == {"hiddenFields", "name"}
    full = shared.get(f"{RESPONSES}/{enc(lead['id'])}").json()
    assert full == next(item for item in dataset.leads if item["id"] == lead["id"])
    assert shared.get(f"{RESPONSES}/nope").status_code == 404


def test_added_response_is_served(sandbox: LinkedInSandbox) -> None:
    added = sandbox.add_response(
        7100304, who=person(7), submitted_at=DEFAULT_ANCHOR - timedelta(minutes=5)
    )
    newest = Client(sandbox).get(RESPONSES, leads_query(ORG, "COMPANY", count=1)).json()["elements"]
    assert newest == [added] and sandbox.dataset.answers_by_field(added)["EMAIL"] == person(7).email
