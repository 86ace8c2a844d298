"""The people layer — identity resolution and classification — against a direct reference.

Per database and size, untimed: a migrated warehouse (:mod:`bench.targets`) is filled with
``n`` leads of :mod:`bench.dataset` through the real loader (``load_batch``, pages of 5,000,
one source per page) and about 0.6 engagement events a lead through ``load_stream``. A few
leads are changed on the way in so that every identity rule has work to do (see
:func:`people_lead`): role addresses (``info@``) and disposable-mail addresses that many
leads share, switchboard phones shared by many emails, HubSpot contacts listing merged
contact ids (loaded ones and ids never loaded), hand-raiser forms and CRM lead statuses.
About 0.2 sales touches a lead are loaded too (:func:`lead_touches`: calls and emails on
HubSpot contacts, through ``load_stream``; no meetings, which are hand-raisers): the SLA
has touches to evaluate and no classification changes. PostgreSQL is then
``VACUUM ANALYZE``d (what autovacuum does after a big load); SQLite is left as loaded.
That warehouse is the template: every timed run gets its own copy (the file
on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).

Timed, each call in a fresh child process (``multiprocessing`` spawn: imports done before
the clock starts; the child's peak RSS, ``ru_maxrss``, is the call's own plus the imports):

- ``leadflow``: ``leadflow.pipeline.people.resolve_and_classify(engine, rules=default_rules(),
  now=NOW, run_id=..., full=True)`` on a copy of the freshly loaded warehouse (a first run:
  every lead gets a person), then a second call on the same copy with nothing changed
  (``full=False``: the incremental re-run), its own row. The split into identity and
  classification is read from the time of the call's first ``identity`` log record.
- ``leadflow SLA``: in the first run's child, right after it, on the same copy (what a sync
  does next): ``leadflow.pipeline.sla.evaluate_sla(engine, SlaSettings(), "UTC",
  NOW, run_id, full=True)``, then the GX checks on that warehouse timed as
  :mod:`bench.gx_bench` times them (``run_checks`` with the default rules, the evaluation's
  periods, the run id, ``NOW``, Data Docs into a fixed folder under the run's temporary
  folder); the import of Great Expectations is timed apart, before. Two rows; each part's
  peak RSS is its own (the process's peak is reset before it, ``/proc/self/clear_refs``).
- ``reference``: written here, on another copy: every real lead's match keys in one
  streamed query; union-find over email match keys, phones and HubSpot merged ids with the
  same blocking rules (``default_rules().identity``: a phone shared by more than 5 emails,
  role and disposable addresses link nobody); person id ``p_`` + 16 hex of sha256 of the
  cluster's earliest created lead ("source:source_lead_id", ties by that text); the
  lead → person mapping written to a narrow ``bench_lead_person`` table (PostgreSQL binary
  ``COPY``, SQLite ``executemany``, one transaction), an email → person table for events;
  then one streamed query of the leads joined to the mapping ordered by person, and one of
  the events joined to the email table in the same order, merged, each person classified by
  the same pure ``leadflow.models.people.classify.classify`` and written to a narrow
  ``bench_person`` table (stage, lifecycle, fit, engagement, qualified_at). No profiles,
  transitions, milestones or merges: what a direct implementation of the same answer costs.

Rounds are interleaved (leadflow, then the reference, on fresh copies each round); medians.
After the last round, untimed, the two copies are compared: every real lead's person id
(``lead_people`` against ``bench_lead_person``), the number of people, and each
person's stage, lifecycle, fit, engagement and qualified_at.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import re
import resource
import shutil
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from bench.dataset import ACCOUNTS, make_lead
from bench.report import Check, Row
from bench.targets import Target, postgres_target, sqlite_target
from leadflow.models.people.facts import LeadFacts, PersonFacts
from leadflow.models.people.rules import IdentityRules, Rules
from leadflow.models.records.activity import EngagementEvent, SalesTouch
from leadflow.models.records.leads import Lead

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
PAGE = 5_000  # leads (and events) per load_batch / load_stream call
CHUNK = 50_000  # leads generated at a time while filling
WRITE_BATCH = 10_000  # reference: rows per bench_person write
FIRST = "leadflow resolve_and_classify, first run"
AGAIN = "leadflow resolve_and_classify, nothing changed"
REFERENCE = "people reference: union-find + narrow tables"
SLA = "leadflow SLA evaluation, full"
GX = "leadflow SLA + data-quality GX checks"
# The targets: leadflow at most 1.5x the reference's time (from 100k leads, where
# the fixed costs of a call no longer dominate), growing linearly, peak RSS <= 1 GiB at 1M.
TARGET_RATIO = 1.5
RATIO_FROM = 100_000
LINEAR_SLACK = 1.25  # per-lead time at the largest size over that at the smallest size
TARGET_RSS_MB = 1024
RSS_FROM = 1_000_000
# Issue 17: the SLA evaluation of a million leads' warehouse in at most 30 s (the GX checks
# after it are reported beside it, with no target of their own here).
TARGET_SLA_S = 30.0
SLA_FROM = 1_000_000
SLA_ZONE = "UTC"  # the default_zone of the evaluation (the top-level ``timezone``)
OWNERS = 25  # sales reps (HubSpot owners) making the touches
ROLE = "info@northwind.example"
SWITCHBOARDS = 7
SIZE_KEYS = ("numberofemployees", "company_size", "employees", "company_employees")
EVENT_TYPES = ("open", "click", "open", "form_submission", "click", "webinar_attended")


# --- the data ---------------------------------------------------------------------------


def people_lead(index: int) -> Lead:
    """Lead ``index`` of :mod:`bench.dataset`, with a few changed so every rule is used."""
    lead = make_lead(index)
    changes: dict[str, Any] = {}
    if index % 211 == 1:  # a role address many leads share: links nobody
        changes.update(email=ROLE, email_match_key=ROLE)
    elif index % 307 == 2:  # disposable addresses, each shared by a few dozen leads
        email = f"someone{index % 50}@mailinator.com"
        changes.update(email=email, email_match_key=email)
    if index % 401 == 3:  # switchboards: one number, many emails (linking only when few)
        changes["phone"] = f"+1415555{index % SWITCHBOARDS:04d}"
    custom = dict(lead.custom_fields)
    if lead.source == "hubspot":
        if index % 100 == 4:  # merged contacts: an earlier loaded one and one never loaded
            custom["hs_merged_object_ids"] = f"hu{max(index - 40, 0)};hu-old-{index}"
        if index % 13 == 0:
            custom["hs_lead_status"] = ("IN_PROGRESS", "UNQUALIFIED", "NEW")[index % 3]
    elif index % 17 == 0:
        custom["form_name"] = ("Request a demo", "Contact sales", "Ebook download")[index % 3]
    if custom != lead.custom_fields:
        changes["custom_fields"] = custom
    return replace(lead, **changes) if changes else lead


def lead_events(lead: Lead, index: int) -> list[EngagementEvent]:
    """About 0.6 engagement events a lead, by email, over the days after its creation
    (some after :data:`NOW`: classification ignores those), a few replies (hand-raisers)."""
    if not lead.email_match_key or index % 5 in (1, 3):
        return []
    count = 1 + (index % 7 == 0) + (index % 11 == 0)
    events = []
    for k in range(count):
        kind = "reply" if index % 97 == 0 and k == 0 else EVENT_TYPES[(index + k) % 6]
        events.append(
            EngagementEvent(
                source="mailchimp",
                event_id=f"ev{index}-{k}",
                account_id=ACCOUNTS["mailchimp"],
                event_type=kind,
                occurred_at=lead.created_at + timedelta(hours=(index * 13 + k * 29) % 240),
                email=lead.email,
                email_match_key=lead.email_match_key,
                campaign_id=f"mc-{index % 9}",
            )
        )
    return events


def lead_touches(lead: Lead, index: int) -> list[SalesTouch]:
    """Sales touches on about one HubSpot contact in three (some 0.2 a lead): outbound calls
    (a quarter of them connected) and emails by one of :data:`OWNERS` reps, the first from
    minutes to hours after the contact's last update (when a platform MQL qualifies), the
    others a day apart. No meetings: a booked meeting is a hand-raiser, which would change
    classifications the reference does not read touches for."""
    if lead.source != "hubspot" or index % 3:
        return []
    count = 1 + (index % 4 == 0) + (index % 9 == 0)
    first = lead.updated_at + timedelta(minutes=(index // 3) % 180)
    touches = []
    for k in range(count):
        call = (index // 3 + k) % 3 != 2
        at = first + timedelta(days=k, minutes=k * 17)
        touches.append(
            SalesTouch(
                source="hubspot",
                touch_id=f"tc{index}-{k}",
                lead_id=lead.source_lead_id,
                touch_type="call" if call else "email",
                occurred_at=at,
                updated_at=at,
                owner_id=f"own-{index % OWNERS}",
                direction="outbound",
                outcome=("connected" if (index + k) % 4 == 0 else "no_answer") if call else None,
            )
        )
    return touches


def _pages(items: Sequence[Any], key: Callable[[Any], str]) -> Iterator[tuple[str, list[Any]]]:
    by_source: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        by_source[key(item)].append(item)
    for source, group in by_source.items():
        for start in range(0, len(group), PAGE):
            yield source, group[start : start + PAGE]


def fill(target: Target, n: int) -> dict[str, Any]:
    """Load ``n`` leads, their events and sales touches into ``target`` through leadflow's
    loaders (untimed)."""
    from leadflow.models.loading.activity import load_stream
    from leadflow.models.loading.leads import load_batch

    began, written_leads, written_events, written_touches = time.perf_counter(), 0, 0, 0
    for start in range(0, n, CHUNK):
        leads, events, touches = [], [], []
        for index in range(start, min(n, start + CHUNK)):
            lead = people_lead(index)
            leads.append(lead)
            events += lead_events(lead, index)
            touches += lead_touches(lead, index)
        for source, page in _pages(leads, lambda lead: lead.source):
            with target.engine.begin() as conn:
                load_batch(
                    conn, source=source, account_id=ACCOUNTS[source], leads=page, rejected=(),
                    watermark=max(lead.updated_at for lead in page), cursor=None, now=NOW,
                )  # fmt: skip
            written_leads += len(page)
        for source, page in _pages(events, lambda event: event.source):
            with target.engine.begin() as conn:
                load_stream(
                    conn, stream="engagement_events", source=source,
                    account_id=ACCOUNTS[source], rows=page, rejected=(),
                    watermark=max(event.occurred_at for event in page),
                    state_key="engagement_events", now=NOW,
                )  # fmt: skip
            written_events += len(page)
        for source, page in _pages(touches, lambda touch: touch.source):
            with target.engine.begin() as conn:
                load_stream(
                    conn, stream="sales_touches", source=source,
                    account_id=ACCOUNTS[source], rows=page, rejected=(),
                    watermark=max(touch.updated_at for touch in page),
                    state_key="sales_touches", now=NOW,
                )  # fmt: skip
            written_touches += len(page)
    if target.kind == "postgresql":
        with target.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    else:
        with target.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    target.engine.dispose()
    seconds = time.perf_counter() - began
    return {
        "leads": written_leads,
        "events": written_events,
        "touches": written_touches,
        "fill_s": seconds,
    }


# --- copies of the loaded warehouse -----------------------------------------------------


def clone(target: Target, name: str) -> str:
    """A copy of ``target``'s database (no connection may be open on it); its URL."""
    target.engine.dispose()
    if target.kind == "sqlite":
        assert target.sqlite_path is not None
        path = target.sqlite_path.with_name(f"{name}.db")
        shutil.copyfile(target.sqlite_path, path)
        return f"sqlite:///{path}"
    assert target.admin is not None
    url = make_url(target.url)
    copy = f"{url.database}_{name}"
    with target.admin.connect() as conn:
        # FILE_COPY (PostgreSQL 15+): copied files, not gigabytes of WAL that the next
        # checkpoint, during a timed call, would have to write.
        version = conn.dialect.server_version_info or (0,)
        strategy = " STRATEGY FILE_COPY" if version >= (15,) else ""
        conn.exec_driver_sql(f'CREATE DATABASE "{copy}" TEMPLATE "{url.database}"{strategy}')
        with contextlib.suppress(DBAPIError):  # needs superuser or pg_checkpoint
            conn.exec_driver_sql("CHECKPOINT")
    return url.set(database=copy).render_as_string(hide_password=False)


