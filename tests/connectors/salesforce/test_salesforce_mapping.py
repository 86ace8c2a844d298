"""Salesforce Leads, Tasks, Events and Users as leadflow records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.connectors.base import LeadContext
from leadflow.connectors.salesforce.connector import CONNECTOR
from leadflow.connectors.salesforce.sales import REPS_STREAM, TOUCHES_STREAM, path_value
from leadflow.models.records.activity import SalesTouch
from leadflow.models.records.leads import InvalidRecord
from leadflow.pipeline.mapping import map_records

CONTEXT = LeadContext("salesforce", "00D5g0000012345", "US")
LEAD_ID, CONTACT_ID, USER_ID = "00Q5g00000AbCdEFGH", "0035g00000AbCdEFGH", "0055g00000AbCdEFGH"


def lead(**fields) -> dict:
    record = {
        "attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{LEAD_ID}"},
        "Id": LEAD_ID, "Email": " Ada@Example.COM ", "Phone": "+1 415 555 0100",
        "FirstName": "ada", "LastName": "LOVELACE", "Company": "Analytical  Engines",
        "Title": "CTO", "Country": "United States", "City": "San Francisco",
        "CreatedDate": "2026-02-01T08:00:00.000+0000",
        "SystemModstamp": "2026-02-03T10:15:00.000+0000", "OwnerId": USER_ID,
        "Status": "Working - Contacted", "LeadSource": "Partner Referral",
        "IsConverted": False, "ConvertedDate": None, "ConvertedContactId": None,
        "IsDeleted": False, "campaign": None,
    }  # fmt: skip
    return {**record, **fields}


def test_a_lead_maps_its_columns_and_keeps_status_and_source_as_custom_fields():
    mapped = CONNECTOR.to_lead(lead(), CONTEXT)
    assert (mapped.source, mapped.source_lead_id, mapped.account_id) == (
        "salesforce", LEAD_ID, "00D5g0000012345",
    )  # fmt: skip
    assert mapped.email == "ada@example.com" and mapped.phone == "+14155550100"
    assert (mapped.first_name, mapped.last_name, mapped.company) == (
        "Ada", "Lovelace", "Analytical Engines",
    )  # fmt: skip
    assert mapped.created_at == datetime(2026, 2, 1, 8, tzinfo=UTC)
    assert mapped.updated_at == datetime(2026, 2, 3, 10, 15, tzinfo=UTC)  # SystemModstamp
    assert mapped.owner_id == USER_ID and mapped.contact_id is None
    assert mapped.source_stage is None and mapped.utm_source is None
    assert mapped.custom_fields == {
        "Status": "Working - Contacted", "LeadSource": "Partner Referral", "IsConverted": False,
    }  # fmt: skip
    assert mapped.raw["Email"] == " Ada@Example.COM "


def test_a_lead_with_a_campaign_membership_names_the_campaign():
    campaign = {"Id": "7015g00000AbCdEFGH", "Name": "Q4 Webinar Series"}
    mapped = CONNECTOR.to_lead(lead(campaign=campaign), CONTEXT)
    assert (mapped.campaign_id, mapped.campaign_name) == ("7015g00000AbCdEFGH", "Q4 Webinar Series")
    assert "campaign" not in mapped.custom_fields
    assert CONNECTOR.to_lead(lead(campaign=None), CONTEXT).campaign_id is None


def test_a_converted_lead_from_bulk_csv_keeps_its_contact_and_conversion():
    row = lead(IsConverted="true", ConvertedDate="2026-02-10", ConvertedContactId=CONTACT_ID)
    mapped = CONNECTOR.to_lead(row, CONTEXT)
    assert mapped.contact_id == CONTACT_ID
    assert mapped.custom_fields["IsConverted"] is True
    assert mapped.custom_fields["ConvertedDate"] == "2026-02-10"


def test_a_lead_without_an_email_still_loads_by_its_phone():
    mapped = CONNECTOR.to_lead(lead(Email=None), CONTEXT)
    assert mapped.email is None and mapped.phone == "+14155550100"


def test_a_mobile_phone_read_through_lead_fields_reaches_a_lead_without_phone():
    mapped = CONNECTOR.to_lead(lead(Email=None, Phone=None, MobilePhone="415 555 0199"), CONTEXT)
    assert mapped.phone == "+14155550199" and "MobilePhone" not in mapped.custom_fields


def test_opt_outs_read_through_lead_fields_are_the_consent():
    mapped = CONNECTOR.to_lead(lead(HasOptedOutOfEmail="true", DoNotCall=False), CONTEXT)
    assert mapped.consent == {"HasOptedOutOfEmail": True, "DoNotCall": False}
    assert CONNECTOR.to_lead(lead(), CONTEXT).consent is None


def test_a_lead_without_email_or_phone_is_quarantined_naming_email():
    with pytest.raises(InvalidRecord) as caught:
        CONNECTOR.to_lead(lead(Email=None, Phone=None), CONTEXT)
    assert caught.value.field_name == "Email" and caught.value.record_key == LEAD_ID


def test_a_lead_with_a_broken_modstamp_names_the_field_never_the_value():
    with pytest.raises(InvalidRecord) as caught:
        CONNECTOR.to_lead(lead(SystemModstamp="yesterday"), CONTEXT)
    assert caught.value.field_name == "SystemModstamp"
    assert "yesterday" not in str(caught.value)


def task(**fields) -> dict:
    record = {
        "attributes": {"type": "Task"}, "Id": "00T5g00000AbCdEFGH", "WhoId": LEAD_ID,
        "OwnerId": USER_ID, "TaskSubtype": "Call", "CallType": "Outbound",
        "Status": "Completed", "ActivityDate": "2026-02-02",
        "CreatedDate": "2026-02-02T14:05:00.000+0000",
        "SystemModstamp": "2026-02-02T14:06:00.000+0000", "IsDeleted": False,
        "lead_ids": [LEAD_ID],
    }  # fmt: skip
    return {**record, **fields}


def test_a_logged_call_on_a_lead_is_one_outbound_call_touch():
    (touch,) = TOUCHES_STREAM.to_rows(task(), CONTEXT)
    assert (touch.touch_id, touch.lead_id, touch.touch_type) == (
        "Task:00T5g00000AbCdEFGH", LEAD_ID, "call",
    )  # fmt: skip
    assert touch.direction == "outbound" and touch.outcome == "Completed"
    assert touch.occurred_at == datetime(2026, 2, 2, 14, 5, tzinfo=UTC)
    assert touch.updated_at == datetime(2026, 2, 2, 14, 6, tzinfo=UTC)
    assert touch.owner_id == USER_ID


def test_an_email_task_is_an_email_touch_without_a_direction():
    (touch,) = TOUCHES_STREAM.to_rows(task(TaskSubtype="Email", CallType=None), CONTEXT)
    assert touch.touch_type == "email" and touch.direction is None


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"WhoId": "001xx000003DGb2AAG", "lead_ids": []}, id="who-is-an-account"),
        pytest.param({"WhoId": None, "lead_ids": []}, id="no-who"),
        pytest.param({"TaskSubtype": "Task"}, id="a-to-do"),
    ],
)
def test_a_task_on_no_lead_or_a_to_do_is_no_touch(fields):
    assert TOUCHES_STREAM.to_rows(task(**fields), CONTEXT) == []


def test_a_task_on_a_contact_touches_each_lead_converted_into_it():
    other = "00Q5g00000ZyXwVUTS"
    rows = TOUCHES_STREAM.to_rows(task(WhoId=CONTACT_ID, lead_ids=[LEAD_ID, other]), CONTEXT)
    assert [row.lead_id for row in rows] == [LEAD_ID, other]
    assert {row.touch_id for row in rows} == {"Task:00T5g00000AbCdEFGH"}


def test_an_event_is_a_meeting_at_its_start_time_or_its_all_day_date():
    event = {
        "attributes": {"type": "Event"}, "Id": "00U5g00000AbCdEFGH", "WhoId": LEAD_ID,
        "OwnerId": USER_ID, "ActivityDateTime": "2026-02-05T16:00:00.000+0000",
        "ActivityDate": "2026-02-05", "CreatedDate": "2026-02-01T09:00:00.000+0000",
        "SystemModstamp": "2026-02-01T09:00:00.000+0000", "lead_ids": [LEAD_ID],
    }  # fmt: skip
    (meeting,) = TOUCHES_STREAM.to_rows(event, CONTEXT)
    assert meeting.touch_type == "meeting" and meeting.touch_id == "Event:00U5g00000AbCdEFGH"
    assert meeting.occurred_at == datetime(2026, 2, 5, 16, tzinfo=UTC)
    (all_day,) = TOUCHES_STREAM.to_rows({**event, "ActivityDateTime": None}, CONTEXT)
    assert all_day.occurred_at == datetime(2026, 2, 5, tzinfo=UTC)


def test_a_touch_without_attributes_cannot_be_keyed():
    with pytest.raises(InvalidRecord):
        TOUCHES_STREAM.to_rows({k: v for k, v in task().items() if k != "attributes"}, CONTEXT)


def user(**fields) -> dict:
    record = {
        "attributes": {"type": "User"}, "Id": USER_ID, "Email": "Dana@Example.com",
        "FirstName": "Dana", "LastName": "Whitfield", "IsActive": True,
        "CreatedDate": "2025-01-01T00:00:00.000+0000",
        "SystemModstamp": "2026-01-05T00:00:00.000+0000",
        "UserRole": {"attributes": {"type": "UserRole"}, "Name": "SDR"}, "team": "SDR",
    }  # fmt: skip
    return {**record, **fields}


def test_a_user_is_a_rep_on_the_team_its_role_names():
    (rep,) = REPS_STREAM.to_rows(user(), CONTEXT)
    assert (rep.rep_id, rep.email, rep.team, rep.archived) == (
        USER_ID,
        "dana@example.com",
        "SDR",
        False,
    )
    assert rep.updated_at == datetime(2026, 1, 5, tzinfo=UTC)


def test_an_inactive_user_from_bulk_csv_is_an_archived_rep_without_a_team():
    (rep,) = REPS_STREAM.to_rows(user(IsActive="false", UserRole=None, team=None), CONTEXT)
    assert rep.archived is True and rep.team is None


def test_field_paths_follow_relationships_and_stop_at_an_empty_one():
    assert path_value(user(), "UserRole.Name") == "SDR"
    assert path_value(user(UserRole=None), "UserRole.Name") is None


values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
    st.sampled_from(["", "\x00", "2026-13-45T25:61:61Z", "x" * 5000, "true", "'); DROP"]),
    st.lists(st.text(max_size=5), max_size=2), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(sorted(lead())), value=values)
def test_any_value_in_any_lead_field_maps_or_is_quarantined(field, value):
    try:
        mapped = CONNECTOR.to_lead({**lead(), field: value}, CONTEXT)
    except InvalidRecord as error:
        assert error.source == "salesforce"
    else:
        assert mapped.source_lead_id


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(sorted(task())), value=values)
def test_any_value_in_any_task_field_maps_or_is_quarantined_by_the_sync(field, value):
    record = {**task(), field: value}
    rows, rejected = map_records(
        TOUCHES_STREAM.to_rows, TOUCHES_STREAM.record_key, [record], CONTEXT
    )
    assert all(isinstance(row, SalesTouch) and row.lead_id for row in rows)
    assert len(rejected) <= 1 and not (rows and rejected)
