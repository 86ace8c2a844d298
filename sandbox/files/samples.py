"""Deterministic lead export files for the demo, drawn from the shared pool of people.

- ``meta``: Meta's lead download: UTF-16 LE with a BOM, tab-separated, Graph ``Lead``
  columns plus one per form question, ids prefixed ``l:``/``ag:``/``as:``/``c:``/``f:`` and
  phones ``p:`` as Meta writes them; organic leads have no ad, ad set or campaign.
- ``linkedin``: a Campaign Manager lead export: UTF-8 with a BOM, comma-separated.
- ``generic``: a spreadsheet saved by Excel in a German locale: cp1252, ``;``-separated, read
  with ``GENERIC_MAPPING``; one row is cut short, to show quarantine with a line number.

Import them with ``leadflow import FILE --source meta`` (or ``linkedin``, or any name with
``--mapping`` for the generic one).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from leadflow.sandbox.data import DEFAULT_ANCHOR
from leadflow.sandbox.people import Person, person

META_PEOPLE = range(2000, 2040)
LINKEDIN_PEOPLE = range(2030, 2060)  # overlaps Meta: the same humans on two platforms
GENERIC_PEOPLE = range(2060, 2080)
BROKEN_GENERIC_ROW = 7  # 0-based row of the generic file written short
GENERIC_MAPPING = {
    "id": "Kundennummer", "created_time": "Erstellt", "first_name": "Vorname",
    "last_name": "Nachname", "email": "E-Mail", "phone": "Telefon", "company": "Firma",
    "job_title": "Position", "country": "Land", "city": "Ort",
}  # fmt: skip
META_HEADER = ("id", "created_time", "ad_id", "ad_name", "adset_id", "adset_name",
               "campaign_id", "campaign_name", "form_id", "form_name", "is_organic",
               "platform", "full_name", "email", "phone_number", "company_name", "job_title",
               "what_is_your_budget?")  # fmt: skip
LINKEDIN_HEADER = ("Lead ID", "First Name", "Last Name", "Email Address", "Phone Number",
                   "Company Name", "Job Title", "Country/Region", "City",
                   "What can we help with?", "Campaign ID", "Campaign Name", "Form ID",
                   "Form Name", "Lead Type", "Submitted At (UTC)")  # fmt: skip
GENERIC_HEADER = ("Kundennummer", "Erstellt", "Vorname", "Nachname", "E-Mail", "Telefon",
                  "Firma", "Position", "Land", "Ort")  # fmt: skip
BUDGETS = ("under_$1k", "$1k_-_$5k", "$5k_-_$25k", "over_$25k")


def write_samples(folder: str | Path) -> dict[str, Path]:
    """Write the three sample exports into ``folder``; their paths by kind."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths = {
        "meta": target / "meta_leads_export.csv",
        "linkedin": target / "linkedin_leads_export.csv",
        "generic": target / "crm_export_de.csv",
    }
    meta = "".join("\t".join(row) + "\n" for row in [META_HEADER, *_meta_rows()])
    paths["meta"].write_bytes(codecs.BOM_UTF16_LE + meta.encode("utf-16-le"))
    linkedin = _csv([LINKEDIN_HEADER, *_linkedin_rows()], ",")
    paths["linkedin"].write_bytes(codecs.BOM_UTF8 + linkedin.encode("utf-8"))
    paths["generic"].write_bytes(_csv(_generic_rows(), ";").encode("cp1252"))
    (target / "crm_export_de.mapping.json").write_text(json.dumps(GENERIC_MAPPING, indent=2))
    return paths


def _csv(rows: list, delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _when(index: int, hours: int) -> str:
    return (DEFAULT_ANCHOR - timedelta(hours=hours * index + 3)).strftime("%Y-%m-%dT%H:%M:%S%z")


def _meta_rows() -> list[tuple[str, ...]]:
    rows = []
    for n, i in enumerate(META_PEOPLE):
        who = person(i)
        organic = n % 7 == 3
        ad = ("", "", "", "", "", "") if organic else (
            f"ag:12021000000000{n % 3:04d}", f"Carousel {'ABC'[n % 3]}",
            "as:120210000000000100", "Lookalike 1% - Customers",
            "c:120210000000000200", "Q4 Lead Gen - Contact Sales",
        )  # fmt: skip
        rows.append((
            f"l:{1_800_000_000_000_000 + i}", _when(n, 5), *ad,
            "f:2345678901234567", "Contact Sales - Q4 2026", "TRUE" if organic else "FALSE",
            "ig" if n % 2 else "fb", who.full_name.upper() if n % 5 == 0 else who.full_name,
            who.email, f"p:{who.phone}" if who.phone else "", who.company, who.job_title,
            BUDGETS[i % len(BUDGETS)],
        ))  # fmt: skip
    return rows


def _linkedin_rows() -> list[tuple[str, ...]]:
    rows = []
    for n, i in enumerate(LINKEDIN_PEOPLE):
        who = person(i)
        sponsored = n % 6 != 5
        rows.append((
            f"{i:08x}-0b1d-4c6e-9f00-{n:012d}-{n % 10}", who.first_name, who.last_name,
            who.email, who.phone or "", who.company, who.job_title, who.country or "",
            who.city or "", "Pricing, and a demo\nfor our team" if n % 4 == 0 else "",
            "612345678" if sponsored else "", "Q4 Security - EMEA" if sponsored else "",
            "7234246", "Free Security Assessment", "SPONSORED" if sponsored else "COMPANY",
            _when(n, 7).replace("T", " ")[:19],
        ))  # fmt: skip
    return rows


def _generic_rows() -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [GENERIC_HEADER]
    for n, i in enumerate(GENERIC_PEOPLE):
        who: Person = person(i)
        row = (f"K-{10_000 + i}", _when(n, 11), who.first_name, who.last_name, who.email,
               who.phone or "", who.company, who.job_title, who.country_code or "",
               who.city or "")  # fmt: skip
        rows.append(row[:3] if n == BROKEN_GENERIC_ROW else row)
    return rows