def drop(target: Target, url: str) -> None:
    """Remove a copy made by :func:`clone`."""
    parsed = make_url(url)
    if target.kind == "sqlite":
        assert parsed.database is not None
        path = Path(parsed.database)
        for extra in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + extra).unlink(missing_ok=True)
        return
    assert target.admin is not None
    with target.admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


# --- the timed calls, each in a child process -------------------------------------------


def _rss_mb() -> float:
    """This process's peak RSS in MB: ``VmHWM``, not ``ru_maxrss``, which Linux carries over
    from the parent through fork and exec (a child would report at least the parent's RSS)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (``clear_refs`` 5, Linux 4.0+), so
    the next :func:`_rss_mb` is the peak of what follows; whether that was possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class _StageClock(logging.Handler):
    """Notes when leadflow's call logs its first ``identity`` record (identity is done)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.identity_at: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.identity_at is None and str(record.msg).startswith("identity"):
            self.identity_at = time.perf_counter()


def run_leadflow(url: str, full: bool, run_id: str) -> dict[str, Any]:
    """``resolve_and_classify`` on ``url``, timed; its summary, stages and this process's
    peak RSS."""
    from leadflow.models.people.rules import default_rules
    from leadflow.models.warehouse.engine import create_engine
    from leadflow.pipeline.people import resolve_and_classify

    rules = default_rules()
    logger = logging.getLogger(f"bench.people.{run_id}")
    logger.propagate, clock = False, _StageClock()
    logger.setLevel(logging.DEBUG)
    logger.addHandler(clock)
    engine = create_engine(url)
    base = _rss_mb()
    began = time.perf_counter()
    summary = resolve_and_classify(
        engine, rules=rules, now=NOW, run_id=run_id, full=full, logger=logger
    )
    seconds = time.perf_counter() - began
    engine.dispose()
    stages = {}
    if clock.identity_at is not None:
        stages = {
            "identity": clock.identity_at - began,
            "classify": began + seconds - clock.identity_at,
        }
    return {
        "seconds": seconds,
        "stages": stages,
        "summary": dict(summary),
        "rss_mb": _rss_mb(),
        "base_rss_mb": base,
    }


