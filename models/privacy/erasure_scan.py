"""Where the requester's data hides in free text: quarantined raw records, the reason of a
quarantined record, the warning and error lines of ``sync_runs``, and the intake inbox
(a Google Ads webhook body carries the answers until its lead is loaded).

These columns cannot be matched with an index: each is read once, in pages, keeping in memory
only the rows that hold the requester's email or phone, then written in one executemany.
A line of free text that names the requester is replaced whole (``REDACTED``): it is a log
line about one record, and the rest of the line says nothing once the person is gone.

An email is found as the match key or the address as stored, in any case, or any spelling
of the address that normalizes to the match key; a phone as its national number, however
it was punctuated ("(415) 555-0123", "+1 415.555.0123").
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.privacy.requester import LeadKey, Requester, lead_match
from leadflow.models.privacy.suppression import Suppression, email_key, identifier_hash
from leadflow.models.warehouse.intake_tables import intake_inbox
from leadflow.models.warehouse.lead_tables import quarantine, sync_runs

REDACTED = "[line removed: it named a person erased by leadflow forget]"
PAGE = 1_000
_EMAILISH = re.compile(r"[^\s<>()\[\]{}\"',;:]+@[^\s<>()\[\]{}\"',;:]+")
_PHONEISH = re.compile(r"\+?\d[\d\s().\-/]{5,}\d")


@dataclass(frozen=True)
class Needles:
    """The requester's emails (lowercase) and phones (national numbers, digits only)."""

    emails: frozenset[str]
    phone_digits: frozenset[str]

    @classmethod
    def of(cls, requester: Requester) -> Needles:
        digits = set()
        for phone in requester.phones:
            digits.add(re.sub(r"\D", "", phone))
            with contextlib.suppress(phonenumbers.NumberParseException):
                digits.add(str(phonenumbers.parse(phone).national_number))
        emails = {e.lower() for e in requester.emails | requester.addresses}
        return cls(frozenset(emails), frozenset(d for d in digits if len(d) >= 6))

    def found_in(self, text: str) -> bool:
        """True if ``text`` holds one of the emails or phones."""
        lowered = text.lower()
        if any(email in lowered for email in self.emails):
            return True
        if any(email_key(token) in self.emails for token in _EMAILISH.findall(text)):
            return True
        runs = (re.sub(r"\D", "", run) for run in _PHONEISH.findall(text))
        return any(number in run for run in runs for number in self.phone_digits)

    def scrub(self, text: str | None) -> str | None:
        """``text`` with every line that holds an email or phone replaced by ``REDACTED``."""
        if not text or not self.found_in(text):
            return text
        return "\n".join(REDACTED if self.found_in(line) else line for line in text.split("\n"))


@dataclass
class TextScan:
    """What the scans found: quarantine and inbox rows to delete, free-text rows to rewrite."""

    quarantined: list[int] = field(default_factory=list)
    inbox: list[tuple[str, str]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)


def scan(conn: Connection, requester: Requester, region: str | None) -> TextScan:
    """Find the requester's quarantined records and the free text that names them."""
    needles = Needles.of(requester)
    found = TextScan()
    if not needles.emails and not needles.phone_digits and not requester.leads:
        return found
    raw_scan = _raw_scan(requester, needles)
    _scan_quarantine(conn, requester, raw_scan, needles, region, found)
    _scan_inbox(conn, requester, raw_scan, region, found)
    _scan_runs(conn, needles, found)
    return found


