"""Fault injection shared by every sandbox server (see ``SandboxServer.faults``)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSONBody = dict[str, Any] | list[Any]
# A transform gets the app's Response (leadflow.sandbox.server.Response) and returns the one to
# send.
Transform = Callable[[Any], Any]
# A request predicate gets the parsed Request (leadflow.sandbox.server.Request): its query and body.
When = Callable[[Any], bool]

HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    "<body><h1>Something went wrong</h1><p>Please try again later.</p></body></html>"
)


@dataclass
class Fault:
    kind: str  # "respond" | "delay" | "reset" | "disconnect" | "transform" | "action"
    times: int = 1
    status: int = 500
    body: JSONBody | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    method: str | None = None
    path: re.Pattern[str] | None = None
    transform: Transform | None = None
    action: Callable[[], None] | None = None
    keep: float = 1.0  # "disconnect": the share of the body sent before the connection drops
    when: When | None = None

    def matches(self, method: str, path: str, request: Any = None) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path is not None and not self.path.search(path):
            return False
        if self.when is None:
            return True
        try:
            return request is not None and bool(self.when(request))
        except Exception:  # a predicate that cannot read this request: not a match
            return False


class FaultQueue:
    """FIFO of faults; each request consumes one use of the first matching fault.

    * ``push(status=503, body=..., headers=..., times=2)``: the next 2 matching requests
      get that response (with ``delay=`` it is also delayed);
    * ``push_delay(seconds, times=1)``: sleep, then answer normally;
    * ``push_reset(times=1)``: close the connection (TCP RST) without any response;
    * ``push_disconnect(keep=0.5)``: the real answer's status line and headers, with the full
      ``Content-Length``, then ``keep`` of its body, then the connection is closed: a
      connection dropped mid-body (``push_truncated`` is another case: a body cut short whose
      ``Content-Length`` says so, a well-formed answer that is not JSON);
    * ``push_transform(fn)``: the app answers, then ``fn(response)`` is sent instead
      (``push_truncated``: the JSON body cut short; ``push_drift``: records edited, for
      schema drift); ``push_html()``: an HTML error page, status 200 by default;
    * ``push_action(fn)``: call ``fn()`` (e.g. expire the token), then answer normally.

    ``method=``, ``path=`` (a regex searched in the path) and ``when=`` (a predicate on the
    parsed request: its query, its body) restrict which requests match, e.g. to a later page.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def _add(self, fault: Fault, path: str | None, when: When | None = None) -> Fault:
        fault.path = re.compile(path) if path else None
        fault.when = when
        with self._lock:
            self._faults.append(fault)
        return fault

    def push(
        self,
        status: int = 500,
        body: JSONBody | str | bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        delay: float = 0.0,
        method: str | None = None,
        path: str | None = None,
        when: When | None = None,
    ) -> Fault:
        fault = Fault("respond", times, status, body, dict(headers or {}), delay, method)
        return self._add(fault, path, when)

    def push_delay(
        self, seconds: float, *, times: int = 1, method: str | None = None,
        path: str | None = None, when: When | None = None,
    ) -> Fault:  # fmt: skip
        return self._add(Fault("delay", times, delay=seconds, method=method), path, when)

    def push_reset(
        self, *, times: int = 1, method: str | None = None, path: str | None = None,
        when: When | None = None,
    ) -> Fault:  # fmt: skip
        return self._add(Fault("reset", times, method=method), path, when)

    def push_disconnect(
        self, keep: float = 0.5, *, times: int = 1, method: str | None = None,
        path: str | None = None, when: When | None = None,
    ) -> Fault:  # fmt: skip
        """The real answer's status and headers (the full ``Content-Length``), ``keep`` (0..1)
        of its body, then the connection closed: the client is left waiting for the rest."""
        if not 0 <= keep < 1:
            raise ValueError("keep must be at least 0 and less than 1")
        return self._add(Fault("disconnect", times, method=method, keep=keep), path, when)

    def push_transform(
        self, transform: Transform, *, times: int = 1, method: str | None = None,
        path: str | None = None, when: When | None = None,
    ) -> Fault:  # fmt: skip
        fault = Fault("transform", times, method=method, transform=transform)
        return self._add(fault, path, when)

    def push_truncated(
        self, *, keep: float = 0.5, times: int = 1, method: str | None = None,
        path: str | None = None, when: When | None = None,
    ) -> Fault:  # fmt: skip
        """The real answer, status and headers kept, its body cut after ``keep`` of its bytes
        (and ``Content-Length`` saying so: the answer is complete, its JSON is not)."""
        return self.push_transform(truncate(keep), times=times, method=method, path=path,
                                   when=when)  # fmt: skip

    def push_html(
        self, status: int = 200, *, times: int = 1, method: str | None = None,
        path: str | None = None, when: When | None = None,
    ) -> Fault:  # fmt: skip
        """A proxy's or CDN's HTML error page (with status 200 unless told otherwise)."""
        headers = {"Content-Type": "text/html; charset=utf-8"}
        return self.push(status, HTML_ERROR_PAGE.encode(), headers, times=times, method=method,
                         path=path, when=when)  # fmt: skip

    def push_drift(
        self, mutate: Callable[[Any], None], *, times: int = 1, method: str | None = None,
        path: str | None = None, when: When | None = None,
    ) -> Fault:  # fmt: skip
        """The real JSON answer after ``mutate(body)`` edited it in place (schema drift)."""
        return self.push_transform(drift(mutate), times=times, method=method, path=path,
                                   when=when)  # fmt: skip

    def push_action(
        self, action: Callable[[], None], *, times: int = 1, method: str | None = None,
        path: str | None = None, when: When | None = None,
    ) -> Fault:  # fmt: skip
        return self._add(Fault("action", times, method=method, action=action), path, when)

    def take(self, method: str, path: str, request: Any = None) -> Fault | None:
        """The first fault matching the request (``request``: for ``when=`` predicates), one
        use of it consumed; None when none matches."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, request):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(max(fault.times, 0) for fault in self._faults)


def truncate(keep: float) -> Transform:
    """A transform cutting the body after ``keep`` (0..1) of its bytes, as a dropped
    connection behind a proxy that already sent the headers would."""

    def cut(response: Any) -> Any:
        body, headers = response.encoded()
        return type(response)(response.status, body[: int(len(body) * keep)], headers)

    return cut


def drift(mutate: Callable[[Any], None]) -> Transform:
    """A transform applying ``mutate`` to a copy of the decoded JSON body."""

    def edit(response: Any) -> Any:
        body, headers = response.encoded()
        try:
            data = json.loads(body)
        except ValueError:
            return response  # not JSON (an error page): leave it alone
        mutate(data)
        return type(response)(response.status, json.dumps(data).encode(), headers)

    return edit