def run_sla(url: str, run_id: str, data_docs_dir: str) -> dict[str, Any]:
    """What a sync does after the people layer, each part timed: the SLA evaluation of
    ``url`` (``full=True``), then the GX checks as :mod:`bench.gx_bench` calls them (the
    import of Great Expectations timed apart, before); each part's outcome and peak RSS."""
    from bench.gx_bench import import_seconds
    from leadflow.expectations.runner import run_checks
    from leadflow.flows.check_sla import rule_checks
    from leadflow.models.sla.config import SlaSettings
    from leadflow.models.warehouse.engine import create_engine
    from leadflow.pipeline.sla import evaluate_sla

    sla = SlaSettings()
    checks = rule_checks(sla)
    engine = create_engine(url)
    own_peak = _reset_peak()
    base = _rss_mb()
    began = time.perf_counter()
    outcome = evaluate_sla(engine, sla, SLA_ZONE, NOW, run_id, full=True)
    seconds = time.perf_counter() - began
    engine.dispose()
    evaluated = {
        "seconds": seconds,
        "evaluations": outcome.evaluations,
        "by_status": dict(sorted(outcome.by_status.items())),
        "new_breaches": outcome.new_breaches,
        "rollups": len(outcome.results),
        "periods": outcome.periods,
        "rss_mb": _rss_mb(),
        "base_rss_mb": base,
        "own_peak": own_peak,
    }
    own_peak = _reset_peak()
    base = _rss_mb()
    imported = import_seconds()
    began = time.perf_counter()
    report = run_checks(
        url, checks, periods=outcome.periods, run_id=run_id, now=NOW,
        data_docs_dir=data_docs_dir,
    )  # fmt: skip
    gx_seconds = time.perf_counter() - began
    validated = {
        "seconds": gx_seconds,
        "gx_import_s": imported,
        "evaluated_breached": {r.rule: [r.evaluated, r.breached] for r in report.rules},
        "failed": report.failed(),
        "quality_checks": len(report.quality),
        "rss_mb": _rss_mb(),
        "base_rss_mb": base,
        "own_peak": own_peak,
    }
    return {"sla": evaluated, "gx": validated}


