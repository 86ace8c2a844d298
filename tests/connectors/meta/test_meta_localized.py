"""Localized Meta lead forms (issue 19): answers fill columns by their question's ``type``
(read once per form per run from ``GET /{form_id}?fields=questions``), by key spelling when the
questions cannot be read; an email-shaped custom answer is noted by its key, never its value;
a lead without ``created_time`` is quarantined saying to request it."""

# ruff: noqa: RUF001  (Cyrillic question keys are the point of these tests)
from __future__ import annotations

import logging

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.meta.fields import FORM_KEY, to_lead
from leadflow.models.records.leads import InvalidRecord, summarize_notes
from tests.connectors.meta.support import Run

CONTEXT = LeadContext("meta", "page-1", "US")
RU_TYPES = {"полное_имя": "FULL_NAME", "электронная_почта": "EMAIL", "номер_телефона": "PHONE",
            "город": "CITY", "какой_у_вас_бюджет?": "CUSTOM"}  # fmt: skip
ZH_TYPES = {
    "全名": "FULL_NAME",
    "电子邮件": "EMAIL",
    "电话号码": "PHONE",
    "公司名称": "COMPANY_NAME",
}


def lead_record(answers: dict[str, str], types: dict[str, str] | None, **extra) -> dict:
    form = {"id": "55", "name": "form", "tracking_parameters": None}
    if types is not None:
        form["question_types"] = types
    return {
        "id": "9001",
        "created_time": "2026-11-20T14:50:56+0000",
        "form_id": "55",
        "field_data": [{"name": k, "values": [v]} for k, v in answers.items()],
        FORM_KEY: form,
        **extra,
    }


def localized_forms(sandbox) -> dict[str, object]:
    return {form.locale: form for form in sandbox.dataset.forms if form.locale != "en_US"}


# -- mapping, no HTTP ---------------------------------------------------------------------------
def test_russian_form_fills_email_phone_and_names_by_question_type():
    record = lead_record(
        {"полное_имя": "Иван Петров", "электронная_почта": "Ivan.Petrov@Example.ru",
         "номер_телефона": "+7 912 345-67-89", "город": "Казань",
         "какой_у_вас_бюджет?": "до 100 000"},
        RU_TYPES,
    )  # fmt: skip
    lead = to_lead(record, CONTEXT)
    assert (lead.email, lead.phone) == ("ivan.petrov@example.ru", "+79123456789")
    assert (lead.first_name, lead.last_name, lead.city) == ("Иван", "Петров", "Казань")
    assert lead.custom_fields == {"какой_у_вас_бюджет?": "до 100 000"}


def test_chinese_form_fills_email_phone_name_and_company_by_question_type():
    record = lead_record(
        {"全名": "王小明", "电子邮件": "wang@example.cn", "电话号码": "+86 138 0013 8000",
         "公司名称": "示例科技"},
        ZH_TYPES,
    )  # fmt: skip
    lead = to_lead(record, CONTEXT)
    assert (lead.email, lead.phone, lead.company) == (
        "wang@example.cn",
        "+8613800138000",
        "示例科技",
    )
    assert lead.first_name or lead.last_name
    assert not lead.custom_fields


def test_without_question_types_the_key_spelling_still_maps_english_keys():
    lead = to_lead(lead_record({"Email": "a@example.com", "budget": "1k"}, None), CONTEXT)
    assert lead.email == "a@example.com" and lead.custom_fields == {"budget": "1k"}
    # and a CUSTOM-typed key spelled like a standard one still falls back on its spelling
    typed = lead_record({"email": "a@example.com"}, {"email": "CUSTOM"})
    assert to_lead(typed, CONTEXT).email == "a@example.com"


