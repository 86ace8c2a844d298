"""The Meta connector's failures against the sandbox: throttling, token and permission
errors, transient codes, and what each costs in requests (one retry layer: the transport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from leadflow.connectors.errors import AuthError, RateLimited, TerminalError, TransientError
from leadflow.sandbox.meta.app import MetaSandbox
from tests.connectors.meta.support import TOKEN, Run


def test_user_request_limit_then_success_is_retried_transparently(sandbox):
    sandbox.push_error(17, times=1)  # platform limit: X-App-Usage only, no time estimate
    run = Run(sandbox)
    assert {r["id"] for r in run.records} == {lead["id"] for lead in sandbox.dataset.leads}
    assert len(run.waits) == 1 and run.waits[0] < 1  # jittered backoff from backoff_seconds
    assert [r.status for r in sandbox.requests][:2] == [400, 200]


def test_business_use_case_throttle_waits_metas_estimate_then_continues(sandbox):
    sandbox.push_error(80005, times=1, regain_minutes=2)
    run = Run(sandbox)
    assert len(run.records) == len(sandbox.dataset.leads)
    assert run.waits == [120.0]  # estimated_time_to_regain_access: 2 minutes


def test_leadgen_throttle_longer_than_the_cap_fails_the_account_clearly(sandbox):
    sandbox.push_error(80005, times=3, regain_minutes=60)
    with pytest.raises(RateLimited, match=r"gave up waiting.*80005") as caught:
        Run(sandbox, max_throttle_wait_seconds=900)
    assert caught.value.retry_after == 3600
    assert len(sandbox.requests) == 1


@pytest.mark.parametrize("expired", [False, True], ids=["wrong-token", "expired-token"])
def test_token_error_190_fails_at_once_asking_to_reauthorize(dataset, expired):
    with MetaSandbox(dataset, token=TOKEN if expired else "another-token") as meta:
        meta.token_expired = expired
        with pytest.raises(AuthError, match="re-authorize") as caught:
            Run(meta)
        assert len(meta.requests) == 1
    assert "code 190" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_transient_codes_are_retried(sandbox):
    sandbox.push_error(2, times=2, status=400)  # code 2 with a 400: only the body says retry
    sandbox.push_error(1, times=1)  # code 1 with a 500
    assert len(Run(sandbox).records) == len(sandbox.dataset.leads)


def test_transient_code_that_persists_ends_as_a_transient_error(sandbox):
    sandbox.push_error(2, times=50, status=400)
    with pytest.raises(TransientError, match="temporary Graph API failure"):
        Run(sandbox, max_attempts=3)
    assert len(sandbox.requests) == 3


def test_a_rejected_request_is_terminal_and_names_it(sandbox):
    with pytest.raises(TerminalError, match=r"code 100/33 on GET /v\d+\.0/999999/leadgen_forms"):
        Run(sandbox, page_ids=["999999"])


# -- one retry layer: what a persistent failure costs -------------------------------------
PERSISTENT: dict[str, Callable[[MetaSandbox], Any]] = {
    "plain-503": lambda box: box.faults.push(503, {"message": "busy"}, times=100),
    "code-1-http-500": lambda box: box.push_error(1, times=100),  # is_transient, a 5xx
    "code-2-http-400": lambda box: box.push_error(2, times=100, status=400),
    "code-17-throttle": lambda box: box.push_error(17, times=100),  # no estimate: backoff
}


@pytest.mark.parametrize("attempts", [3, 6])
@pytest.mark.parametrize("fault", list(PERSISTENT))
def test_a_persistent_failure_costs_exactly_max_attempts_requests(sandbox, fault, attempts):
    # Before one layer, a Graph code 1 (HTTP 500) went through urllib3's retries inside
    # Meta's own transient loop: 6 x 6 = 36 requests at the default of 6 attempts.
    PERSISTENT[fault](sandbox)
    waits: list[float] = []
    with pytest.raises(TransientError) as caught:
        Run(sandbox, max_attempts=attempts, waits=waits)
    assert len(sandbox.requests) == attempts and len(waits) == attempts - 1
    assert str(caught.value).startswith("meta: ")
    if fault == "code-17-throttle":
        assert isinstance(caught.value, RateLimited)
        assert "gave up waiting for Meta's throttle" in str(caught.value)


def test_waits_between_tries_back_off_from_backoff_seconds(sandbox):
    waits: list[float] = []
    sandbox.faults.push(503, {"message": "busy"}, times=100)
    with pytest.raises(TransientError):
        Run(sandbox, max_attempts=4, backoff_seconds=0.01, waits=waits)
    assert len(waits) == 3
    assert 0.01 <= waits[0] <= 0.0125 and 0.02 <= waits[1] <= 0.0225 and 0.04 <= waits[2] <= 0.0425


def test_a_cursor_handed_back_again_is_refused(sandbox):
    """Meta repeats a cursor two pages later (not the last one): the read stops, naming
    the edge's path and no query value, without asking for that cursor again."""
    first: list[str] = []
    form = max(sandbox.dataset.forms, key=lambda f: len(sandbox.dataset.leads_for_form(f.id)))
    leads = f"/{form.id}/leads"

    def remember(body: dict) -> None:
        first.append(body["paging"]["cursors"]["after"])

    def repeat(body: dict) -> None:
        body["paging"]["cursors"]["after"] = first[0]

    sandbox.faults.push_drift(remember, path=leads)
    sandbox.faults.push_delay(0, path=leads)
    sandbox.faults.push_drift(repeat, path=leads)
    with pytest.raises(TerminalError, match=rf"^meta: GET {form.id}/leads: the paging cursor did not advance") as caught:  # fmt: skip
        Run(sandbox, page_ids=[form.page_id], page_size=2)
    asked = [r for r in sandbox.requests if r.path.endswith(leads)]
    assert len(asked) == 3 and len(sandbox.faults) == 0
    assert [r.query.get("after", [None])[0] for r in asked].count(first[0]) == 1
    assert first[0] not in str(caught.value) and "?" not in str(caught.value)
