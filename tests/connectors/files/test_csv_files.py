"""Lead export files: encodings, delimiters, Meta / LinkedIn / mapped layouts, line numbers."""

from __future__ import annotations

import codecs
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.files.connector import read_csv_leads, row_key
from leadflow.connectors.files.formats import (
    CsvFormatError,
    decode,
    detect_delimiter,
    detect_encoding,
    meta_id,
    parse_export_time,
)
from leadflow.connectors.meta import fields as meta_fields

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "csv"
META_FILE = FIXTURES / "meta_leads_utf16.csv"
LINKEDIN_FILE = FIXTURES / "linkedin_leads_utf8_bom.csv"
GENERIC_FILE = FIXTURES / "generic_semicolon_cp1252.csv"
GENERIC_MAPPING = {
    "id": "Kundennummer", "created_time": "Erstellt", "first_name": "Vorname",
    "last_name": "Nachname", "email": "E-Mail", "phone": "Telefon", "company": "Firma",
    "country": "Land",
}  # fmt: skip


def read(path: Path, source: str = "meta", mapping=None, zone: str | None = None):
    return read_csv_leads(
        path, source=source, account_id="acct", mapping=mapping, default_region="US",
        assume_timezone=zone,
    )  # fmt: skip


# Encoding and delimiter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + "id,näme\n".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "id\tnäme\n".encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + "id\tnäme\n".encode("utf-16-be"), "utf-16-be"),
        ("id\tname\nl:1\tAda\n".encode("utf-16-le"), "utf-16-le"),  # no BOM: NULs tell
        ("id\tname\nl:1\tAda\n".encode("utf-16-be"), "utf-16-be"),
        ("id,name\n1,Zoë 李\n".encode(), "utf-8"),
        (b"id,name\n1,Ada\n", "utf-8"),
        ("id;name\n1;Müller\n".encode("cp1252"), "cp1252"),
        (b"", "utf-8"),
    ],
)
def test_detect_encoding(data, expected):
    assert detect_encoding(data) == expected


def test_decode_strips_the_bom_and_names_the_encoding():
    assert decode(codecs.BOM_UTF16_LE + "a\tb".encode("utf-16-le")) == ("a\tb", "utf-16-le")
    assert decode(codecs.BOM_UTF8 + b"a,b") == ("a,b", "utf-8-sig")
    assert decode("Müller".encode("cp1252")) == ("Müller", "cp1252")


def test_decode_refuses_a_file_whose_encoding_cannot_be_determined():
    with pytest.raises(CsvFormatError, match="encoding could not be determined"):
        decode(b"id,name\n1,\x81\x8d\n")
    with pytest.raises(CsvFormatError, match="not valid utf-16-le"):
        decode(codecs.BOM_UTF16_LE + "id".encode("utf-16-le") + b"\x00")  # cut short


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,name,email\n1,Ada,a@x.com\n2,Bob,b@x.com\n", ","),
        ("id;name;email\n1;Ada;a@x.com\n2;Bob;b@x.com\n", ";"),
        ("id\tname\temail\n1\tAda\ta@x.com\n", "\t"),
        ("id|name|email\n1|Ada|a@x.com\n", "|"),
        ('id;note;email\n1;"a, b, c, d";a@x.com\n2;"e, f";b@x.com\n', ";"),
        ("id\tnote\n1\ta;b;c, d|e\n2\tf;g;h, i|j\n", "\t"),
        ("id;name;email\n", ";"),  # a header alone
        ("email\na@x.com\n", ","),  # one column: nothing to sniff
        ("id;name;note\n" + "".join(f"{i};Person {i};x, y\n" for i in range(200)), ";"),
    ],
)
def test_detect_delimiter(text, expected):
    assert detect_delimiter(text) == expected


def test_meta_ids_lose_their_type_prefix():
    assert meta_id("l:1054074580944020") == "1054074580944020"
    assert [meta_id(v) for v in ("ag:1", "as:2", "c:3", "f:4")] == ["1", "2", "3", "4"]
    assert meta_id(" 1234 ") == "1234" and meta_id("") is None
    assert meta_id("abc:def") == "abc:def"  # only a prefix before digits is Meta's


def test_naive_timestamps_need_a_zone_or_a_utc_column():
    assert parse_export_time("2026-11-22 08:30:00", "Submitted At (UTC)", None) == datetime(
        2026, 11, 22, 8, 30, tzinfo=UTC
    )
    berlin = parse_export_time("2026-11-22 08:30:00", "Erstellt", "Europe/Berlin")
    assert berlin.astimezone(UTC) == datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="without a time zone"):
        parse_export_time("2026-11-22 08:30:00", "Erstellt", None)


# Meta ---------------------------------------------------------------------------------------


