"""Outgoing webhooks of the platform sandboxes: signed POSTs to a configured URL, with retries.

Every ad platform pushes new leads to a URL the advertiser registers (Meta ``leadgen`` Page
webhooks, Google Ads lead form webhooks, LinkedIn Lead Sync notifications); the per-platform
modules (``leadflow.sandbox.<platform>.webhooks``) build the documented bodies and headers and
hand them to a :class:`WebhookSender`, which

* POSTs them from a few worker threads (stdlib ``http.client``; no body is ever logged);
* treats any 2xx as delivered and anything else, a timeout or a refused connection as a failure,
  retried after each delay of the delivery's ``retries`` schedule (the platforms retry for hours:
  Meta "immediately, then a few more times with decreasing frequency over the next 36 hours";
  the sandboxes use short schedules so that a test sees every retry);
* records every attempt (:class:`Attempt`: status, error, timing, request) on its
  :class:`Delivery` and in ``sender.attempts``, so tests and the demo can see what was sent;
* performs the handshakes a platform makes when a webhook is registered (:meth:`request`:
  one synchronous call, recorded like the others).

Targets are limited to the loopback interface unless ``allow_remote=True``.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LOCAL_HOSTS", "Attempt", "Delivery", "WebhookSender", "compact_json"]

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def compact_json(body: Any) -> bytes:
    """JSON without spaces, UTF-8: the exact bytes a sandbox signs and sends."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Attempt:
    """One HTTP request a platform made: a notification attempt or a handshake."""

    platform: str
    kind: str  # "notification", or the handshake's name ("verification", "validation")
    delivery: int  # the Delivery's id; 0 for a handshake
    number: int  # 1 for the first try of a delivery
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    sent_at: float  # time.time() when the request started
    elapsed: float  # seconds until the answer (or the error)
    status: int | None  # None: no HTTP answer (refused, reset, timeout)
    response_body: bytes = b""
    error: str | None = None  # the exception's class name when there was no answer

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Delivery:
    """One notification and its attempts; ``state`` is pending, delivered, failed or cancelled."""

    id: int
    platform: str
    url: str
    body: bytes
    headers: dict[str, str]
    retries: tuple[float, ...]
    attempts: list[Attempt] = field(default_factory=list)
    state: str = "pending"
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until delivered, failed or cancelled; False on timeout."""
        return self._done.wait(timeout)

    @property
    def statuses(self) -> list[int | None]:
        return [attempt.status for attempt in self.attempts]

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookSender:
    """Thread-based webhook sender shared by the platform sandboxes; a context manager.

    ``workers`` threads send; a delivery waiting for its next retry holds no thread.
    ``timeout`` is the per-request socket timeout (LinkedIn documents 3 seconds for a
    validation answer). :meth:`close` cancels the retries still pending.
    """

    def __init__(self, *, workers: int = 4, timeout: float = 3.0, allow_remote: bool = False):
        self.timeout, self.allow_remote, self._workers = timeout, allow_remote, workers
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._queue: list[tuple[float, int, Delivery]] = []  # (due, tie-breaker, delivery)
        self._deliveries: list[Delivery] = []
        self._attempts: list[Attempt] = []
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._closed = False

    # -- public ----------------------------------------------------------------------------
    @property
    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def post(
        self,
        platform: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        retries: Sequence[float],
    ) -> Delivery:
        """Queue one notification for now; returns at once (``delivery.wait()`` to block)."""
        self.check_target(url)
        delivery = Delivery(next(self._ids), platform, url, body, dict(headers), tuple(retries))
        with self._lock:
            if self._closed:
                raise RuntimeError("the webhook sender is closed")
            self._deliveries.append(delivery)
            self._schedule(delivery, time.monotonic())
            self._start_workers()
        return delivery

    def request(
        self,
        platform: str,
        kind: str,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Attempt:
        """One synchronous call (a registration handshake), recorded in ``attempts``."""
        self.check_target(url)
        attempt = self._call(platform, kind, 0, 1, method, url, dict(headers or {}), body)
        with self._lock:
            self._attempts.append(attempt)
        return attempt

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued, waiting for a retry or being sent."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        """Stop the workers; deliveries still waiting are marked ``cancelled``."""
        with self._lock:
            self._closed = True
            for _due, _n, delivery in self._queue:
                delivery.state = "cancelled"
                delivery._done.set()
            self._queue.clear()
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 1)
        self._threads.clear()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------
    def check_target(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("a webhook URL must be http(s)")
        if not self.allow_remote and parts.hostname not in LOCAL_HOSTS:
            raise ValueError("the sandbox only sends webhooks to the loopback interface")

    def _schedule(self, delivery: Delivery, due: float) -> None:
        heapq.heappush(self._queue, (due, delivery.id * 1000 + len(delivery.attempts), delivery))
        self._lock.notify_all()

    def _start_workers(self) -> None:
        while len(self._threads) < self._workers:
            thread = threading.Thread(target=self._work, name="sandbox-webhooks", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next(self) -> Delivery | None:
        with self._lock:
            while not self._closed:
                if self._queue and self._queue[0][0] <= time.monotonic():
                    self._busy += 1
                    return heapq.heappop(self._queue)[2]
                wait = self._queue[0][0] - time.monotonic() if self._queue else 0.5
                self._lock.wait(max(0.001, min(wait, 0.5)))
        return None

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            number = len(delivery.attempts) + 1
            attempt = self._call(delivery.platform, "notification", delivery.id, number, "POST",
                                 delivery.url, delivery.headers, delivery.body)  # fmt: skip
            with self._lock:
                self._busy -= 1
                delivery.attempts.append(attempt)
                self._attempts.append(attempt)
                retry = not attempt.ok and number <= len(delivery.retries)
                if retry and not self._closed:
                    self._schedule(delivery, time.monotonic() + delivery.retries[number - 1])
                else:
                    delivery.state = (
                        "delivered" if attempt.ok else "cancelled" if retry else "failed"
                    )
                    delivery._done.set()
                self._lock.notify_all()

    def _call(
        self,
        platform: str,
        kind: str,
        delivery: int,
        number: int,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
    ) -> Attempt:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        started, clock = time.time(), time.monotonic()
        status, answer, error = None, b"", None
        connection = connection_class(parts.hostname or "", parts.port, timeout=self.timeout)
        try:
            sent = {"Content-Length": str(len(body)), **headers} if method != "GET" else headers
            connection.request(method, target, body=body or None, headers=sent)
            response = connection.getresponse()
            status, answer = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
        finally:
            connection.close()
        return Attempt(platform, kind, delivery, number, method, url, dict(headers), body,
                       started, time.monotonic() - clock, status, answer, error)  # fmt: skip
