"""The SLA webhook: a Slack-compatible JSON post, naming rules, never failing the check."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from leadflow.models.sla.run import SlaOutcome
from leadflow.pipeline.sla import breaches_markdown, notify


class _Report:
    rules: tuple = ()

    def failed(self, severity=None):
        return ["first_touch"]


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "json": json.loads(body),
                             "type": self.headers["Content-Type"]})  # fmt: skip
            self.send_response(int(self.path.rsplit("/", 1)[-1]))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    # Poll for shutdown every 50 ms (the default 0.5 s is what each teardown waited).
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{server.server_port}/services/T000/B000/secret-token", received
    server.shutdown()


def test_breach_posts_slack_json(webhook) -> None:
    url, received = webhook
    outcome = SlaOutcome(periods=["2026-11"])
    notify(url + "/200", outcome, _Report(), ["first_touch"], logging.getLogger("t"))
    (post,) = received
    assert post["type"] == "application/json"
    assert set(post["json"]) == {"text"}
    assert "first_touch" in post["json"]["text"] and "2026-11" in post["json"]["text"]


def test_a_failing_webhook_is_logged_with_its_token_redacted(webhook, caplog) -> None:
    url, _ = webhook
    with caplog.at_level(logging.WARNING):
        notify(url + "/500", SlaOutcome(periods=["2026-11"]), _Report(), ["first_touch"],
               logging.getLogger("t"))  # fmt: skip
    assert "webhook not notified" in caplog.text
    assert "secret-token" not in caplog.text


def test_breaches_markdown_without_breaches() -> None:
    text = breaches_markdown(SlaOutcome(periods=["2026-11"]), [])
    assert "No breaches" in text
