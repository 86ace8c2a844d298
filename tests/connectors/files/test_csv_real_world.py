"""Real-shaped export files: Shift-JIS, UTF-16/32, a UTF-8 file with one Latin-1 row, "Last,
First" names, phones of the lead's country, and values out of range quarantined by line and
column, never by value."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadflow.connectors.files.connector import read_csv_leads
from leadflow.connectors.files.encodings import decode_file, has_bad_bytes
from leadflow.connectors.files.export import read_export
from leadflow.connectors.files.formats import CsvFormatError, decode, detect_encoding

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
MAPPING = {
    "id": "id", "created_at": "created", "email": "email", "phone": "phone",
    "full_name": "name", "country": "country",
}  # fmt: skip
HEADER = "id,created,name,email,phone,country\n"
JAPANESE = [
    ("山田", "太郎", "株式会社山田商事", "東京都"), ("佐藤", "花子", "佐藤工業株式会社", "大阪府"),
    ("鈴木", "一郎", "スズキ・ソフトウェア", "名古屋市"), ("高橋", "美咲", "高橋デザイン事務所", "横浜市"),
]  # fmt: skip


def read(path: Path, mapping: dict[str, str] | None = None):
    return read_csv_leads(
        path, source="crm", account_id="acct", mapping=mapping or MAPPING, default_region="US",
        now=NOW,
    )  # fmt: skip


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def messages(rejected) -> str:
    return "\n".join(f"{item.field_name} {item.reason}" for item in rejected)


# Encodings -------------------------------------------------------------------------------


def test_a_shift_jis_file_with_japanese_names_is_read_as_japanese(tmp_path: Path) -> None:
    lines = ["番号,登録日時,姓,名,会社名,都市,メール"]
    lines += [f"{n},2026-11-2{n}T10:00:00Z,{last},{first},{company},{city},u{n}@example.jp"
              for n, (last, first, company, city) in enumerate(JAPANESE, start=1)]  # fmt: skip
    path = write(tmp_path, "sjis.csv", "\n".join(lines).encode("shift_jis"))
    mapping = {"id": "番号", "created_at": "登録日時", "email": "メール", "last_name": "姓",
               "first_name": "名", "company": "会社名", "city": "都市"}  # fmt: skip
    leads, rejected, form = read(path, mapping)
    assert form.encoding in ("cp932", "shift_jis")
    assert rejected == []
    got = [(lead.last_name, lead.first_name, lead.company, lead.city) for lead in leads]
    assert got == JAPANESE


def test_a_file_whose_encoding_cannot_be_told_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "short.csv", "id,created,name\n1,2026-11-20T10:00:00Z,山\n"
                 .encode("shift_jis") + b"\x81\x8d\n")  # fmt: skip
    with pytest.raises(CsvFormatError) as caught:
        read(path)
    assert str(caught.value).startswith("short.csv: the encoding could not be determined")
    assert "\n" not in str(caught.value)


def test_a_utf8_file_with_one_latin1_row_quarantines_that_row_by_line_and_column(
    tmp_path: Path,
) -> None:
    rows = [
        "1,2026-11-20T10:00:00Z,Zoë Müller,zoe@example.com,,DE",
        "2,2026-11-20T10:00:00Z,Łukasz Wiśniewski,lukasz@example.com,,PL",
    ]
    data = (HEADER + "\n".join(rows) + "\n").encode()
    data += "3,2026-11-20T10:00:00Z,José Núñez,jose@example.com,+34 612 345 678,ES\n".encode(
        "latin-1"
    )
    data += "4,2026-11-20T10:00:00Z,Renée Ångström,renee@example.com,,SE\n".encode()
    path = write(tmp_path, "mixed.csv", data)
    leads, rejected, form = read(path)
    assert form.encoding == "utf-8"
    assert [lead.source_lead_id for lead in leads] == ["1", "2", "4"]
    assert leads[0].first_name == "Zoë" and leads[2].last_name == "Ångström"
    [bad] = rejected
    assert bad.field_name == "name"
    assert bad.reason == "line 4: encoding: not UTF-8 like the rest of the file (column name)"
    assert bad.raw["line"] == 4 and bad.raw["row"]["name"] == "Jos\\xe9 N\\xfa\\xf1ez"
    assert not any(has_bad_bytes(str(value)) for value in bad.raw["row"].values())
    for planted in ("jose@example.com", "612 345 678", "Jos", "Núñez"):
        assert planted not in messages(rejected)
    # decode() alone, which cannot quarantine, refuses the file naming the first bad line.
    with pytest.raises(CsvFormatError, match="mixes encodings: UTF-8, but line 4 is not"):
        decode(data)


def test_a_cp1252_file_with_one_accented_row_is_still_cp1252(tmp_path: Path) -> None:
    text = HEADER + "1,2026-11-20T10:00:00Z,Ada Lovelace,ada@example.com,,GB\n"
    text += "2,2026-11-20T10:00:00Z,José Núñez,jose@example.com,,ES\n"
    leads, rejected, form = read(write(tmp_path, "excel.csv", text.encode("cp1252")))
    assert (form.encoding, rejected) == ("cp1252", [])
    assert (leads[1].first_name, leads[1].last_name) == ("José", "Núñez")


@pytest.mark.parametrize(
    ("bom", "codec", "name"),
    [(codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
     (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32-be"),
     (b"", "utf-32-le", "utf-32-le"), (b"", "utf-16-le", "utf-16-le")],
)  # fmt: skip
def test_wide_files_are_read(tmp_path: Path, bom: bytes, codec: str, name: str) -> None:
    text = HEADER + "1,2026-11-20T10:00:00Z,Zoë Müller,zoe@example.com,,DE\n"
    leads, rejected, form = read(write(tmp_path, "wide.csv", bom + text.encode(codec)))
    assert (form.encoding, rejected) == (name, [])
    assert (leads[0].first_name, leads[0].email) == ("Zoë", "zoe@example.com")


def test_a_wide_file_cut_short_is_refused_cleanly() -> None:
    data = "id,created\n1,x\n".encode("utf-32-le")[:-1]
    assert detect_encoding(data) == "utf-32-le"
    with pytest.raises(CsvFormatError, match="not valid utf-32-le"):
        decode_file(data)


# Names, phones, values out of range ----------------------------------------------------------

ROWS = [
    '1,2026-11-20T10:00:00Z,"French, Billy",billy@example.com,,US',
    "2,2026-11-20T10:00:00Z,Mei Lin,mei@example.com,0912 345 678,Taiwan",
    "3,2026-11-20T10:00:00Z,Chen Wei,chen@example.com,0912 345 679,TW",
    "4,2026-11-20T10:00:00Z,Sam Stone,sam@example.com,0912 345 670,US",
    "5,2026-11-20T10:00:00Z,Long Mail,{long},+1 415 555 0134,US",
    "6,9999-12-31T00:00:00Z,Far Future,future@example.com,,US",
    "7,0001-01-01T00:00:00Z,Year One,one@example.com,,US",
    "8,2026-11-20T10:00:00Z,Kai Ito,kai@example.com,0912 345 671,US",
]
LONG_EMAIL = "x" * 10_000 + "@example.com"


def real_world_file(folder: Path) -> Path:
    text = HEADER + "\n".join(ROWS).replace("{long}", LONG_EMAIL) + "\n"
    return write(folder, "real.csv", text.encode())


def test_names_phones_and_out_of_range_values(tmp_path: Path) -> None:
    leads, rejected, _ = read(real_world_file(tmp_path))
    by_id = {lead.source_lead_id: lead for lead in leads}
    assert (by_id["1"].first_name, by_id["1"].last_name) == ("Billy", "French")
    assert by_id["2"].phone == "+886912345678"  # country name
    assert by_id["3"].phone == "+886912345679"  # ISO code
    assert by_id["4"].phone is None  # a Taiwanese mobile said to be in the US: not valid there
    assert by_id["4"].custom_fields["_invalid"] == {
        "phone": "not valid for its region (US): E.164 left empty"
    }
    assert by_id["4"].raw["phone"] == "0912 345 670"  # the raw value is kept
    assert {(item.raw["line"], item.field_name, item.reason) for item in rejected} == {
        (6, "email", "line 6: email: longer than 254 characters"),
        (7, "created", "line 7: created_at: more than 1 day after the load time, out of range"),
        (8, "created", "line 8: created_at: before 2000-01-01, out of range"),
    }
    text = messages(rejected)
    for planted in ("xxxxxxxxxx", "example.com", "9999", "0001", "415", "0912"):
        assert planted not in text


def test_the_export_counts_the_notes_for_the_summary(tmp_path: Path) -> None:
    export = read_export(real_world_file(tmp_path), source="crm", account_id="acct",
                         mapping=MAPPING, default_region="US", now=NOW)  # fmt: skip
    assert export.notes == ("2 leads: phone not valid for its region: E.164 left empty",)
    [page] = list(export.pages(100))
    assert page.notes[0] == export.notes[0]
    assert not any(digits in " ".join(page.notes) for digits in ("0912", "345", "670", "671"))