def test_email_in_a_custom_question_is_noted_by_key_and_counted_never_its_value(caplog):
    value = "hidden.person@example.org"
    record = lead_record(
        {"номер_телефона": "+7 912 345-67-89", "контакт_для_связи": value},
        {**RU_TYPES, "контакт_для_связи": "CUSTOM"},
    )
    with caplog.at_level(logging.DEBUG):
        lead = to_lead(record, CONTEXT)
    assert lead.email is None and lead.phone == "+79123456789"  # not loaded as the email
    note = lead.custom_fields["_invalid"]["email"]
    assert "контакт_для_связи" in note and value not in note
    summary = summarize_notes([lead, lead])
    assert summary == ("2 leads: email found only in a custom question",)
    assert value not in caplog.text


def test_contactless_lead_with_an_email_in_a_custom_question_is_rejected_naming_the_key():
    value = "hidden.person@example.org"
    record = lead_record({"как_с_вами_связаться": value}, {"как_с_вами_связаться": "CUSTOM"})
    with pytest.raises(InvalidRecord) as caught:
        to_lead(record, CONTEXT)
    assert "как_с_вами_связаться" in caught.value.reason
    assert value not in str(caught.value)


def test_missing_created_time_is_quarantined_asking_to_request_it():
    record = lead_record({"email": "a@example.com"}, None)
    del record["created_time"]
    with pytest.raises(InvalidRecord) as caught:
        to_lead(record, CONTEXT)
    assert caught.value.field_name == "created_time"
    assert caught.value.reason == "created_time missing (request it in fields)"


# -- against the sandbox ------------------------------------------------------------------------
def test_sandbox_localized_forms_land_email_phone_and_name_in_columns(sandbox):
    run = Run(sandbox)
    forms = localized_forms(sandbox)
    assert set(forms) == {"ru_RU", "zh_CN"}
    for form in forms.values():
        records = [r for r in run.records if r["form_id"] == form.id]
        assert records
        for record in records:
            lead = to_lead(record, CONTEXT)
            answers = {a["name"]: a["values"][0] for a in record["field_data"]}
            email_key = next(k for k in form.questions if k in ("электронная_почта", "电子邮件"))
            assert lead.email == answers[email_key].strip().lower()
            assert lead.first_name and not lead.custom_fields.get(email_key)
            if "номер_телефона" in answers:
                assert lead.phone is not None or "phone" in lead.custom_fields.get("_invalid", {})


def test_questions_are_requested_once_per_form_per_run_whatever_the_paging(sandbox):
    run = Run(sandbox, page_size=2)
    assert len(run.pages) > len(sandbox.dataset.forms)  # several pages per form
    for form in sandbox.dataset.forms:
        asked = [r for r in sandbox.requests if r.path.endswith(f"/{form.id}")]
        assert len(asked) == 1 and asked[0].query["fields"] == ["questions"]
    assert all(r[FORM_KEY]["question_types"] for r in run.records)


def test_a_form_whose_questions_are_refused_falls_back_to_key_spelling_alone(sandbox, caplog):
    forms = localized_forms(sandbox)
    refused, readable = forms["ru_RU"], forms["zh_CN"]
    message = "(#200) Requires pages_manage_ads permission to manage the object"
    sandbox.push_error(200, status=403, message=message, path=rf"/{refused.id}$")
    with caplog.at_level(logging.WARNING):
        run = Run(sandbox)
    assert not len(sandbox.faults)
    mine = [p for p in run.pages if p.partition.endswith(f":{refused.id}")]
    assert "could not be read" in mine[0].notes[0] and "pages_manage_ads" in mine[0].notes[0]
    assert refused.id in caplog.text
    records = [r for r in run.records if r["form_id"] == refused.id]
    assert records
    for record in records:
        assert "question_types" not in record[FORM_KEY]
        # no English key, so no contact column: quarantined as before issue 19, the reason
        # now naming the custom question where an email was seen (never the address)
        with pytest.raises(InvalidRecord) as caught:
            to_lead(record, CONTEXT)
        assert "'электронная_почта'" in caught.value.reason
        address = next(a["values"][0] for a in record["field_data"] if "@" in a["values"][0])
        assert address.strip() not in str(caught.value)
    others = [to_lead(r, CONTEXT) for r in run.records if r["form_id"] == readable.id]
    assert others and all(lead.email for lead in others)  # only that form fell back
