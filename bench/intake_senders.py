"""The intake benchmark's senders (Meta ``leadgen`` notifications, signed, from 50 client
threads, as fast as answered or paced) and the watcher of the SLA rows
(``bench.intake_bench`` runs them)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

CLIENTS = 50
RETRY_AFTER_S = 0.05
APP_SECRET = "bench-meta-app-secret-0123"


@dataclass
class Sent:
    """What the senders saw: per notification, first POST and 2xx times; every 2xx's
    round trip; how many attempts failed."""

    first_post: dict[str, float] = field(default_factory=dict)
    acked: dict[str, float] = field(default_factory=dict)
    ack_s: list[float] = field(default_factory=list)
    failed_attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def signed_bodies(values: Sequence[dict[str, Any]]) -> list[tuple[str, bytes, dict[str, str]]]:
    """One ``leadgen`` notification per lead: (leadgen id, body, headers)."""
    from leadflow.sandbox.meta.webhooks import sign_sha256
    from leadflow.sandbox.webhooks import compact_json

    now = int(time.time())
    found = []
    for value in values:
        change = {"field": "leadgen", "value": value}
        entry = {"id": value["page_id"], "time": now, "changes": [change]}
        body = compact_json({"object": "page", "entry": [entry]})
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": sign_sha256(body, APP_SECRET)}  # fmt: skip
        found.append((value["leadgen_id"], body, headers))
    return found


def send_all(
    url: str,
    bodies: Sequence[tuple[str, bytes, dict[str, str]]],
    sent: Sent,
    rate: float | None = None,
) -> None:
    """POST every notification from ``CLIENTS`` threads, each retried until a 2xx.

    Without ``rate`` each client sends its next notification as soon as the last one was
    acknowledged (as fast as the intake answers); the time to a 2xx is the round trip of
    the attempt that got it. With ``rate``, notification i is due ``i / rate`` seconds after
    the start, and its time to a 2xx counts from then: a late client or a queue at the
    intake shows in it (no coordinated omission)."""
    lock, order = threading.Lock(), iter(range(len(bodies)))
    start = time.perf_counter()

    def client() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    i = next(order, None)
                if i is None:
                    return
                key, body, headers = bodies[i]
                due = start + i / rate if rate else None
                if due is not None:
                    time.sleep(max(0.0, due - time.perf_counter()))
                with sent.lock:
                    sent.first_post[key] = time.perf_counter()
                _deliver(session, url, key, body, headers, sent, due)

    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(client) for _ in range(CLIENTS)]:
            future.result()


def _deliver(
    session: requests.Session,
    url: str,
    key: str,
    body: bytes,
    headers: dict[str, str],
    sent: Sent,
    due: float | None,
) -> None:
    """POST until a 2xx; failures retried after ``RETRY_AFTER_S``."""
    while True:
        began = time.perf_counter()
        try:
            ok = 200 <= session.post(url, data=body, headers=headers, timeout=10).status_code < 300
        except requests.RequestException:
            ok = False
        ended = time.perf_counter()
        with sent.lock:
            if ok:
                sent.acked[key] = ended
                sent.ack_s.append(ended - (began if due is None else due))
                return
            sent.failed_attempts += 1
        time.sleep(RETRY_AFTER_S)


def evaluated(engine: Any) -> set[str]:
    """Meta leads whose person has a ``first_touch`` evaluation."""
    import sqlalchemy as sa

    from leadflow.models.warehouse.tables import lead_people, sla_evaluations

    lp = lead_people.c
    query = (
        sa.select(lp.source_lead_id)
        .join(sla_evaluations, sla_evaluations.c.person_id == lp.person_id)
        .where(lp.source == "meta", sla_evaluations.c.rule == "first_touch")
    )
    with engine.connect() as conn:
        return set(conn.scalars(query))


def watch(engine: Any, keys: set[str], stop: threading.Event, seen: dict[str, float]) -> None:
    """Note when each lead's evaluation first appears, every 0.25 s, until all did or
    ``stop`` is set."""
    while not stop.is_set() and len(seen) < len(keys):
        now = time.perf_counter()
        for key in evaluated(engine) & keys:
            seen.setdefault(key, now)
        stop.wait(0.25)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), by the nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
