"""The intake app over ASGI (Starlette's test client), on SQLite and PostgreSQL: handshakes,
signatures, and every accepted notification committed before its 2xx."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
import sqlalchemy as sa
from starlette.testclient import TestClient

from leadflow.intake.app import create_app
from tests.intake.support import (
    APP_SECRET,
    CLIENT_SECRET,
    VERIFY_TOKEN,
    encoded,
    google_lead,
    hex_hmac,
    inbox,
    leadgen,
    linkedin_headers,
    meta_headers,
    settings,
)

CODE = "890e4665-4dfe-4ab1-b689-ed553bceeed0"


def client(engine, **intake) -> TestClient:
    app = create_app(settings(str(engine.url), **intake).intake, engine)
    return TestClient(app, raise_server_exceptions=False)


def refused(http: TestClient) -> dict:
    return http.get("/healthz").json()["refused"]


def test_meta_verification_echoes_the_challenge_for_our_token_only(migrated_engine):
    http = client(migrated_engine)
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8812"}
    answer = http.get("/webhooks/meta", params=query)
    assert (answer.status_code, answer.text) == (200, "8812")
    wrong = http.get("/webhooks/meta", params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert "8812" not in wrong.text
    assert refused(http) == {"meta:verification: wrong mode or verify token": 1}


def test_meta_post_with_a_bad_or_missing_signature_is_401_and_stores_nothing(migrated_engine):
    http = client(migrated_engine)
    body = encoded(leadgen("444001", "5001", "6001"))
    forged = meta_headers(body, secret="not-the-app-secret")
    assert http.post("/webhooks/meta", content=body, headers=forged).status_code == 401
    plain = {"Content-Type": "application/json"}
    assert http.post("/webhooks/meta", content=body, headers=plain).status_code == 401
    tampered = meta_headers(body)
    assert http.post("/webhooks/meta", content=body + b" ", headers=tampered).status_code == 401
    assert inbox(migrated_engine) == []
    assert refused(http) == {"meta:signature invalid": 2, "meta:signature missing": 1}


def test_meta_post_is_stored_once_however_often_meta_retries_it(migrated_engine):
    http = client(migrated_engine)
    body = encoded(leadgen("444001", "5001", "6001", ad_id="7001"))
    first = http.post("/webhooks/meta", content=body, headers=meta_headers(body))
    assert first.status_code == 200
    [row] = inbox(migrated_engine)
    assert (row["platform"], row["notification_id"], row["account_id"]) == (
        "meta",
        "444001",
        "5001",
    )
    assert (row["status"], row["attempts"], row["body"]["form_id"]) == ("pending", 0, "6001")
    again = http.post("/webhooks/meta", content=body, headers=meta_headers(body))
    assert again.status_code == 200
    assert inbox(migrated_engine) == [row]  # the retry changed nothing, not even received_at


def test_one_meta_post_may_name_several_leads(migrated_engine):
    http = client(migrated_engine)
    payload = leadgen("1", "5001", "6001")
    second = leadgen("2", "5002", "6002")["entry"][0]
    other_field = {"field": "feed", "value": {"post_id": "9"}}
    second["changes"].append(other_field)
    payload["entry"].append(second)
    body = encoded(payload)
    assert http.post("/webhooks/meta", content=body, headers=meta_headers(body)).status_code == 200
    assert [(r["notification_id"], r["account_id"]) for r in inbox(migrated_engine)] == [
        ("1", "5001"),
        ("2", "5002"),
    ]


def test_google_key_wrong_or_missing_is_403_and_stores_nothing(migrated_engine):
    http = client(migrated_engine)
    wrong = http.post("/webhooks/google_ads", json=google_lead(key="guessed-key"))
    missing = http.post("/webhooks/google_ads", json={**google_lead(), "google_key": None})
    assert (wrong.status_code, missing.status_code) == (403, 403)
    assert "guessed-key" not in wrong.text
    assert inbox(migrated_engine) == []
    assert refused(http) == {"google_ads:google_key wrong": 1, "google_ads:google_key missing": 1}


def test_google_lead_is_stored_without_its_key_and_answered_with_an_empty_200(migrated_engine):
    http = client(migrated_engine)
    answer = http.post("/webhooks/google_ads", json=google_lead("L-1"))
    assert (answer.status_code, answer.content) == (200, b"")
    assert http.post("/webhooks/google_ads", json=google_lead("L-1")).status_code == 200
    [row] = inbox(migrated_engine)
    assert (row["platform"], row["notification_id"], row["account_id"]) == (
        "google_ads",
        "L-1",
        "1234567890",
    )
    assert "google_key" not in row["body"]
    assert row["body"]["user_column_data"][1]["column_id"] == "EMAIL"
    assert (
        http.post("/webhooks/google_ads", json={**google_lead(), "lead_id": ""}).status_code == 400
    )


def test_linkedin_challenge_is_answered_with_the_hmac_of_the_code(migrated_engine):
    http = client(migrated_engine)
    answer = http.get("/webhooks/linkedin", params={"challengeCode": CODE})
    assert answer.status_code == 200
    expected = {"challengeCode": CODE, "challengeResponse": hex_hmac(CLIENT_SECRET, CODE.encode())}
    assert answer.json() == expected
    posted = http.post("/webhooks/linkedin", json={"challengeCode": CODE})
    assert posted.json() == expected
    # Not a UUID: never signed, so the challenge cannot sign a forged notification body.
    body = '{"leadGenFormResponse":"urn:li:leadGenFormResponse:x"}'
    assert http.get("/webhooks/linkedin", params={"challengeCode": body}).status_code == 400


def test_linkedin_notification_is_stored_when_signed_and_refused_otherwise(migrated_engine):
    http = client(migrated_engine)
    note = {
        "type": "LEAD_ACTION",
        "leadGenFormResponse": "urn:li:leadGenFormResponse:abc-123-4",
        "leadGenForm": "urn:li:leadGenForm:77",
        "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:510000101"},
        "leadAction": "CREATED",
        "occurredAt": 1733480000000,
    }
    body = encoded(note)
    bad = http.post("/webhooks/linkedin", content=body, headers=linkedin_headers(body, "nope"))
    assert bad.status_code == 401
    assert inbox(migrated_engine) == []
    ok = http.post("/webhooks/linkedin", content=body, headers=linkedin_headers(body))
    assert ok.status_code == 200
    [row] = inbox(migrated_engine)
    assert (row["notification_id"], row["account_id"]) == (
        "abc-123-4",
        "sponsoredAccount:510000101",
    )


def test_a_body_over_the_limit_is_refused_before_it_is_stored(migrated_engine):
    http = client(migrated_engine, max_body_bytes=1000)
    payload = leadgen("1", "5001", "6001")
    payload["padding"] = "x" * 2000
    body = encoded(payload)
    assert http.post("/webhooks/meta", content=body, headers=meta_headers(body)).status_code == 413
    assert inbox(migrated_engine) == []


def test_the_row_is_committed_before_the_answer_and_no_commit_means_no_2xx(migrated_engine):
    seen_before_answer = []
    intake = settings(str(migrated_engine.url)).intake
    app = create_app(intake, migrated_engine, on_stored=lambda: seen_before_answer.append(
        len(inbox(migrated_engine))))  # fmt: skip
    http = TestClient(app, raise_server_exceptions=False)
    assert http.post("/webhooks/google_ads", json=google_lead("L-9")).status_code == 200
    assert seen_before_answer == [1]  # visible to another connection: committed
    with migrated_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE intake_inbox"))
    failed = http.post("/webhooks/google_ads", json=google_lead("L-10"))
    assert failed.status_code >= 500  # the platform retries; nothing was acknowledged


def test_unconfigured_platforms_have_no_route(migrated_engine):
    app = create_app(settings(str(migrated_engine.url), meta=None).intake, migrated_engine)
    http = TestClient(app)
    body = encoded(leadgen("1", "5001", "6001"))
    assert http.post("/webhooks/meta", content=body, headers=meta_headers(body)).status_code == 404
    assert APP_SECRET not in http.get("/healthz").text


def test_a_failed_commit_is_answered_503_and_names_no_value(migrated_engine, caplog):
    http = client(migrated_engine)
    with migrated_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE intake_inbox"))
    failed = http.post("/webhooks/google_ads", json=google_lead("L-11"))
    assert failed.status_code == 503
    assert "ada@example.com" not in caplog.text and "L-11" not in caplog.text


def test_concurrent_notifications_are_committed_in_groups_and_each_once(migrated_engine, serve):
    """50 senders at once: every notification is stored once and answered 200 after its
    commit, in fewer transactions than requests (grouped while a commit runs)."""
    base = serve(settings(str(migrated_engine.url)))

    def send(i: int) -> int:
        with requests.Session() as session:
            statuses = []
            for j in range(4):
                body = encoded(leadgen(f"{i}-{j}", "5001", "6001"))
                answer = session.post(base + "/webhooks/meta", data=body,
                                      headers=meta_headers(body), timeout=30)  # fmt: skip
                statuses.append(answer.status_code)
            return max(statuses)

    with ThreadPoolExecutor(50) as pool:
        assert set(pool.map(send, range(50))) == {200}
    stored = {row["notification_id"] for row in inbox(migrated_engine)}
    assert stored == {f"{i}-{j}" for i in range(50) for j in range(4)}
    health = requests.get(base + "/healthz", timeout=10).json()
    assert health["stored"] == 200
    assert health["commits"] < 200
