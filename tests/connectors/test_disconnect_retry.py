"""A connection dropped mid-body (the headers' full Content-Length, half the body, then the
connection closed) is retried by the transport's one retry layer, on the budget a 503 has:
once, and the read completes; for good, and exactly ``max_attempts`` requests are made before
a TransientError that names the method and path, never the query string."""

from __future__ import annotations

import re

import pytest

from leadflow.connectors.errors import TransientError
from tests.connectors.test_retry_budget import PLATFORMS, hits, read_all
from tests.connectors.test_retry_budget import platform as platform  # the fixture


@pytest.mark.parametrize("fault", ["5xx", "disconnect"])
def test_a_persistent_disconnect_costs_what_a_503_costs(platform, fault):
    name, spec, box = platform
    if fault == "5xx":
        box.faults.push(503, {"message": "busy"}, times=100, path=spec.path)
    else:
        box.faults.push_disconnect(0.5, times=100, path=spec.path)
    with pytest.raises(TransientError) as caught:
        read_all(spec.config(box, 3))
    assert hits(box, spec.path) == 3
    cut = [r for r in box.requests if r.fault == "disconnect"]
    assert len(cut) == (3 if fault == "disconnect" else 0)
    message = str(caught.value)
    assert message.startswith(f"{name}: ") and "?" not in message, message
    assert re.search(r"(GET|POST) /\S+", message), message
    assert not re.search(r"token|key=|Bearer", message, re.IGNORECASE), message


def test_one_disconnect_is_asked_again_and_the_read_completes(platform):
    name, spec, box = platform
    clean = read_all(spec.config(box, 3))
    box.faults.push_disconnect(0.5, path=spec.path)
    assert read_all(spec.config(box, 3)) == clean
    assert len(box.faults) == 0, f"{name}: the disconnect was never served"
    assert [r.status for r in box.requests if r.fault == "disconnect"] == [200]


def test_the_disconnect_fault_sends_the_full_length_then_part_of_the_body():
    """What the client sees: the announced length, fewer bytes, then the end of the stream."""
    import socket

    spec = PLATFORMS["meta"]
    with spec.sandbox() as box:
        box.faults.push_disconnect(0.25)
        host, port = box.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(b"GET /v21.0/me HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    assert head.startswith(b"HTTP/1.1 ") and length > 0
    assert len(body) == int(length * 0.25) < length
