"""Lead forms in other languages, as the Meta sandbox serves them.

Docs used:
* https://developers.facebook.com/docs/graph-api/reference/page/leadgen_forms : a form's
  ``locale`` (``RU_RU``, ``ZH_CN``...; Graph reads it back as ``ru_RU``) renders the predefined
  questions in that language.
* https://developers.facebook.com/docs/marketing-api/guides/lead-ads/create and the Business
  SDK's ``adobjects/leadgenquestion.py``: the form's ``questions`` field lists LeadGenQuestion
  objects ``{key, label, type, id}``; ``type`` is the predefined question (EMAIL, PHONE,
  FULL_NAME... or CUSTOM) and ``key`` is the name a lead's ``field_data`` answer carries.

Not spelled out in Meta's docs, so taken from the leads reported in leadflow's issue 19: the
keys of predefined questions on a localized form are the localized label in lower case with
``_`` for spaces (``электронная_почта``, ``номер_телефона``, ``电子邮件``), so a reader must go by
``type``, not by key.
"""

from __future__ import annotations

# Predefined English keys and their question types (en_US forms).
QUESTION_TYPES = {"full_name": "FULL_NAME", "first_name": "FIRST_NAME", "last_name": "LAST_NAME",
                  "email": "EMAIL", "phone_number": "PHONE", "company_name": "COMPANY_NAME",
                  "job_title": "JOB_TITLE", "country": "COUNTRY", "city": "CITY"}  # fmt: skip
# Form name -> its locale; the forms not named here are en_US.
FORM_LOCALES = {"Summer Promo 2026": "ru_RU", "Event Waitlist": "zh_CN"}
# locale -> {English key: localized label}; the key is the label, lower case, "_" for spaces.
LABELS: dict[str, dict[str, str]] = {
    "ru_RU": {"full_name": "Полное имя", "email": "Электронная почта",
              "phone_number": "Номер телефона", "first_name": "Имя", "last_name": "Фамилия",
              "city": "Город", "country": "Страна"},
    "zh_CN": {"full_name": "全名", "email": "电子邮件", "phone_number": "电话号码",
              "first_name": "名字", "last_name": "姓氏", "city": "城市", "country": "国家/地区"},
}  # fmt: skip
DEFAULT_LOCALE = "en_US"


def localized_key(key: str, locale: str) -> str:
    """The ``key`` a predefined question has on a form in ``locale`` (custom ones keep theirs)."""
    label = LABELS.get(locale, {}).get(key)
    return label.lower().replace(" ", "_") if label else key


_ENGLISH = {localized_key(k, loc): k for loc, labels in LABELS.items() for k in labels}


def english_key(key: str) -> str:
    """The English key of a (possibly localized) question key."""
    return _ENGLISH.get(key, key)


def question(key: str, locale: str, question_id: str) -> dict[str, str]:
    """A LeadGenQuestion as the form's ``questions`` field lists it."""
    english = english_key(key)
    label = LABELS.get(locale, {}).get(english) or english.replace("_", " ").capitalize()
    kind = QUESTION_TYPES.get(english, "CUSTOM")
    return {"key": key, "label": label, "type": kind, "id": question_id}
