"""Generic local HTTP sandbox infrastructure shared by every platform sandbox.

A :class:`SandboxServer` runs a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 in a
daemon thread and hands each request to an *app* (``Callable[[Request], Response]``).
Around the app it provides:

* a request log (``server.requests``) with the Authorization header removed;
* a fault-injection queue (``server.faults``) that can answer the next N matching
  requests with a canned response, delay them, reset the connection, or drop it mid-body;
* a tiny :class:`Router` (method + path regex -> handler) and JSON helpers.

Nothing is printed per request.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from leadflow.sandbox.faults import Fault, FaultQueue, JSONBody

__all__ = [
    "BadJSONError",
    "Fault",
    "FaultQueue",
    "Request",
    "RequestRecord",
    "Response",
    "Router",
    "SandboxServer",
    "json_response",
]


class BadJSONError(ValueError):
    """The request body is not valid JSON (``line``/``column`` are 1-based)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except UnicodeDecodeError as exc:
            raise BadJSONError(str(exc), 1, exc.start + 1) from exc
        except json.JSONDecodeError as exc:
            raise BadJSONError(exc.msg, exc.lineno, exc.colno) from exc


@dataclass
class Response:
    status: int = 200
    body: JSONBody | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode("utf-8"), headers
        headers.setdefault("Content-Type", "application/json;charset=utf-8")
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8"), headers


def json_response(status: int, body: JSONBody, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=body, headers=dict(headers or {}))


Handler = Callable[[Request], Response]


class Router:
    """Method + full-path regex routing. ``dispatch`` returns None when nothing matches."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, re.Match[str]] | None:
        for route_method, pattern, handler in self._routes:
            found = pattern.fullmatch(path)
            if found and route_method == method.upper():
                return handler, found
        return None

    def dispatch(self, request: Request) -> Response | None:
        resolved = self.resolve(request.method, request.path)
        if resolved is None:
            return None
        handler, request.match = resolved
        return handler(request)


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    time: float
    status: int | None = None
    fault: str | None = None

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: avoid Nagle/delayed-ACK stalls
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging."""

    def _serve(self) -> None:
        self.server.owner.handle_raw(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client hang-ups are expected (timeouts, reset faults): stay quiet."""


class SandboxServer:
    """Threaded HTTP server around an app; usable as a context manager."""

    def __init__(self, app: Handler, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.faults = FaultQueue()
        self._host, self._port = host, port
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self._host, self._port), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling -------------------------------------------------------------
    def handle_raw(self, raw: _Handler) -> None:
        request = _read_request(raw)
        record = self._record(request)
        fault = self.faults.take(request.method, request.path, request)
        if fault is not None:
            record.fault = fault.kind
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.kind == "reset":
                _reset_connection(raw)
                return
            if fault.kind == "respond":
                self._write(raw, record, Response(fault.status, fault.body, dict(fault.headers)))
                return
            if fault.action is not None:
                fault.action()
        response = self._call_app(request)
        if fault is not None and fault.transform is not None:
            response = fault.transform(response)
        self._write(raw, record, response, fault.keep if fault is not None else 1.0)

    def _record(self, request: Request) -> RequestRecord:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        record = RequestRecord(
            request.method, request.path, request.query, headers, request.body, time.time()
        )
        with self._log_lock:
            self._log.append(record)
        return record

    def _call_app(self, request: Request) -> Response:
        try:
            return self.app(request)
        except Exception as exc:  # the sandbox must answer, whatever the app does
            return json_response(500, {"status": "error", "message": f"sandbox error: {exc}"})

    def _write(
        self, raw: _Handler, record: RequestRecord, response: Response, keep: float = 1.0
    ) -> None:
        """Send ``response``; with ``keep`` < 1 (a "disconnect" fault) only that share of the
        body follows the headers and their full ``Content-Length``, then the connection closes."""
        body, headers = response.encoded()
        record.status = response.status
        try:
            raw.send_response(response.status)
            for name, value in headers.items():
                raw.send_header(name, value)
            raw.send_header("Content-Length", str(len(body)))
            raw.end_headers()
            if raw.command != "HEAD":
                raw.wfile.write(body if keep >= 1 else body[: int(len(body) * keep)])
            raw.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            raw.close_connection = True
        if keep < 1:
            _close_connection(raw)


def _read_request(raw: _Handler) -> Request:
    length = int(raw.headers.get("Content-Length") or 0)
    body = raw.rfile.read(length) if length > 0 else b""
    parts = urlsplit(raw.path)
    query = parse_qs(parts.query, keep_blank_values=True)
    return Request(raw.command, parts.path, query, dict(raw.headers.items()), body)


def _close_connection(raw: _Handler) -> None:
    """Close the connection (FIN) where it stands: what was written is all the client gets."""
    raw.close_connection = True
    with contextlib.suppress(OSError):
        raw.connection.shutdown(socket.SHUT_RDWR)


def _reset_connection(raw: _Handler) -> None:
    """Drop the connection with a TCP RST and no HTTP response at all."""
    raw.close_connection = True
    try:
        raw.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class HostedApp:
    """Lifecycle of a platform app that owns a ``SandboxServer`` in ``self.server``:
    ``start``/``stop``, ``with``, and the server's ``base_url``, ``faults`` and ``requests``."""

    server: SandboxServer

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def faults(self) -> FaultQueue:
        return self.server.faults

    @property
    def requests(self) -> list[RequestRecord]:
        return self.server.requests

    def clear_requests(self) -> None:
        self.server.clear_requests()
