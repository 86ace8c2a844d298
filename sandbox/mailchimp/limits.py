"""Mailchimp's connection cap: at most N requests in flight per credential, 429 past it.

https://mailchimp.com/developer/marketing/docs/fundamentals/ : the Marketing API has no request
quota and sends no rate-limit headers; each account may hold 10 simultaneous connections and
gets an error past that (glossary, https://mailchimp.com/developer/marketing/docs/errors/ :
429 TooManyRequests). The sandbox counts requests in flight per credential (API key or OAuth
token) from the moment the request line is read until its response is written, fault delays
included; idle keep-alive connections do not count. A refused request consumes no fault.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from leadflow.sandbox.server import FaultQueue, Request, Response, SandboxServer


def credential(header: str | None) -> tuple[str, str] | None:
    """``("basic", api_key)`` or ``("bearer", token)`` from an Authorization header."""
    scheme, _, value = (header or "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ("basic", "")
        return ("basic", decoded.partition(":")[2])
    if scheme in ("bearer", "oauth") and value:
        return ("bearer", value)
    return None


class ConnectionLimiter:
    """Requests in flight per key; ``enter`` refuses the one past ``limit`` (None: no cap)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.max_seen = 0
        self._active: Counter[str] = Counter()
        self._lock = threading.Lock()

    def enter(self, key: str) -> bool:
        with self._lock:
            if self.limit is not None and self._active[key] >= self.limit:
                return False
            self._active[key] += 1
            self.max_seen = max(self.max_seen, self._active[key])
            return True

    def leave(self, key: str) -> None:
        with self._lock:
            self._active[key] -= 1
            if self._active[key] <= 0:
                del self._active[key]

    def in_flight(self, key: str | None = None) -> int:
        with self._lock:
            return self._active[key] if key is not None else sum(self._active.values())

    def reset(self) -> None:
        """Forget the high-water mark (keeps what is in flight now)."""
        with self._lock:
            self.max_seen = max(self._active.values(), default=0)


class _AdmittedFaults(FaultQueue):
    """Faults apply to admitted requests only."""

    def __init__(self, admission: threading.local) -> None:
        super().__init__()
        self._admission = admission

    def take(self, method: str, path: str, request: Any = None) -> Any:
        if getattr(self._admission, "refused", False):
            return None
        return super().take(method, path, request)


class CappedServer(SandboxServer):
    """A ``SandboxServer`` enforcing the cap; the app checks ``refused`` and answers 429.

    The listen backlog is raised so that a burst of new connections reaches the cap instead of
    waiting in the kernel (the default backlog of 5 delays the 6th SYN by a second).
    """

    backlog = 128

    def __init__(
        self, app: Callable[[Request], Response], *, port: int = 0, max_connections: int | None
    ) -> None:
        super().__init__(app, port=port)
        self._admission = threading.local()
        self.faults = _AdmittedFaults(self._admission)
        self.connections = ConnectionLimiter(max_connections)

    @property
    def max_concurrency_seen(self) -> int:
        """The most requests one credential ever had in flight at once (admitted ones)."""
        return self.connections.max_seen

    @property
    def refused(self) -> bool:
        """Whether the request being served on this thread was refused by the cap."""
        return bool(getattr(self._admission, "refused", False))

    def start(self) -> CappedServer:
        super().start()
        if self._httpd is not None:
            self._httpd.socket.listen(self.backlog)
        return self

    def handle_raw(self, raw: Any) -> None:
        found = credential(raw.headers.get("Authorization"))
        key = found[1] if found else ""
        admitted = self.connections.enter(key)
        self._admission.refused, self._admission.key = not admitted, key if admitted else None
        try:
            super().handle_raw(raw)
        finally:
            self._release()

    def _write(self, raw: Any, record: Any, response: Response, keep: float = 1.0) -> None:
        self._release()  # the slot frees before the client can see the answer
        super()._write(raw, record, response, keep)

    def _release(self) -> None:
        key, self._admission.key = getattr(self._admission, "key", None), None
        if key is not None:
            self.connections.leave(key)
