"""The transport: its one retry loop, what each kind of answer costs, redaction."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from leadflow.connectors.errors import (
    AuthError,
    NotSent,
    RateLimited,
    TerminalError,
    TransientError,
)
from leadflow.connectors.http import (
    PlatformSession,
    build_retry,
    install_log_redaction,
    redact,
    register_secret,
    response_json,
)

CUT = "X-Test-Cut"  # a scripted header: announce more bytes than are sent, then hang up


class Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next scripted (status, headers, body)."""

    script: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        status, headers, body = self.script.pop(0) if self.script else (200, {}, b"{}")
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            if name != CUT:
                self.send_header(name, value)
        extra = 100 if CUT in headers else 0
        self.send_header("Content-Length", str(len(body) + extra))
        self.end_headers()
        self.wfile.write(body)
        if extra:
            self.wfile.flush()
            self.close_connection = True

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


def session(attempts: int = 4, backoff: float = 0.01, **options: Any) -> PlatformSession:
    retry = build_retry(attempts=attempts, backoff_factor=backoff)
    return PlatformSession("testsource", timeout=(2, 2), retry=retry, **options)


# -- what is retried, and what it costs ------------------------------------------------------
def test_5xx_burst_is_retried_until_success(server):
    Scripted.script = [(503, {}, b"{}"), (502, {}, b"{}"), (200, {}, b'{"ok": true}')]
    response = session().get(server + "/x")
    assert response_json("testsource", response) == {"ok": True}
    assert len(Scripted.seen) == 3


def test_persistent_5xx_costs_exactly_the_attempts_then_names_the_source(server):
    Scripted.script = [(500, {}, b"{}")] * 10
    with pytest.raises(TransientError, match=r"testsource: server error after retries \(HTTP 500"):
        session(attempts=3).get(server + "/x")
    assert len(Scripted.seen) == 3


def test_429_with_retry_after_is_honoured_then_succeeds(server):
    waits: list[float] = []
    Scripted.script = [(429, {"Retry-After": "1"}, b"{}"), (200, {}, b"[]")]
    assert session(sleep=waits.append).fetch_json("GET", server + "/x") == []
    assert waits == [1.0] and len(Scripted.seen) == 2


def test_retry_after_is_really_slept(server):
    Scripted.script = [(429, {"Retry-After": "1"}, b"{}"), (200, {}, b"[]")]
    assert session().fetch_json("GET", server + "/x") == []


def test_exhausted_429_is_rate_limited(server):
    Scripted.script = [(429, {"Retry-After": "0"}, b'{"message": "slow down"}')] * 2
    with pytest.raises(RateLimited, match="slow down"):
        session(attempts=2).get(server + "/x")
    assert len(Scripted.seen) == 2


def test_a_wait_longer_than_max_wait_is_raised_not_slept(server):
    waits: list[float] = []
    Scripted.script = [(429, {"Retry-After": "3600"}, b'{"message": "daily"}')] * 5
    with pytest.raises(RateLimited, match="daily") as caught:
        session(sleep=waits.append, max_wait=300).get(server + "/x")
    assert caught.value.retry_after == 3600
    assert waits == [] and len(Scripted.seen) == 1


def test_a_throttle_signal_in_the_body_is_waited_out(server):
    """What a platform classifier reads in a body (Google's retryDelay) is the wait."""

    def classify(response, body):
        if response.status_code == 429:
            return RateLimited("testsource", "busy", retry_after=float(body["delay"]))
        return None

    waits: list[float] = []
    Scripted.script = [(429, {}, b'{"delay": 7}')] * 2 + [(200, {}, b'{"ok": 1}')]
    reply = session(attempts=5, sleep=waits.append, classify=classify).fetch_json(
        "GET", server + "/x"
    )
    assert reply == {"ok": 1} and waits == [7.0, 7.0]


def test_without_a_hint_the_backoff_is_exponential_and_jittered(server):
    waits: list[float] = []
    Scripted.script = [(429, {}, b"{}")] * 10
    with pytest.raises(RateLimited):
        session(attempts=4, backoff=1.0, sleep=waits.append).get(server + "/x")
    assert len(waits) == 3 and len(Scripted.seen) == 4
    assert 1.0 <= waits[0] <= 1.25 and 2.0 <= waits[1] <= 2.5 and 4.0 <= waits[2] <= 5.0


def test_a_terminal_classification_stops_at_once(server):
    """A platform's "waiting will not help" (a daily quota) is a TerminalError."""

    def classify(response, body):
        return TerminalError("testsource", "daily quota") if response.status_code == 429 else None

    Scripted.script = [(429, {}, b"{}")] * 5
    with pytest.raises(TerminalError, match="daily quota"):
        session(classify=classify).get(server + "/x")
    assert len(Scripted.seen) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (400, TerminalError), (404, TerminalError)],
)
def test_client_errors_are_not_retried(server, status, error):
    Scripted.script = [(status, {}, b'{"message": "nope"}')]
    with pytest.raises(error):
        session().get(server + "/x")
    assert len(Scripted.seen) == 1