def test_meta_utf16_export_is_recognised_and_mapped():
    leads, rejected, form = read(META_FILE)
    assert (form.kind, form.encoding, form.delimiter) == ("meta", "utf-16-le", "\t")
    by_id = {lead.source_lead_id: lead for lead in leads}
    assert sorted(by_id) == ["1000000000000001", "1000000000000002", "1000000000000003",
                             "1000000000000006"]  # fmt: skip
    first = by_id["1000000000000001"]
    assert (first.source, first.account_id) == ("meta", "acct")
    assert (first.first_name, first.last_name) == ("Zoë", "Müller")
    assert first.email == "zoe.muller@example.com" and first.phone == "+14155550132"
    assert (first.ad_id, first.adset_id, first.campaign_id, first.form_id) == (
        "120210000000000001", "120210000000000002", "120210000000000003", "2345678901234567",
    )  # fmt: skip
    assert first.campaign_name == "Q4 Lead Gen - Contact Sales" and first.is_organic is False
    assert first.custom_fields == {"what_is_your_budget?": "$5k_-_$25k"}
    assert first.raw["id"] == "l:1000000000000001"  # the row as read
    organic = by_id["1000000000000002"]
    assert organic.first_name == "李雷" and organic.is_organic is True
    assert organic.campaign_id is None and organic.created_at == datetime(
        2026, 11, 21, 3, 33, 12, tzinfo=UTC
    )
    assert by_id["1000000000000003"].is_test and by_id["1000000000000003"].email is None
    assert by_id["1000000000000006"].phone == "+33199001234"
    assert [(r.record_key, r.field_name, r.reason.split(":")[0]) for r in rejected] == [
        ("1000000000000004", "created_time", "line 5"),
        ("1000000000000005", "email", "line 6"),
    ]
    assert all(r.source == "meta" and r.raw["file"] == META_FILE.name for r in rejected)


def test_a_meta_row_maps_exactly_as_the_same_lead_from_the_graph_api():
    [csv_lead, *_], _, _ = read(META_FILE)
    graph_lead = {
        "id": "1000000000000001", "created_time": "2026-11-20T14:50:56+0000",
        "ad_id": "120210000000000001", "ad_name": "Q4 Lead Gen - Carousel A",
        "adset_id": "120210000000000002", "adset_name": "Lookalike 1% - Customers",
        "campaign_id": "120210000000000003", "campaign_name": "Q4 Lead Gen - Contact Sales",
        "form_id": "2345678901234567", "is_organic": False, "platform": "ig",
        "field_data": [
            {"name": "full_name", "values": ["ZOË MÜLLER"]},
            {"name": "email", "values": [" Zoe.Muller@Example.COM "]},
            {"name": "phone_number", "values": ["+14155550132"]},
            {"name": "what_is_your_budget?", "values": ["$5k_-_$25k"]},
        ],
    }  # fmt: skip
    api_lead = meta_fields.to_lead(graph_lead, LeadContext("meta", "acct", "US"))
    assert replace(csv_lead, raw={}) == replace(api_lead, raw={})


def test_the_source_name_is_the_one_given():
    leads, rejected, _ = read(META_FILE, source="facebook_backfill")
    assert {lead.source for lead in leads} == {r.source for r in rejected} == {"facebook_backfill"}


# LinkedIn -----------------------------------------------------------------------------------


def test_linkedin_utf8_bom_export_is_recognised_and_mapped():
    leads, rejected, form = read(LINKEDIN_FILE, source="linkedin")
    assert (form.kind, form.encoding, form.delimiter) == ("linkedin", "utf-8-sig", ",")
    assert form.columns[0] == "Lead ID"  # the BOM is not part of the first column name
    sara, jose, grace = leads
    assert sara.source_lead_id == "3a5c1e2f-0b1d-4c6e-9f00-1234567890ab-4"
    assert (sara.email, sara.phone, sara.company) == (
        "sara@gulfco.example", "+971501112222", "Gulf Co, LLC",
    )  # fmt: skip
    assert (sara.campaign_id, sara.campaign_name, sara.form_id) == (
        "612345678", "Q4 Security - EMEA", "7234246",
    )  # fmt: skip
    assert (sara.utm_source, sara.utm_campaign) == ("linkedin", "q4_security")
    assert sara.is_organic is False
    assert sara.custom_fields == {"What can we help with?": 'We need a pentest\nbefore "Q4"'}
    assert jose.source_lead_id == "7b2e9d10-aaaa-4bbb-8ccc-0123456789ff-1"  # URN stripped
    assert (jose.first_name, jose.last_name) == ("José", "Ñúñez")
    assert jose.created_at == datetime(2026, 11, 22, 8, 30, tzinfo=UTC)  # "(UTC)" column
    assert grace.email is None and grace.phone == "+14155550199" and grace.is_organic is True
    [nobody] = rejected
    # The first record spans lines 2-3 (a quoted newline): the unreachable one is on line 6.
    assert nobody.record_key == "9f8e7d6c-2222-4333-8444-555566667777-3"
    assert nobody.field_name == "email" and nobody.reason.startswith("line 6: no way to reach")


