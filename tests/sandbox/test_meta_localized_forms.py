"""The Meta sandbox serves localized lead forms as Meta documents them: the form's ``locale``,
its ``questions`` (LeadGenQuestion ``{key, label, type, id}``, predefined questions keyed in
the form's language), and leads whose ``field_data`` names are those keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from tests.sandbox.meta.graph_client import Graph

EXPECTED = {
    "ru_RU": {"полное_имя": "FULL_NAME", "электронная_почта": "EMAIL", "номер_телефона": "PHONE"},
    "zh_CN": {"全名": "FULL_NAME", "电子邮件": "EMAIL"},
}


@pytest.fixture(scope="module")
def graph() -> Iterator[Graph]:
    with MetaSandbox(meta_dataset(300)) as meta:
        yield Graph(meta)


def test_a_fraction_of_forms_is_localized_and_says_so_in_locale(graph: Graph) -> None:
    forms = [
        form
        for page in graph.meta.dataset.pages
        for form in graph.all(f"/{page.id}/leadgen_forms", fields="id,name,locale", limit=10)
    ]
    locales = [form["locale"] for form in forms]
    assert sorted(set(locales)) == ["en_US", "ru_RU", "zh_CN"]
    assert 0 < sum(locale != "en_US" for locale in locales) < len(forms) / 2


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_localized_questions_have_localized_keys_and_their_types(graph: Graph, locale) -> None:
    form = next(f for f in graph.meta.dataset.forms if f.locale == locale)
    node = graph.ok(f"/{form.id}", fields="questions,locale")
    assert node["id"] == form.id and node["locale"] == locale
    assert {q["key"]: q["type"] for q in node["questions"]} == EXPECTED[locale]
    assert all(set(q) == {"key", "label", "type", "id"} and q["label"] for q in node["questions"])
    assert all(q["label"].lower().replace(" ", "_") == q["key"] for q in node["questions"])
    leads = graph.all(f"/{form.id}/leads", fields="id,field_data", limit=100)
    assert leads
    names = {answer["name"] for lead in leads for answer in lead["field_data"]}
    assert names <= set(EXPECTED[locale]) and any(EXPECTED[locale][n] == "EMAIL" for n in names)
    emails = [a["values"][0] for lead in leads for a in lead["field_data"]
              if EXPECTED[locale][a["name"]] == "EMAIL"]  # fmt: skip
    assert emails and all("@" in email for email in emails)


def test_english_forms_keep_english_keys_and_custom_questions_are_custom(graph: Graph) -> None:
    form = graph.meta.dataset.forms[0]
    questions = graph.ok(f"/{form.id}", fields="questions")["questions"]
    types = {q["key"]: q["type"] for q in questions}
    assert types["email"] == "EMAIL" and types["phone_number"] == "PHONE"
    assert types["what_is_your_budget?"] == "CUSTOM"


def test_added_leads_on_a_localized_form_use_its_keys(graph: Graph) -> None:
    form = next(f for f in graph.meta.dataset.forms if f.locale == "zh_CN")
    lead = graph.meta.add_lead(form.id)
    assert {answer["name"] for answer in lead["field_data"]} <= set(EXPECTED["zh_CN"])
