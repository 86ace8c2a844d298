"""The signature and handshake checks, against values computed here from the docs' rules."""

from __future__ import annotations

import hashlib
import hmac

from leadflow.intake import verify

SECRET = "app-secret"
BODY = b'{"object":"page","entry":[]}'


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_meta_signature_is_sha256_prefix_and_hex_hmac_of_the_raw_body():
    good = "sha256=" + _hex(SECRET, BODY)
    assert verify.meta_signature_ok(good, BODY, SECRET)
    assert verify.meta_signature_ok(good.upper().replace("SHA256=", "sha256="), BODY, SECRET)
    assert not verify.meta_signature_ok(None, BODY, SECRET)
    assert not verify.meta_signature_ok("", BODY, SECRET)
    assert not verify.meta_signature_ok(_hex(SECRET, BODY), BODY, SECRET)  # no prefix
    assert not verify.meta_signature_ok(good, BODY + b" ", SECRET)  # re-encoded body
    assert not verify.meta_signature_ok(good, BODY, "other-secret")
    sha1 = "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    assert not verify.meta_signature_ok(sha1, BODY, SECRET)


def test_meta_challenge_needs_subscribe_and_our_token():
    query = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert verify.meta_challenge(query, "tok") == "1158201444"
    assert verify.meta_challenge({**query, "hub.verify_token": "nope"}, "tok") is None
    assert verify.meta_challenge({**query, "hub.mode": "unsubscribe"}, "tok") is None
    assert verify.meta_challenge({"hub.mode": "subscribe", "hub.challenge": "1"}, "tok") is None


def test_google_key_must_equal_the_configured_one():
    assert verify.google_key_ok("k-123", "k-123")
    assert not verify.google_key_ok("k-124", "k-123")
    assert not verify.google_key_ok(None, "k-123")
    assert not verify.google_key_ok(123, "k-123")


def test_linkedin_challenge_response_is_hex_hmac_of_the_code():
    code = "890e4665-4dfe-4ab1-b689-ed553bceeed0"
    answer = verify.linkedin_challenge(code, SECRET)
    assert answer == {"challengeCode": code, "challengeResponse": _hex(SECRET, code.encode())}


def test_linkedin_signature_is_the_hmac_of_the_prefixed_body():
    linkedin = _hex(SECRET, b"hmacsha256=" + BODY)  # what LinkedIn's code sends
    assert verify.linkedin_signature_ok(linkedin, BODY, SECRET)
    assert verify.linkedin_signature_ok("hmacsha256=" + linkedin, BODY, SECRET)
    assert not verify.linkedin_signature_ok(linkedin, BODY, "other")
    assert not verify.linkedin_signature_ok(linkedin, BODY + b" ", SECRET)
    assert not verify.linkedin_signature_ok(None, BODY, SECRET)
    assert not verify.linkedin_signature_ok("  ", BODY, SECRET)


def test_linkedin_signature_read_the_other_way_is_accepted_only_with_its_prefix():
    literal = _hex(SECRET, BODY)
    assert verify.linkedin_signature_ok("hmacsha256=" + literal, BODY, SECRET)
    assert not verify.linkedin_signature_ok(literal, BODY, SECRET)
    assert not verify.linkedin_signature_ok("hmacsha256=" + _hex(SECRET, BODY[:-1]), BODY, SECRET)