# Generic files through a mapping -------------------------------------------------------------


def test_generic_semicolon_cp1252_file_through_a_mapping():
    leads, rejected, form = read(GENERIC_FILE, "crm", GENERIC_MAPPING, "Europe/Berlin")
    assert (form.kind, form.encoding, form.delimiter) == ("generic", "cp1252", ";")
    assert [lead.source_lead_id for lead in leads] == ["K-1001", "K-1002", "K-1005"]
    jurgen, renee, ola = leads
    assert (jurgen.first_name, jurgen.last_name) == ("Jürgen", "Müller")
    assert jurgen.phone == "+493012345678"
    assert jurgen.custom_fields == {"Notiz": "Messe München"}
    assert renee.created_at == datetime(2026, 11, 21, 8, 15, tzinfo=UTC)  # naive, Berlin
    assert renee.custom_fields == {"Notiz": "Rückruf; bitte"} and renee.company == "Café Lumière"
    assert ola.email is None and ola.phone == "+4722334455"
    assert [(r.record_key, r.field_name, r.reason) for r in rejected] == [
        (None, "row", "line 4: expected 9 fields, found 3"),
        ("K-1004", "Erstellt", "line 5: not an ISO-8601 timestamp: 'xxx x xxxx'"),
    ]
    assert rejected[0].raw["row"] == ["K-1003", "2026-11-21T09:00:00Z", "Anna"]


def test_naive_timestamps_without_a_zone_are_quarantined_not_guessed():
    leads, rejected, _ = read(GENERIC_FILE, "crm", GENERIC_MAPPING, zone=None)
    assert "K-1002" not in {lead.source_lead_id for lead in leads}
    assert any(r.record_key == "K-1002" and "time zone" in r.reason for r in rejected)


def test_without_an_id_column_the_key_is_the_hash_of_the_normalized_row(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("Created,Email,Name\n2026-11-20T10:00:00Z,ada@example.com,Ada\n")
    two = tmp_path / "two.csv"  # columns reordered, names re-cased, cells padded
    two.write_text("name;EMAIL;created\n Ada ;ada@example.com;2026-11-20T10:00:00Z\n")
    mapping = {"created_at": "Created", "email": "Email", "full_name": "Name"}
    [first], _, _ = read(one, "crm", mapping)
    [second], _, _ = read(two, "crm", {"created_at": "created", "email": "EMAIL"})
    assert first.source_lead_id == second.source_lead_id
    assert first.source_lead_id == row_key({"created": "2026-11-20T10:00:00Z",
                                            "email": "ada@example.com", "name": "Ada"})  # fmt: skip
    assert first.source_lead_id.startswith("sha256:") and first.first_name == "Ada"


def test_mapping_record_fields_and_aliases(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(
        "ref|made|changed|mail|stage|owner|cmp|test\n"
        "7|2026-11-20T10:00:00Z|2026-11-25T10:00:00Z|a@example.com|MQL|u1|c9|yes\n"
    )
    mapping = {"lead_id": "ref", "created_time": "made", "updated_at": "changed",
               "email": "mail", "source_stage": "stage", "owner_id": "owner",
               "campaign_id": "cmp", "is_test": "test"}  # fmt: skip
    [lead], [], form = read(path, "crm", mapping)
    assert form.delimiter == "|"
    assert (lead.source_lead_id, lead.source_stage, lead.owner_id, lead.campaign_id) == (
        "7", "MQL", "u1", "c9",
    )  # fmt: skip
    assert lead.updated_at == datetime(2026, 11, 25, 10, tzinfo=UTC) and lead.is_test


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"created_at": "Created", "colour": "Email"}, "unknown lead fields"),
        ({"created_at": "Created", "email": "Mail"}, "not in the file"),
        ({"email": "Email"}, "needs created_at"),
    ],
)
def test_bad_mappings_are_refused(tmp_path, mapping, message):
    path = tmp_path / "x.csv"
    path.write_text("Created,Email\n2026-11-20T10:00:00Z,a@example.com\n")
    with pytest.raises(CsvFormatError, match=message):
        read(path, "crm", mapping)


def test_an_unknown_layout_without_a_mapping_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Created,Email\n2026-11-20T10:00:00Z,a@example.com\n")
    with pytest.raises(CsvFormatError, match="pass a column mapping"):
        read(path, "crm")


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "no header"), ("\n\n", "no header"), ("a,b,a\n1,2,3\n", "repeated")],
)
def test_files_without_a_usable_header_are_refused(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(CsvFormatError, match=message):
        read(path, "crm", {"created_at": "a"})