def run_reference(url: str) -> dict[str, Any]:
    """:func:`reference` on ``url``, timed, with this process's peak RSS."""
    from leadflow.models.people.rules import default_rules
    from leadflow.models.warehouse.engine import create_engine

    rules = default_rules()
    engine = create_engine(url)
    base = _rss_mb()
    began = time.perf_counter()
    stages, people = reference(engine, rules, NOW)
    seconds = time.perf_counter() - began
    engine.dispose()
    return {
        "seconds": seconds,
        "stages": stages,
        "summary": {"people": people},
        "rss_mb": _rss_mb(),
        "base_rss_mb": base,
    }


def _child_main(task: str, args: tuple[Any, ...]) -> dict[str, Any]:
    if task == "leadflow":
        return run_leadflow(*args)
    if task == "leadflow+sla":  # the first run, then the SLA on its answer
        url, run_id, data_docs_dir = args
        first = run_leadflow(url, True, run_id)
        return first | run_sla(url, run_id, data_docs_dir)
    return run_reference(*args)


def in_child(task: str, *args: Any) -> dict[str, Any]:
    """Run ``task`` ("leadflow", "leadflow+sla" or "reference") in a fresh spawned
    process, not a daemon (leadflow's classification starts worker processes of its own on
    PostgreSQL, which a ``multiprocessing.Pool`` worker may not). The child is let exit on
    its own (not terminated) so its finalizers run: GX's progress bars leave a named
    semaphore (tqdm's lock) behind."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_child_main, task, args).result()


# --- the reference ----------------------------------------------------------------------

_TEXT = {"sqlite": "json_extract({column}, '$.{path}')", "postgresql": "{column} #>> '{{{path}}}'"}


def _json_text(kind: str, column: str, path: str) -> str:
    """SQL for the value at ``path`` (dotted) of JSON ``column``, as text."""
    if kind == "postgresql":
        return _TEXT[kind].format(column=column, path=path.replace(".", ","))
    return _TEXT[kind].format(column=column, path=path)


def _merged_ids(value: Any, own: str) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str) and value.startswith("["):
        items = json.loads(value)
    else:
        items = str(value).split(";")
    return {str(item).strip() for item in items} - {"", own}


def _cursor(driver: Any, kind: str, name: str) -> Any:
    """A streaming cursor: server-side on PostgreSQL."""
    if kind == "postgresql":
        cursor = driver.cursor(name=name)
        cursor.itersize = 5_000
        return cursor
    return driver.cursor()


def _resolve(
    rows: Iterable[tuple[Any, ...]], rules: IdentityRules
) -> tuple[list[tuple[str, str]], list[str], dict[str, str]]:
    """Union-find over the leads' keys: (the leads' keys, each lead's person id, each
    email's person when it has only one)."""
    keys: list[tuple[str, str]] = []
    created: list[Any] = []
    emails: list[str | None] = []
    phones: list[str | None] = []
    merged: list[tuple[int, str]] = []
    for source, lead_id, email, phone, created_at, merged_value in rows:
        node = len(keys)
        keys.append((source, lead_id))
        created.append(created_at)
        emails.append(email)
        phones.append(phone)
        if source == "hubspot":
            merged += [(node, other) for other in _merged_ids(merged_value, lead_id)]
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    blocked_email: dict[str, bool] = {}
    first: dict[str, int] = {}
    for node, email in enumerate(emails):
        if email and not blocked_email.setdefault(email, rules.blocks_email(email)):
            union(node, first.setdefault(email, node))
    index = {key: node for node, key in enumerate(keys)}
    for node, other in merged:
        alias = index.setdefault(("hubspot", other), len(parent))
        if alias == len(parent):
            parent.append(alias)
        union(node, alias)
    crowded = {
        p for p, count in Counter(phones).items() if p and count > rules.max_emails_per_phone
    }
    seen: dict[str, set[str]] = defaultdict(set)
    for phone, email in zip(phones, emails, strict=True):
        if phone in crowded and email:
            seen[phone].add(email)
    blocked_phones = {p for p, found in seen.items() if len(found) > rules.max_emails_per_phone}
    first.clear()
    for node, phone in enumerate(phones):
        if phone and phone not in blocked_phones:
            union(node, first.setdefault(phone, node))
    anchors: dict[int, tuple[Any, str]] = {}
    roots = [find(node) for node in range(len(keys))]
    for node, root in enumerate(roots):
        order = (created[node], f"{keys[node][0]}:{keys[node][1]}")
        if root not in anchors or order < anchors[root]:
            anchors[root] = order
    ids = {
        root: "p_" + hashlib.sha256(text.encode()).hexdigest()[:16]
        for root, (_, text) in anchors.items()
    }
    person = [ids[root] for root in roots]
    email_person: dict[str, str] = {}
    shared: set[str] = set()
    for email, pid in zip(emails, person, strict=True):
        if email and email_person.setdefault(email, pid) != pid:
            shared.add(email)
    for email in shared:
        del email_person[email]
    return keys, person, email_person


