"""Google Ads failures against the sandbox: quota retryDelay, 5xx, bodies that are not JSON,
credentials, a page token handed back twice; each costing at most ``max_attempts``."""

from __future__ import annotations

import pytest

from leadflow.connectors.errors import (
    AuthError,
    MissingScope,
    RateLimited,
    TerminalError,
    TransientError,
)
from leadflow.connectors.google_ads.connector import open_session, pages
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import MANAGER_ID, google_ads_dataset
from tests.connectors.google_ads.support import KOLKATA, LA, config, ids, no_sleep, read, searches


# -- throttling and errors ----------------------------------------------------------------------
def test_quota_retry_delay_is_waited_then_the_read_succeeds(sandbox: GoogleAdsSandbox) -> None:
    waits: list[float] = []
    sandbox.push_quota_error(30)
    found = read(sandbox, LA, sleep=waits.append)
    assert waits == [30.0]
    assert ids(found) == [s.id for s in sandbox.dataset.submissions(LA)]
    assert [r.status for r in sandbox.requests][:2] == [429, 200]


def test_quota_retry_delay_is_really_slept(sandbox: GoogleAdsSandbox) -> None:
    sandbox.push_quota_error(0.6)
    client = open_session(config(sandbox))  # the real time.sleep
    list(pages(client, LA, lambda _: None))
    first, second = sandbox.requests[:2]
    assert first.status == 429 and second.status == 200
    assert 0.55 <= second.time - first.time < 5


def test_quota_error_without_retry_delay_backs_off(sandbox: GoogleAdsSandbox) -> None:
    waits: list[float] = []
    sandbox.push_quota_error(None)
    assert ids(read(sandbox, LA, sleep=waits.append))
    assert len(waits) == 1 and 0 < waits[0] < 1


def test_retry_delay_beyond_the_cap_fails_the_customer(sandbox: GoogleAdsSandbox) -> None:
    sandbox.push_quota_error(86_400, kind="RESOURCE_EXHAUSTED")
    with pytest.raises(RateLimited, match="max_retry_delay_seconds") as caught:
        read(sandbox, LA, max_retry_delay_seconds=300)
    assert "quotaError.RESOURCE_EXHAUSTED" in str(caught.value)
    assert caught.value.retry_after == 86_400
    assert len(sandbox.requests) == 1


def test_quota_errors_exhausting_attempts_fail(sandbox: GoogleAdsSandbox) -> None:
    sandbox.push_quota_error(1, times=10)
    waits: list[float] = []
    with pytest.raises(RateLimited, match="throttled"):
        read(sandbox, LA, sleep=waits.append, max_attempts=3)
    assert waits == [1.0, 1.0] and len(sandbox.requests) == 3


def test_5xx_is_retried_by_the_transport(sandbox: GoogleAdsSandbox) -> None:
    waits: list[float] = []
    sandbox.faults.push(status=503, body={"error": {"code": 503}}, times=2)
    assert len(ids(read(sandbox, LA, sleep=waits.append))) == len(sandbox.dataset.submissions(LA))
    assert len(waits) == 2 and 0 < waits[0] < waits[1] < 1  # one backoff, the injected sleep


@pytest.mark.parametrize("attempts", [2, 5])
def test_a_persistent_5xx_costs_exactly_max_attempts_requests(
    sandbox: GoogleAdsSandbox, attempts: int
) -> None:
    waits: list[float] = []
    sandbox.faults.push(status=503, body={"error": {"code": 503}}, times=100)
    with pytest.raises(
        TransientError, match=r"HTTP 503 on POST /v24/customers/\d+/googleAds:search"
    ):
        read(sandbox, LA, sleep=waits.append, max_attempts=attempts)
    assert len(sandbox.requests) == attempts and len(waits) == attempts - 1


