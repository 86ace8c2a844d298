"""Fault injection shared by every sandbox server (see ``SandboxServer.faults``)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

JSONBody = dict[str, Any] | list[Any]


@dataclass
class Fault:
    kind: str  # "respond" | "delay" | "reset"
    times: int = 1
    status: int = 500
    body: JSONBody | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    method: str | None = None
    path: re.Pattern[str] | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path is None or bool(self.path.search(path))


class FaultQueue:
    """FIFO of faults; each request consumes one use of the first matching fault.

    * ``push(status=503, body=..., headers=..., times=2)``: the next 2 matching requests
      get that response (with ``delay=`` it is also delayed);
    * ``push_delay(seconds, times=1)``: sleep, then answer normally;
    * ``push_reset(times=1)``: close the connection (TCP RST) without any response.

    ``method=`` and ``path=`` (a regex searched in the path) restrict which requests match.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def _add(self, fault: Fault, path: str | None) -> Fault:
        fault.path = re.compile(path) if path else None
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
    ) -> Fault:
        fault = Fault("respond", times, status, body, dict(headers or {}), delay, method)
        return self._add(fault, path)

    def push_delay(
        self, seconds: float, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> Fault:
        return self._add(Fault("delay", times, delay=seconds, method=method), path)

    def push_reset(
        self, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> Fault:
        return self._add(Fault("reset", times, method=method), path)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
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