def _facts_sql(kind: str) -> tuple[str, str]:
    """The leads joined to their people, and the events, both ordered by person."""
    order = ' COLLATE "C"' if kind == "postgresql" else ""
    custom = [_json_text(kind, "l.custom_fields", key) for key in SIZE_KEYS]
    leads_sql = (
        "SELECT m.person_id, l.source, l.source_lead_id, l.created_at, l.updated_at,"
        " l.utm_source, l.utm_medium, l.utm_campaign, l.campaign_id, l.is_organic, l.form_id,"
        f" {_json_text(kind, 'l.custom_fields', 'form_name')},"
        f" {_json_text(kind, 'l.raw', 'form_name')}, {_json_text(kind, 'l.raw', 'form.name')},"
        f" l.source_stage, {_json_text(kind, 'l.custom_fields', 'hs_lead_status')},"
        f" {_json_text(kind, 'l.custom_fields', 'hs_analytics_source')}, {', '.join(custom)},"
        " l.job_title, l.company, l.country, l.email"
        " FROM bench_lead_person m JOIN leads l"
        " ON l.source = m.source AND l.source_lead_id = m.source_lead_id"
        f" ORDER BY m.person_id{order}"
    )
    events_sql = (
        "SELECT p.person_id, e.source, e.event_id, e.account_id, e.event_type, e.occurred_at,"
        " e.channel, e.email, e.email_match_key, e.campaign_id"
        " FROM engagement_events e JOIN bench_email_person p"
        " ON p.email_match_key = e.email_match_key"
        f" ORDER BY p.person_id{order}"
    )
    return leads_sql, events_sql


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _first_int(values: Iterable[Any]) -> int | None:
    for value in values:
        match = re.search(r"\d[\d,]*", str(value)) if value is not None else None
        if match:
            return int(match.group().replace(",", ""))
    return None


def _lead_facts(row: Sequence[Any], when: Callable[[Any], datetime]) -> LeadFacts:
    (_, source, lead_id, created, updated, utm_source, utm_medium, utm_campaign, campaign,
     organic, form_id, custom_form, raw_form, raw_form_name, stage, status, analytics,
     *sizes, title, company, country, email) = row  # fmt: skip
    return LeadFacts(
        source=source,
        source_lead_id=lead_id,
        created_at=when(created),
        updated_at=when(updated),
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        campaign_id=campaign,
        is_organic=None if organic is None else bool(organic),
        form_id=form_id,
        form_name=_text(custom_form or raw_form or raw_form_name),
        source_stage=stage,
        lead_status=_text(status),
        analytics_source=_text(analytics),
        job_title=title,
        company=company,
        company_size=_first_int(sizes),
        country=country,
        email_domain=email.rpartition("@")[2] if email else None,
    )


def _event(row: Sequence[Any], when: Callable[[Any], datetime]) -> EngagementEvent:
    _, source, event_id, account, kind, occurred, channel, email, key, campaign = row
    return EngagementEvent(
        source=source, event_id=event_id, account_id=account, event_type=kind,
        occurred_at=when(occurred), channel=channel, email=email, email_match_key=key,
        campaign_id=campaign,
    )  # fmt: skip


def _sqlite_when(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class _Writer:
    """Bulk rows into one narrow table: binary COPY (PostgreSQL) or executemany (SQLite)."""

    def __init__(self, driver: Any, kind: str, table: str, columns: dict[str, str]) -> None:
        self.driver, self.kind, self.table = driver, kind, table
        self.columns, self.types = list(columns), list(columns.values())
        self.count = 0

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        names = ", ".join(self.columns)
        if self.kind == "postgresql":
            with self.driver.cursor() as cursor:
                sql = f"COPY {self.table} ({names}) FROM STDIN (FORMAT BINARY)"
                with cursor.copy(sql) as copy:
                    copy.set_types(self.types)
                    for row in rows:
                        copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in self.columns)
            self.driver.executemany(f"INSERT INTO {self.table} ({names}) VALUES ({marks})", rows)
        self.count += len(rows)