def test_a_method_the_policy_does_not_allow_is_not_retried(server):
    Scripted.script = [(503, {}, b"{}")] * 5
    with pytest.raises(TransientError):
        session().post(server + "/x", json={})  # the policy allows GET only
    assert len(Scripted.seen) == 1


def test_a_redirect_is_refused_not_followed(server):
    Scripted.script = [(302, {"Location": "http://elsewhere.example/steal"}, b"")]
    with pytest.raises(TerminalError, match=r"redirects to elsewhere\.example: not followed"):
        session().get(server + "/x")
    assert Scripted.seen == ["/x"]


# -- bodies that are not JSON: retried like a 503 ------------------------------------------
@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param({}, b'{"results": [{"id": 1},', id="truncated-json"),
        pytest.param({"Content-Type": "text/html"}, b"<html>maintenance</html>", id="html-200"),
        pytest.param({CUT: "1"}, b'{"results": [', id="cut-mid-body"),
    ],
)
def test_a_2xx_that_is_not_json_is_retried_then_succeeds(server, headers, body):
    waits: list[float] = []
    Scripted.script = [(200, headers, body), (200, {}, b'{"results": []}')]
    assert session(sleep=waits.append).fetch_json("GET", server + "/x") == {"results": []}
    assert len(Scripted.seen) == 2 and len(waits) == 1


def test_a_persistent_2xx_that_is_not_json_names_the_path_but_not_the_query(server):
    Scripted.script = [(200, {"Content-Type": "text/html"}, b"<html>maintenance</html>")] * 5
    with pytest.raises(TransientError, match="was not JSON") as caught:
        session(attempts=3).get(server + "/leads/7", params={"after": "c9", "token": "t0p"})
    message = str(caught.value)
    assert "GET /leads/7" in message and "text/html" in message
    assert "?" not in message and "c9" not in message and "t0p" not in message
    assert len(Scripted.seen) == 3


def test_a_persistent_cut_body_is_a_transient_error_without_the_query(server):
    Scripted.script = [(200, {CUT: "1"}, b'{"results": [')] * 5
    with pytest.raises(TransientError, match=r"network failure on GET /leads") as caught:
        session(attempts=2).get(server + "/leads", params={"after": "c9"})
    assert "c9" not in str(caught.value)
    assert len(Scripted.seen) == 2


def test_connection_refused_is_transient_and_names_the_source():
    with pytest.raises(TransientError, match="testsource: network failure"):
        session(attempts=1).get("http://127.0.0.1:9/x")


def test_each_retry_is_logged_with_the_path_and_no_query(server, caplog):
    Scripted.script = [(503, {}, b"{}"), (200, {}, b"{}")]
    with caplog.at_level(logging.WARNING, logger="leadflow.connectors.http"):
        session().get(server + "/leads", params={"after": "c9"})
    (line,) = [r.getMessage() for r in caplog.records]
    assert "testsource: GET /leads failed (HTTP 503, TransientError); retry 1 of 3" in line
    assert "c9" not in line


# -- redaction -------------------------------------------------------------------------------
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
    assert "example.com" not in text  # the domain too: an address is masked whole
    assert text == "***@*** called +99999999999 with ***"


def test_log_records_are_redacted_whatever_the_logger(caplog):
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("anything.at.all").info("token %s for %s", "Bearer zzz999", "a@b.co")
    assert "zzz999" not in caplog.text
    assert "a@b.co" not in caplog.text


# -- a method not safe to repeat: retried only when it cannot be done twice ------------------
def test_a_post_the_policy_does_not_allow_is_retried_after_a_throttle(server):
    Scripted.script = [(429, {"Retry-After": "0"}, b"{}"), (201, {}, b'{"id": "1"}')]
    assert session().fetch_json("POST", server + "/tasks", json={}) == {"id": "1"}
    assert len(Scripted.seen) == 2


def test_a_post_that_never_left_is_retried_and_one_that_may_have_is_not(server):
    waits: list[float] = []
    with pytest.raises(NotSent, match="network failure"):
        session(attempts=3, sleep=waits.append).post("http://127.0.0.1:9/tasks", json={})
    assert len(waits) == 2  # refused connections: the request never left, tried 3 times
    Scripted.script = [(200, {CUT: "1"}, b'{"id": ')] * 3  # answered, then cut: it was sent
    with pytest.raises(TransientError) as caught:
        session(attempts=3).post(server + "/tasks", json={})
    assert not isinstance(caught.value, NotSent)
    assert len(Scripted.seen) == 1
