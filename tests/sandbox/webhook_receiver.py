"""A webhook receiver for the sandbox tests, written from the platforms' docs alone.

It does what an advertiser's endpoint must (not what the sandbox's own signing helpers do):
Meta ``X-Hub-Signature-256`` = "sha256=" + hex HMAC-SHA256(raw body, app secret) (and the SHA1
``X-Hub-Signature``) and the ``hub.challenge`` echo; LinkedIn ``X-LI-Signature`` = hex
HMAC-SHA256 of "hmacsha256=" + raw body with the client secret, and the ``challengeCode``
answer; Google's ``google_key`` in the body. A bad signature gets 401; other POSTs get the
next status of ``statuses`` (200 when empty).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

APP_SECRET, VERIFY_TOKEN = "receiver-app-secret", "receiver-verify-token"
CLIENT_SECRET, GOOGLE_KEY = "receiver-client-secret", "receiver-google-key"


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    signature_ok: bool | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What an advertiser's endpoint does, per the docs; POST answers come from ``statuses``."""

    statuses: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    linkedin_answer: str = "right"  # "right", "wrong" or "none"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == "POST" and r.path == path]

    def handle(self, request: Received) -> tuple[int, bytes, str]:
        with self.lock:
            self.received.append(request)
        if request.method == "GET":
            return self._handshake(request)
        request.signature_ok = _signature_ok(request)
        if not request.signature_ok:
            return 401, b"", "text/plain"
        with self.lock:
            status = self.statuses.popleft() if self.statuses else 200
        return status, b"{}", "application/json"

    def _handshake(self, request: Received) -> tuple[int, bytes, str]:
        q = {k: v[0] for k, v in request.query.items()}
        if request.path == "/meta":
            if q.get("hub.mode") == "subscribe" and q.get("hub.verify_token") == VERIFY_TOKEN:
                return 200, q["hub.challenge"].encode(), "text/plain"
            return 403, b"", "text/plain"
        code = q.get("challengeCode", "")
        digest = hmac.new(CLIENT_SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
        if self.linkedin_answer == "none":
            return 500, b"", "text/plain"
        if self.linkedin_answer == "wrong":
            digest = digest[::-1]
        body = json.dumps({"challengeCode": code, "challengeResponse": digest}).encode()
        return 200, body, "application/json"


def _signature_ok(request: Received) -> bool:
    raw, headers = request.body, {k.lower(): v for k, v in request.headers.items()}
    if request.path == "/meta":
        sha256 = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha1).hexdigest()
        return hmac.compare_digest(headers.get("x-hub-signature-256", ""), sha256) and (
            hmac.compare_digest(headers.get("x-hub-signature", ""), sha1)
        )
    if request.path.startswith("/linkedin"):
        expected = hmac.new(CLIENT_SECRET.encode(), b"hmacsha256=" + raw, hashlib.sha256)
        return hmac.compare_digest(headers.get("x-li-signature", ""), expected.hexdigest())
    return json.loads(raw).get("google_key") == GOOGLE_KEY


@contextmanager
def running_receiver() -> Iterator[tuple[Receiver, str]]:
    """A :class:`Receiver` on 127.0.0.1 and its base URL (paths /meta, /google, /linkedin)."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = Received(self.command, parts.path, parse_qs(parts.query),
                               dict(self.headers.items()), body, time.monotonic())  # fmt: skip
            status, answer, kind = state.handle(request)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