def test_a_truncated_page_is_asked_again(sandbox: GoogleAdsSandbox) -> None:
    waits: list[float] = []
    sandbox.faults.push_delay(0, times=2)  # the account query and the first page go through
    sandbox.faults.push_truncated()
    assert ids(read(sandbox, LA, sleep=waits.append)) == [
        s.id for s in sandbox.dataset.submissions(LA)
    ]
    statuses = [(r.status, r.fault) for r in sandbox.requests][2:4]
    assert statuses == [(200, "transform"), (200, None)] and len(waits) == 1


def test_a_page_token_handed_back_again_is_refused(sandbox: GoogleAdsSandbox) -> None:
    tokens: list[str] = []
    sandbox.faults.push_delay(0)  # the account query
    sandbox.faults.push_drift(lambda body: tokens.append(body["nextPageToken"]))
    sandbox.faults.push_delay(0, times=2)
    sandbox.faults.push_drift(lambda body: body.update(nextPageToken=tokens[0]))
    with pytest.raises(TerminalError, match=r"^google_ads: POST /v24/customers/1234567890/googleAds:search: the paging page token did not advance") as caught:  # fmt: skip
        read(sandbox, LA)
    assert tokens[0] not in str(caught.value)
    sent = [(r.json() or {}).get("pageToken") for r in searches(sandbox)]
    assert len(sent) == 4 and sent.count(tokens[0]) == 1


def test_wrong_token_fails_at_once_asking_to_reauthorize(sandbox: GoogleAdsSandbox) -> None:
    with pytest.raises(AuthError, match="re-authorize") as caught:
        read(sandbox, LA, access_token="not-the-token-at-all")
    assert "OAUTH_TOKEN_INVALID" in str(caught.value)
    assert "not-the-token-at-all" not in str(caught.value)
    assert len(sandbox.requests) == 1


def test_expired_token_names_the_code(sandbox: GoogleAdsSandbox) -> None:
    sandbox.token_expired = True
    with pytest.raises(AuthError, match=r"OAUTH_TOKEN_EXPIRED.*re-authorize"):
        read(sandbox, LA)
    assert len(sandbox.requests) == 1


def test_login_customer_id_is_sent_when_configured(sandbox: GoogleAdsSandbox) -> None:
    assert ids(read(sandbox, KOLKATA, login_customer_id="444-000-1111"))
    assert {r.headers.get("login-customer-id") for r in sandbox.requests} == {MANAGER_ID}
    sandbox.server.clear_requests()
    read(sandbox, LA, login_customer_id=None)
    assert all("login-customer-id" not in r.headers for r in sandbox.requests)


def test_client_account_without_login_customer_id_is_permission_denied(
    sandbox: GoogleAdsSandbox,
) -> None:
    with pytest.raises(AuthError, match=r"USER_PERMISSION_DENIED.*login_customer_id") as caught:
        read(sandbox, KOLKATA, login_customer_id=None)
    assert len(sandbox.requests) == 1
    assert isinstance(caught.value, MissingScope)  # only what reads this customer fails
    assert caught.value.scope == "authorizationError.USER_PERMISSION_DENIED"


def test_developer_token_is_optional_since_its_sunset() -> None:
    with GoogleAdsSandbox(google_ads_dataset(30), developer_token_mode="ignore") as ads:
        assert ids(read(ads, LA, developer_token=None))
        assert all("developer-token" not in r.headers for r in ads.requests)
    still_asking = GoogleAdsSandbox(google_ads_dataset(30))  # the sandbox's default mode
    with still_asking as ads, pytest.raises(AuthError, match="DEVELOPER_TOKEN_PARAMETER_MISSING"):
        read(ads, LA, developer_token=None)


def test_bad_query_is_terminal_naming_the_code(sandbox: GoogleAdsSandbox) -> None:
    client = open_session(config(sandbox), sleep=no_sleep)
    with pytest.raises(TerminalError, match=r"queryError\.UNRECOGNIZED_FIELD"):
        client.search(LA, {"query": "SELECT lead_form_submission_data.nope FROM customer"})
