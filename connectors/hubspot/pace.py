"""HubSpot's request limits kept on the client's side, so a sync runs at the limits instead
of bouncing off them.

Docs followed (https://developers.hubspot.com/docs/api/usage-details,
https://developers.hubspot.com/docs/api/crm/search):
- The search endpoints allow 5 requests per second per account, and do not count against
  the ten-secondly limit.
- Every other call counts against a rolling 10-second window ("burst") that depends on the
  account's tier (100 for Free/Starter private apps, 190 for Professional/Enterprise, more
  with the API limit increase pack), and HubSpot asks clients to read it from the
  ``X-HubSpot-RateLimit-Max`` and ``X-HubSpot-RateLimit-Interval-Milliseconds`` headers of its
  responses "so you can automatically take advantage of future increases".

:class:`SlidingWindow` admits at most ``limit`` calls in any ``window`` seconds, each call
counted from its sending until ``window`` after its answer (each answered request of it, the
transport's retries included: a response hook counts them) (so the count holds at the server
whatever the network or a late thread did: a first version counted from the planned sending
time and a loaded machine still drew 429s), each call waiting for its place. The calls of
every client of one credential in this process share one (the contacts, touches and
history streams of a run are threads of one flow run, and HubSpot counts them together).
A 429 that still happens (another process on the same portal) is the transport's to wait
out, as before.

Written by hand: thirty lines over a deque, where a rate-limit library would bring a second
notion of the window (token buckets refill evenly; HubSpot's window is rolling) for two call
sites.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import requests

from leadflow.connectors.hubspot.config import HubSpotConfig

SEARCH_WINDOW_S = 1.0
SEARCH_MARGIN_S = 0.05
BURST_WINDOW_S = 10.0
BURST_MARGIN_S = 0.2
MAX_HEADER = "X-HubSpot-RateLimit-Max"
INTERVAL_HEADER = "X-HubSpot-RateLimit-Interval-Milliseconds"


class SlidingWindow:
    """At most ``limit`` calls in any ``window`` seconds, counted the way that holds at the
    server whatever the network and the scheduler do: a call counts from the moment it is
    sent until ``window`` (+ ``margin``) after its answer came back (HubSpot admitted it
    somewhere in between). ``with window.slot():`` around a call; thread-safe."""

    def __init__(
        self,
        limit: int,
        window: float,
        margin: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"a window needs a limit >= 1 and a length > 0: {limit}, {window}")
        self.limit, self.window, self.margin = limit, window, margin
        self._ends: deque[float] = deque()  # answers that still count, oldest first
        self._flying = 0  # calls sent and not answered yet
        self._calls = threading.local()  # answers to this thread's call in flight
        self._ready = threading.Condition()
        self._clock, self._sleep = clock, sleep

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait until a call may go, hold its place while it runs, count it after: once per
        request it made (:meth:`answered`: the transport's retries are requests too), at
        least once (a request that got no answer may still have arrived)."""
        while True:
            with self._ready:
                now = self._clock()
                while self._ends and self._ends[0] + self.window + self.margin <= now:
                    self._ends.popleft()
                if self._flying + len(self._ends) < self.limit:
                    self._flying += 1
                    break
                if not self._ends:  # every place is held by a call in flight
                    self._ready.wait()
                    continue
                delay = self._ends[0] + self.window + self.margin - now
            self._sleep(delay)
        self._calls.answers = 0
        try:
            yield
        finally:
            with self._ready:
                self._flying -= 1
                if not self._calls.answers:
                    self._ends.append(self._clock())
                self._ready.notify_all()

    def answered(self) -> None:
        """One request of this thread's call was answered (a response hook calls it)."""
        with self._ready:
            self._ends.append(self._clock())
            self._calls.answers = getattr(self._calls, "answers", 0) + 1

    def resize(self, limit: int, window: float) -> None:
        """Take the limit a response announced (it changes with the account's tier)."""
        if limit < 1 or window <= 0 or (limit, window) == (self.limit, self.window):
            return
        with self._ready:
            self.limit, self.window = limit, window
            self._ready.notify_all()


def window_for_rate(rate: float, margin: float) -> SlidingWindow:
    """``rate`` calls a second as a window: 5 → 5 per second; 0.5 → 1 per 2 seconds."""
    limit = max(1, int(rate))
    return SlidingWindow(limit, limit / rate, margin)


class Limits:
    """The two limits of one credential: searches, and every other call (the burst)."""

    def __init__(self, config: HubSpotConfig) -> None:
        self.search = window_for_rate(config.search_requests_per_second, SEARCH_MARGIN_S)
        self.burst = SlidingWindow(config.requests_per_ten_seconds, BURST_WINDOW_S, BURST_MARGIN_S)

    def learn(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        """A ``requests`` response hook: every answered request counts in its window (a
        call's retries included), and the burst limit comes from the response's headers."""
        request = response.request
        path = requests.utils.urlparse(request.url or "").path if request is not None else ""
        (self.search if path.rstrip("/").endswith("/search") else self.burst).answered()
        headers: Mapping[str, str] = response.headers
        limit, interval = headers.get(MAX_HEADER), headers.get(INTERVAL_HEADER)
        if limit and interval and limit.isdigit() and interval.isdigit():
            self.burst.resize(int(limit), int(interval) / 1000)


# One set of limits per credential in this process, keyed by a hash (no token kept as a key).
_LIMITS: dict[str, Limits] = {}
_LIMITS_LOCK = threading.Lock()


def limits_for(config: HubSpotConfig) -> Limits:
    """The limits every client with this base URL, credential and configured pace shares."""
    secret = config.access_token or config.refresh_token
    credential = secret.get_secret_value() if secret is not None else ""
    pace = (config.search_requests_per_second, config.requests_per_ten_seconds)
    ident = hashlib.sha256(f"{config.base_url}\0{credential}\0{pace!r}".encode()).hexdigest()
    with _LIMITS_LOCK:
        found = _LIMITS.get(ident)
        if found is None:
            found = _LIMITS[ident] = Limits(config)
        return found
