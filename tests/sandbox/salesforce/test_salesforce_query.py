"""The Salesforce sandbox's REST query resources and SOQL, exercised over real HTTP."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.sandbox.people import person
from leadflow.sandbox.salesforce.app import SalesforceSandbox
from leadflow.sandbox.salesforce.data import CONVERTED, OPEN, POOL_SIZE
from leadflow.sandbox.salesforce.ids import to18
from leadflow.sandbox.salesforce.seed import seed_org
from tests.sandbox.salesforce.sf_client import Client

NEXT = re.compile(r"^/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-(\d+)$")


@pytest.fixture(scope="module")
def sf() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox.unthrottled(2500) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(sf: SalesforceSandbox) -> Client:
    return Client(sf)


def test_paging_follows_next_records_url_in_batches(sf: SalesforceSandbox, client: Client) -> None:
    live = len(sf.store.rows("Lead"))
    first = client.query("SELECT Id FROM Lead", batch=1000).json()
    assert (first["totalSize"], first["done"], len(first["records"])) == (live, False, 1000)
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert NEXT.match(first["nextRecordsUrl"]).group(1) == "1000"
    ids = [r["Id"] for r in client.records("SELECT Id FROM Lead", batch=1000)]
    assert len(ids) == len(set(ids)) == live
    default = client.query("SELECT Id FROM Lead").json()
    assert (
        len(default["records"]) == 2000 and NEXT.match(default["nextRecordsUrl"]).group(1) == "2000"
    )
    tiny = client.query("SELECT Id FROM Lead", batch=10).json()
    assert len(tiny["records"]) == 200  # the minimum batch size
    last = client.query("SELECT Id FROM Lead LIMIT 5").json()
    assert last["done"] and "nextRecordsUrl" not in last and last["totalSize"] == 5


def test_a_bad_locator_is_refused(client: Client) -> None:
    answer = client.get("/query/01g5g0000000999AAA-2000")
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_records_carry_attributes_and_nested_relationships(client: Client) -> None:
    soql = "SELECT Id, Name, Owner.Name, Owner.UserRole.Name, SystemModstamp, ConvertedDate FROM Lead LIMIT 1"
    record = client.query(soql).json()["records"][0]
    assert record["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v62.0/sobjects/Lead/{record['Id']}",
    }
    assert list(record) == ["attributes", "Id", "Name", "Owner", "SystemModstamp", "ConvertedDate"]
    assert record["Owner"]["attributes"]["type"] == "User" and record["Owner"]["Name"]
    assert record["Owner"]["UserRole"]["attributes"]["type"] == "UserRole"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$", record["SystemModstamp"])
    converted = client.query(
        "SELECT ConvertedDate, ConvertedContact.Email FROM Lead WHERE IsConverted = true LIMIT 1"
    )
    row = converted.json()["records"][0]
    assert (
        re.match(r"^\d{4}-\d\d-\d\d$", row["ConvertedDate"]) and "Email" in row["ConvertedContact"]
    )
    unconverted = client.query(
        "SELECT ConvertedContact.Email FROM Lead WHERE IsConverted = false LIMIT 1"
    )
    assert unconverted.json()["records"][0]["ConvertedContact"] is None


def test_query_all_alone_sees_deleted_rows(sf: SalesforceSandbox, client: Client) -> None:
    deleted = [
        lead["Id"] for lead in sf.store.rows("Lead", include_deleted=True) if lead["IsDeleted"]
    ]
    assert deleted
    live = {r["Id"] for r in client.records("SELECT Id FROM Lead")}
    every = client.records("SELECT Id, IsDeleted FROM Lead", all_rows=True)
    assert not live & set(deleted) and {r["Id"] for r in every} == live | set(deleted)
    assert {r["Id"] for r in every if r["IsDeleted"]} == set(deleted)
    assert client.query("SELECT Id FROM Lead WHERE IsDeleted = true").json()["totalSize"] == 0


@pytest.mark.parametrize(
    "literal", ["2026-11-01T00:00:00Z", "2026-11-01T00:00:00+00:00", "2026-11-01T01:00:00+01:00"]
)
def test_datetime_literals_in_every_documented_form(
    sf: SalesforceSandbox, client: Client, literal: str
) -> None:
    cutoff = datetime(2026, 11, 1, tzinfo=UTC)
    expected = sum(1 for lead in sf.store.rows("Lead") if lead["SystemModstamp"] > cutoff)
    answer = client.query(f"SELECT Id FROM Lead WHERE SystemModstamp > {literal}")
    assert answer.json()["totalSize"] == expected > 0


def test_keyset_paging_on_a_shared_modstamp_loses_nothing(
    sf: SalesforceSandbox, client: Client
) -> None:
    stamps = Counter(lead["SystemModstamp"] for lead in sf.store.rows("Lead"))
    tied, count = stamps.most_common(1)[0]
    assert count >= 25  # the mass update
    stamp = tied.strftime("%Y-%m-%dT%H:%M:%SZ")
    seen, last_id = [], "000000000000000AAA"
    while True:
        soql = (
            f"SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp > {stamp} OR "
            f"(SystemModstamp = {stamp} AND Id > '{last_id}') ORDER BY SystemModstamp, Id LIMIT 7"
        )
        rows = client.query(soql).json()["records"]
        if not rows or rows[0]["SystemModstamp"] != tied.strftime("%Y-%m-%dT%H:%M:%S.000+0000"):
            break
        seen += [r["Id"] for r in rows if r["SystemModstamp"].startswith(stamp[:19])]
        last_id = rows[-1]["Id"]
    assert len(seen) == len(set(seen)) == count


def test_filters_order_and_limit(sf: SalesforceSandbox, client: Client) -> None:
    soql = (
        "SELECT Id, Status, CreatedDate FROM Lead WHERE Status IN ('Working - Contacted', 'closed - converted') "
        "AND Email != null ORDER BY CreatedDate DESC LIMIT 30"
    )
    rows = client.query(soql).json()["records"]
    assert len(rows) == 30 and {r["Status"] for r in rows} <= {"Working - Contacted", CONVERTED}
    assert [r["CreatedDate"] for r in rows] == sorted(
        (r["CreatedDate"] for r in rows), reverse=True
    )
    newest = max(sf.store.rows("Lead"), key=lambda lead: lead["CreatedDate"])
    top = client.query("SELECT Id FROM Lead ORDER BY CreatedDate DESC LIMIT 1").json()["records"]
    assert top[0]["Id"] == newest["Id"]
    nulls = client.query("SELECT Id FROM Lead WHERE Email = null").json()["totalSize"]
    assert nulls == sum(1 for lead in sf.store.rows("Lead") if lead["Email"] is None) > 0
    not_open = client.query("SELECT Id FROM Lead WHERE NOT Status = 'Open - Not Contacted'").json()[
        "totalSize"
    ]
    assert not_open == sum(1 for lead in sf.store.rows("Lead") if lead["Status"] != OPEN)
    short = client.query(f"SELECT Id FROM Lead WHERE Id = '{newest['Id'][:15]}'").json()["records"]
    assert [r["Id"] for r in short] == [newest["Id"]]


@pytest.mark.parametrize(
    ("soql", "code", "says"),
    [
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        (
            "SELECT Id FROM Lead WHERE IsConverted = true AND Status = 'x' OR Email = null",
            "MALFORMED_QUERY",
            "unexpected token: OR",
        ),
        ("SELECT Id Lead", "MALFORMED_QUERY", "unexpected token"),
        (
            "SELECT Id FROM Lead WHERE SystemModstamp > 2026-11-01T00:00:00 00:00",
            "MALFORMED_QUERY",
            "ERROR at Row:1:Column:",
        ),
        (
            "SELECT Id, Nickname FROM Lead",
            "INVALID_FIELD",
            "No such column 'Nickname' on entity 'Lead'",
        ),
        (
            "SELECT Id, Boss.Name FROM Lead",
            "INVALID_FIELD",
            "Didn't understand relationship 'Boss'",
        ),
        ("SELECT Id FROM Leads", "INVALID_TYPE", "sObject type 'Leads' is not supported"),
        (
            "SELECT Id FROM Lead WHERE SystemModstamp > '2026-11-01T00:00:00Z'",
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Lead WHERE Email = 5",
            "INVALID_FIELD",
            "must be of type string and should be enclosed in quotes",
        ),
    ],
    ids=[
        "eof",
        "and-or-mixed",
        "no-from",
        "unencoded-plus",
        "unknown-field",
        "unknown-relationship",
        "unknown-object",
        "quoted-datetime",
        "unquoted-string",
    ],
)
def test_bad_soql_gets_the_documented_error_body(
    client: Client, soql: str, code: str, says: str
) -> None:
    answer = client.query(soql)
    body = answer.json()
    assert answer.status_code == 400 and len(body) == 1 and set(body[0]) == {"message", "errorCode"}
    assert body[0]["errorCode"] == code and says in body[0]["message"]


def test_lead_history_agrees_with_lead_status(sf: SalesforceSandbox, client: Client) -> None:
    history = client.records(
        "SELECT LeadId, Field, OldValue, NewValue, CreatedDate FROM LeadHistory ORDER BY CreatedDate, Id"
    )
    last: dict[str, str] = {}
    for row in history:
        if row["Field"] == "Status":
            assert last.get(row["LeadId"], OPEN) == row["OldValue"]
            last[row["LeadId"]] = row["NewValue"]
    for lead in client.records("SELECT Id, Status, IsConverted FROM Lead"):
        assert last.get(lead["Id"], OPEN) == lead["Status"]
        assert lead["IsConverted"] == (lead["Status"] == CONVERTED)
    bad = client.query("SELECT Id, SystemModstamp FROM LeadHistory")
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_store_changes_show_in_incremental_queries() -> None:
    with SalesforceSandbox.unthrottled(40) as sf:
        own = Client(sf)
        lead = sf.records("Lead")[0]
        at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
        sf.store.update(
            "Lead",
            lead["Id"],
            {"Status": "Working - Contacted" if lead["Status"] == OPEN else OPEN},
            at,
        )
        added = sf.store.add(
            "Lead",
            {"LastName": "Doe", "Company": "Acme", "Status": OPEN},
            at + timedelta(minutes=1),
        )
        sf.delete_record("Lead", sf.records("Lead")[1]["Id"], at + timedelta(minutes=2))
        since = "SELECT Id, Name, IsDeleted FROM Lead WHERE SystemModstamp >= 2026-12-01T09:30:00Z ORDER BY SystemModstamp"
        assert [r["Id"] for r in own.records(since)] == [lead["Id"], added["Id"]]
        assert [r["IsDeleted"] for r in own.records(since, all_rows=True)] == [False, False, True]
        rows = own.records(
            f"SELECT Field, CreatedDate FROM LeadHistory WHERE LeadId = '{lead['Id']}' ORDER BY CreatedDate"
        )
        assert (rows[-1]["Field"], rows[-1]["CreatedDate"]) == (
            "Status",
            "2026-12-01T09:30:00.000+0000",
        )
        contact = sf.convert_lead(added["Id"], at + timedelta(minutes=3))
        mine = own.records(
            f"SELECT Status, ConvertedContactId FROM Lead WHERE Id = '{added['Id']}'"
        )[0]
        assert (mine["Status"], mine["ConvertedContactId"]) == (CONVERTED, contact["Id"])


def test_the_seed_is_deterministic_and_shares_people_with_other_platforms() -> None:
    one, two = seed_org(300, seed=5), seed_org(300, seed=5)
    assert one.rows == two.rows
    assert seed_org(300, seed=6).rows["Lead"] != one.rows["Lead"]
    pool = {person(i).email for i in range(POOL_SIZE)}
    shared = [lead for lead in one.rows["Lead"] if lead["Email"] in pool]
    assert 0.4 < len(shared) / 300 < 0.75
    assert all(
        to18(lead["Id"][:15]) == lead["Id"] and lead["Id"].startswith("00Q")
        for lead in one.rows["Lead"]
    )
    prefixes = {name: {row["Id"][:3] for row in rows} for name, rows in one.rows.items()}
    assert (
        prefixes["Task"] == {"00T"}
        and prefixes["Event"] == {"00U"}
        and prefixes["LeadHistory"] == {"017"}
    )
    assert prefixes["CampaignMember"] == {"00v"} and prefixes["UserRole"] == {"00E"}
    leads = {lead["Id"]: lead for lead in one.rows["Lead"]}
    contacts = {lead["ConvertedContactId"]: lead for lead in leads.values() if lead["IsConverted"]}
    for task in one.rows["Task"]:
        owner = leads.get(task["WhoId"]) or contacts[task["WhoId"]]
        assert task["CreatedDate"] >= owner["CreatedDate"]


def test_count_answers_the_size_without_records(sf: SalesforceSandbox, client: Client) -> None:
    # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_count.htm
    opened = sum(1 for row in sf.store.rows("Lead") if row["Status"] == OPEN)
    body = client.query(f"SELECT COUNT() FROM Lead WHERE Status = '{OPEN}'").json()
    assert body == {"totalSize": opened, "done": True, "records": []}
    everything = client.query("SELECT COUNT() FROM Lead", all_rows=True).json()
    assert everything["totalSize"] == len(sf.store.rows("Lead", include_deleted=True))
