"""The SOQL a Salesforce sync sends, and the parsing of Bulk API 2.0 CSV results."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from leadflow.connectors.errors import (
    AuthError,
    MissingScope,
    RateLimited,
    TerminalError,
    TransientError,
)
from leadflow.connectors.salesforce.bulk import next_locator, parse_csv, whole_csv
from leadflow.connectors.salesforce.client import api_usage
from leadflow.connectors.salesforce.errors import (
    DailyLimitReached,
    QueryLocatorExpired,
    classify_error,
)
from leadflow.connectors.salesforce.extract import is_deleted, next_records_url
from leadflow.connectors.salesforce.soql import (
    ObjectSpec,
    bulk_query,
    count_query,
    ids_in,
    record_ids,
    rest_query,
    soql_datetime,
    window,
)

LEAD = ObjectSpec("Lead", ("Email", "CreatedDate"))
AT = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
LEAD_ID = "00Q5g00000AbCdEFGH"


def test_a_rest_query_is_an_inclusive_window_ordered_by_modstamp_then_id():
    assert rest_query(LEAD, AT) == (
        "SELECT Id, Email, CreatedDate, SystemModstamp, IsDeleted FROM Lead "
        "WHERE SystemModstamp >= 2026-03-01T09:30:15Z ORDER BY SystemModstamp ASC, Id ASC"
    )


def test_a_first_sync_reads_everything():
    assert "WHERE" not in rest_query(LEAD, None)
    assert count_query(LEAD, None) == "SELECT COUNT() FROM Lead"


def test_a_keyset_resume_reads_strictly_after_the_last_row_at_its_timestamp():
    clause = window(AT, (AT, LEAD_ID))
    assert clause == (
        "(SystemModstamp > 2026-03-01T09:30:15Z OR "
        f"(SystemModstamp = 2026-03-01T09:30:15Z AND Id > '{LEAD_ID}'))"
    )


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        pytest.param((AT.replace(microsecond=500_000), LEAD_ID), "SystemModstamp >= 2026-03-01T09:30:15Z", id="fraction"),
        pytest.param((AT, "x' OR Id != '"), "SystemModstamp >= 2026-03-01T09:30:15Z", id="odd-id"),
    ],
)  # fmt: skip
def test_a_keyset_it_cannot_write_exactly_falls_back_to_the_inclusive_window(after, expected):
    assert window(None, after) == expected


def test_datetimes_are_written_in_utc_and_floored_to_the_second():
    from datetime import timedelta, timezone

    berlin = datetime(2026, 3, 1, 10, 30, 15, 999_000, tzinfo=timezone(timedelta(hours=1)))
    assert soql_datetime(berlin) == "2026-03-01T09:30:15Z"


def test_a_bulk_query_has_no_order_by():
    query = bulk_query(LEAD, AT)
    assert "ORDER BY" not in query
    assert query.endswith("FROM Lead WHERE SystemModstamp >= 2026-03-01T09:30:15Z")


def test_an_object_without_is_deleted_does_not_select_it():
    assert "IsDeleted" not in rest_query(ObjectSpec("User", ("Email",), deletable=False), None)


def test_only_well_formed_record_ids_are_kept_once_each():
    assert record_ids(["0035g00000AbCdEFGH", None, "", "x') OR", "0035g00000AbCdEFGH"]) == [
        "0035g00000AbCdEFGH"
    ]


def test_in_lists_quote_only_record_ids():
    assert ids_in("ConvertedContactId", ["0035g00000AbCdEFGH", "x') OR ('1"]) == (
        "ConvertedContactId IN ('0035g00000AbCdEFGH')"
    )


def test_a_reply_not_done_names_the_next_page_and_a_done_one_ends_it():
    assert next_records_url({"done": False, "nextRecordsUrl": "/services/data/v62.0/query/01g-2000"}) == (
        "/services/data/v62.0/query/01g-2000"
    )  # fmt: skip
    assert next_records_url({"done": True, "nextRecordsUrl": "/ignored"}) is None


def test_a_reply_not_done_without_a_next_url_is_refused_rather_than_cut_short():
    with pytest.raises(TerminalError, match="nextRecordsUrl"):
        next_records_url({"done": False, "records": []})


def test_csv_rows_become_records_shaped_like_rest_ones():
    text = (
        '\ufeff"Id","Email","IsDeleted","UserRole.Name","Owner.Manager.Name"\n'
        '"005A","a@example.com","false","SDR",""\n'
        '"005B","","true","","Pat"\n'
    )
    first, second = parse_csv(text, "User")
    assert first == {
        "attributes": {"type": "User"}, "Id": "005A", "Email": "a@example.com",
        "IsDeleted": "false", "UserRole": {"Name": "SDR"}, "Owner": {"Manager": {"Name": None}},
    }  # fmt: skip
    assert second["Email"] is None and second["Owner"]["Manager"]["Name"] == "Pat"
    assert [is_deleted(first), is_deleted(second)] == [False, True]


def test_csv_quoted_commas_and_newlines_stay_in_their_cell():
    (row,) = parse_csv('"Id","Company"\n"00QA","Acme, Inc.\nEurope"\n', "Lead")
    assert row["Company"] == "Acme, Inc.\nEurope"


def test_a_csv_row_longer_than_its_header_is_refused():
    with pytest.raises(TerminalError, match="more cells"):
        parse_csv('"Id"\n"00QA","extra"\n', "Lead")


@pytest.mark.parametrize(
    ("header", "expected"),
    [("MTAwMDA", "MTAwMDA"), ("null", None), (None, None), ("", None)],
    ids=["locator", "null", "absent", "empty"],
)
def test_the_locator_header_names_the_next_set_until_it_is_null(header, expected):
    response = requests.Response()
    if header is not None:
        response.headers["Sforce-Locator"] = header
    assert next_locator(response) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("api-usage=10018/100000", (10018, 100000)),
        ("api-usage=18/5000, per-app-api-usage=17/250(appName=sample-app)", (18, 5000)),
        ("per-app-api-usage=17/250(appName=sample-app)", None),
        (None, None),
    ],
    ids=["documented", "with-per-app", "per-app-only", "absent"],
)
def test_the_limit_info_header_reads_the_org_usage(header, expected):
    assert api_usage(header) == expected


def answer(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.request = requests.Request(
        "GET", "https://x.my.salesforce.com/services/data/v62.0/query"
    ).prepare()
    return response


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", DailyLimitReached),
        (403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded", RateLimited),
        (401, "INVALID_SESSION_ID", "Session expired or invalid", AuthError),
        (400, "INVALID_QUERY_LOCATOR", "invalid query locator", QueryLocatorExpired),
        (400, "INVALID_FIELD", "No such column 'X__c' on entity 'Lead'", MissingScope),
        (503, "SERVER_UNAVAILABLE", "down", type(None)),
    ],
    ids=["daily", "concurrent", "session", "locator", "field", "server"],
)
def test_error_bodies_say_what_to_do(status, code, message, kind):
    body = [{"message": message, "errorCode": code}]
    assert type(classify_error(answer(status), body)) is kind


def csv_answer(body: bytes, records: str | None, kind: str = "text/csv") -> requests.Response:
    response = answer(200)
    response._content = body  # a response as the transport has read it whole
    response.headers["Content-Type"] = kind
    if records is not None:
        response.headers["Sforce-NumberOfRecords"] = records
    return response


WHOLE = '"Id","LastName"\n"00QA","Müller"\n"00QB","Ode\nLine"\n'.encode()


def test_a_whole_result_set_is_accepted_and_read_as_utf8():
    response = csv_answer(WHOLE, "2")
    assert whole_csv(response) is None
    assert "Müller" in response.text


@pytest.mark.parametrize(
    ("body", "records", "kind"),
    [
        pytest.param(WHOLE[:-9], "2", "text/csv", id="cut-mid-line"),
        pytest.param(WHOLE[: WHOLE.index(b'"00QB"')], "2", "text/csv", id="cut-at-a-line-end"),
        pytest.param(WHOLE[: WHOLE.index(b'"00QB"')], None, "text/csv; x", id="cut-no-count"),
        pytest.param(b"<html>busy</html>", None, "text/html", id="not-csv"),
    ],
)
def test_a_result_set_cut_short_is_asked_again(body, records, kind):
    failure = whole_csv(csv_answer(body, records, kind))
    if kind == "text/csv; x":  # no count and a whole last line: nothing shows the cut
        assert failure is None
    else:
        assert isinstance(failure, TransientError) and not isinstance(failure, TerminalError)