def reference(engine: Engine, rules: Rules, now: datetime) -> tuple[dict[str, float], int]:
    """Resolve and classify everyone into ``bench_lead_person`` / ``bench_email_person`` /
    ``bench_person``, in one transaction; the seconds of its stages and the people count."""
    from leadflow.models.people.classify import classify

    kind = engine.dialect.name
    sqlite = kind == "sqlite"
    when: Callable[[Any], datetime] = _sqlite_when if sqlite else (lambda value: value)
    merged = _json_text(kind, "custom_fields", "hs_merged_object_ids")
    stages: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        stages[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        if sqlite:
            driver.isolation_level = None
            driver.execute("BEGIN")
        cursor = _cursor(driver, kind, "bench_keys")
        cursor.execute(
            "SELECT source, source_lead_id, email_match_key, phone, created_at,"
            f" CASE WHEN source = 'hubspot' THEN {merged} END FROM leads WHERE NOT is_test"
        )
        keys, person, email_person = _resolve(cursor, rules.identity)
        cursor.close()
        lap("resolve")
        plain = driver.cursor()
        for ddl in (
            "CREATE TABLE bench_lead_person (source TEXT NOT NULL,"
            " source_lead_id TEXT NOT NULL, person_id TEXT NOT NULL)",
            "CREATE TABLE bench_email_person (email_match_key TEXT PRIMARY KEY,"
            " person_id TEXT NOT NULL)",
            "CREATE TABLE bench_person (person_id TEXT PRIMARY KEY, stage TEXT NOT NULL,"
            " lifecycle TEXT NOT NULL, fit INTEGER NOT NULL, engagement DOUBLE PRECISION"
            f" NOT NULL, qualified_at {'TEXT' if sqlite else 'TIMESTAMPTZ'})",
        ):
            plain.execute(ddl)
        text3 = {"source": "text", "source_lead_id": "text", "person_id": "text"}
        _Writer(driver, kind, "bench_lead_person", text3).write(
            [(s, lead_id, pid) for (s, lead_id), pid in zip(keys, person, strict=True)]
        )
        email_columns = {"email_match_key": "text", "person_id": "text"}
        _Writer(driver, kind, "bench_email_person", email_columns).write(list(email_person.items()))
        people = len(set(person))
        del keys, person, email_person
        plain.execute("CREATE INDEX bench_lead_person_person ON bench_lead_person (person_id)")
        if not sqlite:
            plain.execute("ANALYZE bench_lead_person, bench_email_person")
        lap("write map")
        writer = _Writer(driver, kind, "bench_person", {
            "person_id": "text", "stage": "text", "lifecycle": "text", "fit": "int4",
            "engagement": "float8", "qualified_at": "timestamptz",
        })  # fmt: skip
        leads_sql, events_sql = _facts_sql(kind)
        lead_rows, event_rows = _cursor(driver, kind, "bench_facts"), _cursor(driver, kind, "e")
        lead_rows.execute(leads_sql)
        event_rows.execute(events_sql)
        events = iter(event_rows)
        pending = next(events, None)
        batch: list[tuple[Any, ...]] = []
        for pid, group in groupby(lead_rows, key=itemgetter(0)):
            found = sorted(
                (_lead_facts(row, when) for row in group),
                key=lambda f: (f.source, f.source_lead_id),
            )
            while pending is not None and pending[0] < pid:
                pending = next(events, None)
            mine = []
            while pending is not None and pending[0] == pid:
                mine.append(_event(pending, when))
                pending = next(events, None)
            mine.sort(key=lambda e: (e.occurred_at, e.source, e.event_id))
            c = classify(PersonFacts(pid, found, mine), rules, now)
            qualified = _sqlite_text(c.qualified_at) if sqlite else c.qualified_at
            batch.append((pid, str(c.stage), c.lifecycle, c.fit, c.engagement, qualified))
            if len(batch) >= WRITE_BATCH:
                writer.write(batch)
                batch.clear()
        writer.write(batch)
        lead_rows.close()
        event_rows.close()
        if sqlite:
            driver.execute("COMMIT")
        else:
            driver.commit()
        lap("classify")
    finally:
        raw.close()
    return stages, people


# --- agreement (untimed) ----------------------------------------------------------------


def _ordered(url: str, sql: str) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` on ``url``, streamed."""
    from leadflow.models.warehouse.engine import create_engine

    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        cursor = _cursor(driver, engine.dialect.name, "bench_compare")
        cursor.execute(sql)
        yield from cursor
        cursor.close()
    finally:
        raw.close()
        engine.dispose()


def _merge(
    left: Iterator[tuple[Any, ...]], right: Iterator[tuple[Any, ...]], width: int
) -> Iterator[tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]]:
    """Pairs of rows of two streams ordered by their first ``width`` columns (None: missing)."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[:width] < b[:width]):
            yield a, None
            a = next(left, None)
        elif a is None or b[:width] < a[:width]:
            yield None, b
            b = next(right, None)
        else:
            yield a, b
            a, b = next(left, None), next(right, None)


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return _sqlite_when(value)


def _same_class(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return (
        a[1:4] == b[1:4]
        and abs((a[4] or 0.0) - (b[4] or 0.0)) < 1e-6
        and _moment(a[5]) == _moment(b[5])
    )


def agreement(kind: str, leadflow_url: str, reference_url: str) -> dict[str, Any]:
    """Compare leadflow's answer with the reference's: every real lead's person id and
    every person's classification."""
    order = ' COLLATE "C"' if kind == "postgresql" else ""
    mine = _ordered(
        leadflow_url,
        "SELECT l.source, l.source_lead_id, lp.person_id FROM leads l"
        " LEFT JOIN lead_people lp"
        " ON lp.source = l.source AND lp.source_lead_id = l.source_lead_id"
        f" WHERE NOT l.is_test ORDER BY l.source{order}, l.source_lead_id{order}",
    )
    theirs = _ordered(
        reference_url,
        "SELECT source, source_lead_id, person_id FROM bench_lead_person"
        f" ORDER BY source{order}, source_lead_id{order}",
    )
    leads = differ = 0
    examples: list[str] = []
    for a, b in _merge(mine, theirs, 2):
        leads += 1
        if a is None or b is None or a[2] != b[2]:
            differ += 1
            if len(examples) < 3:
                examples.append(f"{(a or b)[:2]}: leadflow {a and a[2]}, reference {b and b[2]}")  # type: ignore[index]
    columns = "person_id, stage, lifecycle, fit, engagement, qualified_at"
    mine = _ordered(leadflow_url, f"SELECT {columns} FROM people ORDER BY person_id{order}")
    theirs = _ordered(
        reference_url, f"SELECT {columns} FROM bench_person ORDER BY person_id{order}"
    )
    people = {"leadflow": 0, "reference": 0}
    classes_differ = 0
    for a, b in _merge(mine, theirs, 1):
        people["leadflow"] += a is not None
        people["reference"] += b is not None
        if a is None or b is None or not _same_class(a, b):
            classes_differ += 1
            if len(examples) < 6:
                examples.append(
                    f"person {(a or b)[0]}: leadflow {a and a[1:]}, reference {b and b[1:]}"
                )  # type: ignore[index]
    return {
        "leads": leads,
        "leads_differ": differ,
        "people_leadflow": people["leadflow"],
        "people_reference": people["reference"],
        "classifications_differ": classes_differ,
        "examples": examples,
    }


def agreement_note(found: dict[str, Any]) -> str:
    same = found["people_leadflow"] == found["people_reference"]
    people = (
        f"{found['people_leadflow']:,} people"
        if same
        else f"{found['people_leadflow']:,} people vs the reference's {found['people_reference']:,}"
    )
    if not found["leads_differ"] and not found["classifications_differ"] and same:
        leads = f"{found['leads']:,} leads' person ids"
        return f"agrees with the reference: {leads}, {people}, every classification"
    return (
        f"DIFFERS from the reference: {found['leads_differ']:,} of {found['leads']:,} leads'"
        " person ids, "
        f"{people}, {found['classifications_differ']:,} classifications"
    )


# --- the measurement --------------------------------------------------------------------


def _target(kind: str, folder: Path) -> Target | None:
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        return sqlite_target(folder)
    target = postgres_target()
    if target is None:
        print("PostgreSQL not reachable: people benchmark skipped", file=sys.stderr)
    return target


def _stage_note(results: list[dict[str, Any]]) -> str:
    names = list(results[0]["stages"]) if results and results[0]["stages"] else []
    parts = [
        f"{name} {statistics.median(r['stages'].get(name, 0.0) for r in results):.2f} s"
        for name in names
    ]
    return f"stages (median): {', '.join(parts)}" if parts else ""


def _fill_row(row: Row, results: list[dict[str, Any]]) -> None:
    row.seconds = [r["seconds"] for r in results]
    row.extra.update(
        peak_rss_mb=[round(r["rss_mb"], 1) for r in results],
        base_rss_mb=[round(r["base_rss_mb"], 1) for r in results],
        stages=[{k: round(v, 3) for k, v in r["stages"].items()} for r in results],
        summary=results[-1]["summary"],
    )


def _part_rss(row: Row) -> str:
    """The part's peak RSS (the highest round) and the child's RSS when it began."""
    peak, base = max(row.extra["peak_rss_mb"]), max(row.extra["base_rss_mb"])
    if not row.extra["own_peak"]:
        return f"the child's peak RSS so far {peak:,.0f} MB"
    return f"peak RSS {peak:,.0f} MB ({base:,.0f} MB before it)"


def _part_rows(kind: str, n: int, first: list[dict[str, Any]], filled: dict[str, Any]) -> list[Row]:
    """The rows of the SLA evaluation and of the GX checks run after each first run."""
    evaluated, validated = [r["sla"] for r in first], [r["gx"] for r in first]
    sla, gx = Row(SLA, kind, n), Row(GX, kind, n)
    for row, parts in ((sla, evaluated), (gx, validated)):
        row.seconds = [part["seconds"] for part in parts]
        row.extra.update(
            peak_rss_mb=[round(part["rss_mb"], 1) for part in parts],
            base_rss_mb=[round(part["base_rss_mb"], 1) for part in parts],
            own_peak=all(part["own_peak"] for part in parts),
        )
    last = evaluated[-1]
    sla.extra.update(
        {key: last[key] for key in ("evaluations", "by_status", "new_breaches", "rollups")}
        | {"periods": last["periods"], "touches": filled["touches"]}
    )
    status = last["by_status"]
    sla.note = (
        f"{last['evaluations']:,} evaluations: {status.get('met', 0):,} met, "
        f"{status.get('breached', 0):,} breached, {status.get('pending', 0):,} pending; "
        f"{last['rollups']:,} roll-ups; {filled['touches']:,} sales touches; {_part_rss(sla)}"
    )
    imports = [part["gx_import_s"] for part in validated if part["gx_import_s"] is not None]
    failed = validated[-1]["failed"]
    gx.extra.update(
        gx_import_s=[part["gx_import_s"] for part in validated],
        evaluated_breached=validated[-1]["evaluated_breached"],
        failed=failed,
    )
    imported = (
        f"after a {statistics.median(imports):.1f} s GX import (median; not in the time)"
        if imports
        else "GX already imported"
    )
    rules = [name for name in failed if not name.startswith("quality:")]
    quality = len(failed) - len(rules)
    gx.note = (
        f"the process's first call, {imported}; {len(validated[-1]['evaluated_breached'])}"
        f" SLA rules ({', '.join(rules) or 'none'} failed), "
        f"{validated[-1]['quality_checks']} quality checks ({quality} failed); {_part_rss(gx)}"
    )
    return [sla, gx]


def measure_people(kind: str, n: int, runs: int, folder: Path) -> list[Row]:
    """Fill a warehouse with ``n`` leads on ``kind``, then ``runs`` interleaved rounds of
    leadflow (first run, then the SLA evaluation and GX checks; re-run) and the reference,
    each on a fresh copy; then compare."""
    target = _target(kind, folder / f"people-{kind}-{n}")
    if target is None:
        return []
    # One fixed Data Docs folder, rebuilt by every round, as a sync's.
    data_docs = folder / f"people-{kind}-{n}-data-docs"
    copies: list[str] = []
    try:
        print(f"  people {kind} {n:,}: filling", file=sys.stderr, flush=True)
        filled = fill(target, n)
        first: list[dict[str, Any]] = []
        again: list[dict[str, Any]] = []
        ours: list[dict[str, Any]] = []
        for round_ in range(runs):
            print(f"  people {kind} {n:,} round {round_ + 1}/{runs}", file=sys.stderr, flush=True)
            for url in copies:
                drop(target, url)
            copies = [clone(target, f"lf{round_}"), clone(target, f"ref{round_}")]
            os.sync()  # the copies on disk before the clock starts
            run_id = f"bench-people-{round_}"
            first.append(in_child("leadflow+sla", copies[0], run_id, str(data_docs)))
            again.append(in_child("leadflow", copies[0], False, f"bench-people-{round_}b"))
            ours.append(in_child("reference", copies[1]))
        found = agreement(kind, copies[0], copies[1])
    finally:
        for url in copies:
            drop(target, url)
        target.close()
    rows = {
        "reference": Row(REFERENCE, kind, n),
        "first": Row(FIRST, kind, n),
        "again": Row(AGAIN, kind, n),
    }
    for key, results in (("reference", ours), ("first", first), ("again", again)):
        _fill_row(rows[key], results)
    reference_row, first_row, again_row = rows["reference"], rows["first"], rows["again"]
    for row in rows.values():
        row.ratio = row.rate / reference_row.rate
    reference_row.extra.update(filled | {"agreement": found})
    first_row.extra["over_reference"] = first_row.median / reference_row.median
    first_row.extra["agreement"] = found
    rss = max(reference_row.extra["peak_rss_mb"])
    reference_row.note = (
        f"{filled['events']:,} events; {reference_row.extra['summary']['people']:,} people; "
        f"{_stage_note(ours)}; peak RSS {rss:,.0f} MB"
    )
    rss = max(first_row.extra["peak_rss_mb"])
    first_row.note = (
        f"{first_row.extra['over_reference']:.2f}x the reference's time; {_stage_note(first)}; "
        f"peak RSS {rss:,.0f} MB; {agreement_note(found)}"
    )
    rss = max(again_row.extra["peak_rss_mb"])
    again_row.note = (
        f"{again_row.median / first_row.median:.1%} of the first run's time; "
        f"{_stage_note(again)}; peak RSS {rss:,.0f} MB"
    )
    return [reference_row, first_row, again_row, *_part_rows(kind, n, first, filled)]


def people_checks(rows: list[Row]) -> list[Check]:
    """The people-layer targets: leadflow <= 1.5x the reference from 100k leads, growing
    linearly across sizes, peak RSS <= 1 GiB at 1M; and that both give the same answer;
    the SLA evaluation after the first run <= 30 s at 1M."""
    checks = []
    found = {(row.path, row.db, row.rows): row for row in rows}
    for row in rows:
        where = f"{row.db}, {row.rows:,}"
        if row.path == SLA and row.rows >= SLA_FROM:
            checks.append(
                Check(
                    f"people: SLA evaluation s, full ({where})",
                    row.median,
                    f"<= {TARGET_SLA_S:g}",
                    row.median <= TARGET_SLA_S,
                )
            )
        if row.path != FIRST:
            continue
        agree = row.extra.get("agreement", {})
        if agree:
            checks.append(
                Check(
                    f"people: leads whose person differs from the reference's ({where})",
                    agree["leads_differ"],
                    "== 0",
                    agree["leads_differ"] == 0,
                )
            )
            checks.append(
                Check(
                    f"people: classifications differing from the reference's ({where})",
                    agree["classifications_differ"],
                    "== 0",
                    agree["classifications_differ"] == 0,
                )
            )
        over = row.extra.get("over_reference")
        if over is not None and row.rows >= RATIO_FROM:
            checks.append(
                Check(
                    f"people: leadflow ÷ reference time ({where})",
                    over,
                    f"<= {TARGET_RATIO:g}",
                    over <= TARGET_RATIO,
                )
            )
        if row.rows >= RSS_FROM:
            for path in (FIRST, AGAIN):
                other = found.get((path, row.db, row.rows))
                if other is None:
                    continue
                rss = max(other.extra["peak_rss_mb"])
                label = "first run" if path == FIRST else "re-run"
                checks.append(
                    Check(
                        f"people: peak RSS MB, {label} ({where})",
                        rss,
                        f"<= {TARGET_RSS_MB}",
                        rss <= TARGET_RSS_MB,
                    )
                )
    for db in sorted({row.db for row in rows if row.path == FIRST}):
        sized = sorted(
            (row.rows, row.median)
            for row in rows
            if row.path == FIRST and row.db == db and row.rows >= RATIO_FROM
        )
        if len(sized) < 2:
            continue
        (small, small_s), (big, big_s) = sized[0], sized[-1]
        growth = (big_s / big) / (small_s / small)
        checks.append(
            Check(
                f"people: leadflow's time per lead, {big:,} ÷ {small:,} ({db})",
                growth,
                f"<= {LINEAR_SLACK:g} (linear)",
                growth <= LINEAR_SLACK,
            )
        )
    return checks