def apply(conn: Connection, found: TextScan) -> dict[str, int]:
    """Delete and rewrite what ``scan`` found; rows changed per sink."""
    for start in range(0, len(found.quarantined), PAGE):
        part = found.quarantined[start : start + PAGE]
        conn.execute(quarantine.delete().where(quarantine.c.id.in_(part)))
    if found.inbox:
        key = sa.and_(
            intake_inbox.c.platform == sa.bindparam("b_platform"),
            intake_inbox.c.notification_id == sa.bindparam("b_id"),
        )
        rows = [{"b_platform": platform, "b_id": key_id} for platform, key_id in found.inbox]
        conn.execute(intake_inbox.delete().where(key), rows)
    if found.reasons:
        conn.execute(
            quarantine.update()
            .where(quarantine.c.id == sa.bindparam("b_id"))
            .values(reason=sa.bindparam("b_reason")),
            found.reasons,
        )
    if found.runs:
        key = sa.and_(
            sync_runs.c.run_id == sa.bindparam("b_run"),
            sync_runs.c.source == sa.bindparam("b_source"),
            sync_runs.c.account_id == sa.bindparam("b_account"),
        )
        values = {"warnings": sa.bindparam("b_warnings"), "error": sa.bindparam("b_error")}
        conn.execute(sync_runs.update().where(key).values(values), found.runs)
    return counts(found)


def counts(found: TextScan) -> dict[str, int]:
    """Rows per sink: quarantined records deleted, then free-text rows rewritten."""
    return {
        "quarantine": len(found.quarantined),
        "intake_inbox": len(found.inbox),
        "quarantine.reason": len(found.reasons),
        "sync_runs (text)": len(found.runs),
    }


def _raw_scan(requester: Requester, needles: Needles) -> Suppression:
    """The requester's emails and phones as a throwaway in-memory list, never stored."""
    salt = "raw-scan"
    hashes = {identifier_hash("email", e, salt) for e in needles.emails}
    hashes |= {identifier_hash("phone", p, salt) for p in requester.phones}
    return Suppression(salt, frozenset(hashes))


def _scan_quarantine(
    conn: Connection,
    requester: Requester,
    raw_scan: Suppression,
    needles: Needles,
    region: str | None,
    found: TextScan,
) -> None:
    keys: set[LeadKey] = set(requester.leads)
    query = sa.select(
        quarantine.c.id,
        quarantine.c.source,
        quarantine.c.record_key,
        quarantine.c.raw,
        quarantine.c.reason,
    ).execution_options(yield_per=PAGE)
    for row_id, source, record_key, raw, reason in conn.execute(query):
        if (source, record_key) in keys or raw_scan.matches_raw(raw, region):
            found.quarantined.append(row_id)
        elif needles.found_in(reason):
            found.reasons.append({"b_id": row_id, "b_reason": needles.scrub(reason)})


def _scan_inbox(
    conn: Connection,
    requester: Requester,
    raw_scan: Suppression,
    region: str | None,
    found: TextScan,
) -> None:
    """The requester's notifications: those naming one of their leads (the inbox is keyed
    by the platform's lead id, as ``leads`` is by source and lead id), and those not loaded
    yet whose body holds their email or phone (a lead the warehouse has not seen)."""
    t = intake_inbox.c
    named = sa.select(t.platform, t.notification_id).where(
        lead_match(t.platform, t.notification_id, requester.leads)
    )
    keys = {(platform, key) for platform, key in conn.execute(named)}
    unloaded = (
        sa.select(t.platform, t.notification_id, t.body)
        .where(t.status != "loaded")
        .execution_options(yield_per=PAGE)
    )
    for platform, key, body in conn.execute(unloaded):
        if (platform, key) not in keys and raw_scan.matches_raw(body, region):
            keys.add((platform, key))
    found.inbox = sorted(keys)


def _scan_runs(conn: Connection, needles: Needles, found: TextScan) -> None:
    query = (
        sa.select(
            sync_runs.c.run_id,
            sync_runs.c.source,
            sync_runs.c.account_id,
            sync_runs.c.warnings,
            sync_runs.c.error,
        )
        .where(sync_runs.c.warnings.is_not(None) | sync_runs.c.error.is_not(None))
        .execution_options(yield_per=PAGE)
    )
    for run_id, source, account, warnings, error in conn.execute(query):
        if needles.found_in(warnings or "") or needles.found_in(error or ""):
            found.runs.append(
                {"b_run": run_id, "b_source": source, "b_account": account}
                | {"b_warnings": needles.scrub(warnings), "b_error": needles.scrub(error)}
            )
