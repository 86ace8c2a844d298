from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from leadflow.connectors.errors import AuthError, RateLimited, TerminalError, TransientError
from leadflow.connectors.http import (
    PlatformRetry,
    PlatformSession,
    build_retry,
    install_log_redaction,
    redact,
    register_secret,
    response_json,
    retry_throttled,
)


class Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next scripted (status, headers, body)."""

    script: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status, headers, body = self.script.pop(0) if self.script else (200, {}, b"{}")
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Scripted.script, Scripted.seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    # Poll for shutdown every 50 ms (the default 0.5 s is what each teardown waited).
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def session(attempts: int = 4, retry_class: type[PlatformRetry] = PlatformRetry) -> PlatformSession:
    retry = build_retry(retry_class, attempts=attempts, backoff_factor=0.01)
    return PlatformSession("testsource", timeout=(2, 2), retry=retry)


def test_5xx_burst_is_retried_until_success(server):
    Scripted.script = [(503, {}, b"{}"), (502, {}, b"{}"), (200, {}, b'{"ok": true}')]
    response = session().get(server + "/x")
    assert response_json("testsource", response) == {"ok": True}
    assert len(Scripted.seen) == 3


def test_persistent_5xx_becomes_transient_error_naming_the_source(server):
    Scripted.script = [(500, {}, b"{}")] * 3
    response = session(attempts=3).get(server + "/x")
    with pytest.raises(TransientError, match=r"testsource: server error after retries \(HTTP 500"):
        response_json("testsource", response)
    assert len(Scripted.seen) == 3


def test_429_with_retry_after_is_honoured_then_succeeds(server):
    Scripted.script = [(429, {"Retry-After": "1"}, b"{}"), (200, {}, b"[]")]
    assert response_json("testsource", session().get(server + "/x")) == []
    assert len(Scripted.seen) == 2


def test_exhausted_429_is_rate_limited(server):
    Scripted.script = [(429, {"Retry-After": "0"}, b'{"message": "slow down"}')] * 2
    with pytest.raises(RateLimited, match="slow down"):
        response_json("testsource", session(attempts=2).get(server + "/x"))


def test_give_up_stops_retrying_at_once(server):
    class NoRetryOn429(PlatformRetry):
        def give_up(self, response):
            return response.status == 429

    Scripted.script = [(429, {}, b"{}")] * 5
    response = session(retry_class=NoRetryOn429).get(server + "/x")
    assert response.status_code == 429
    assert len(Scripted.seen) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (400, TerminalError), (404, TerminalError)],
)
def test_client_errors_are_not_retried(server, status, error):
    Scripted.script = [(status, {}, b'{"message": "nope"}')]
    with pytest.raises(error):
        response_json("testsource", session().get(server + "/x"))
    assert len(Scripted.seen) == 1


def test_html_page_with_status_200_is_an_error_not_data(server):
    Scripted.script = [(200, {"Content-Type": "text/html"}, b"<html>maintenance</html>")]
    with pytest.raises(TransientError, match="was not JSON"):
        response_json("testsource", session().get(server + "/x"))


def test_truncated_json_body_is_an_error(server):
    Scripted.script = [(200, {}, b'{"results": [{"id": 1},')]
    with pytest.raises(TransientError, match="was not JSON"):
        response_json("testsource", session().get(server + "/x"))


def test_connection_refused_is_transient_and_names_the_source():
    with pytest.raises(TransientError, match="testsource: network failure"):
        session(attempts=1).get("http://127.0.0.1:9/x")


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abc.def-123",
        "GET /leads?access_token=EAAB123&limit=5",
        "{'Authorization': 'Basic YW55OmtleQ=='}",
        "https://x/?hapikey=demo-secret-1",
    ],
)
def test_redact_removes_tokens(text):
    for secret in ("abc.def-123", "EAAB123", "YW55OmtleQ==", "demo-secret-1"):
        assert secret not in redact(text)


def test_redact_masks_emails_and_phones_and_registered_secrets():
    register_secret("s3cr3t-value-xyz")
    text = redact("jane.doe@example.com called +14155550134 with s3cr3t-value-xyz")
    assert "jane.doe" not in text
    assert "4155550134" not in text
    assert "s3cr3t-value-xyz" not in text
    assert "@example.com" in text


def test_log_records_are_redacted_whatever_the_logger(caplog):
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("anything.at.all").info("token %s for %s", "Bearer zzz999", "a@b.co")
    assert "zzz999" not in caplog.text
    assert "a@b.co" not in caplog.text


def test_retry_throttled_waits_what_the_platform_asked_then_succeeds():
    calls, waits = [], []

    def call():
        calls.append(1)
        if len(calls) < 3:
            raise RateLimited("testsource", "busy", retry_after=7.0)
        return "ok"

    assert retry_throttled(call, attempts=5, sleep=waits.append) == "ok"
    assert waits == [7.0, 7.0]


def test_retry_throttled_gives_up_when_asked_to_wait_too_long():
    waits = []

    def call():
        raise RateLimited("testsource", "daily quota", retry_after=3600.0)

    with pytest.raises(RateLimited, match="daily quota"):
        retry_throttled(call, attempts=5, max_wait=300, sleep=waits.append)
    assert waits == []


def test_retry_throttled_backs_off_exponentially_without_a_hint_and_stops():
    waits = []

    def call():
        raise RateLimited("testsource", "bare 429")

    with pytest.raises(RateLimited):
        retry_throttled(call, attempts=4, backoff=1.0, sleep=waits.append)
    assert len(waits) == 3
    assert 1.0 <= waits[0] <= 1.25 and 2.0 <= waits[1] <= 2.5 and 4.0 <= waits[2] <= 5.0
