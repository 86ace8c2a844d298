"""A ``type: salesforce`` source: validation, ${ENV} secrets, the JWT assertion it signs."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leadflow.config.checks import ConfigError
from leadflow.config.settings import load_settings
from leadflow.connectors.errors import TerminalError
from leadflow.connectors.http import redact
from leadflow.connectors.salesforce.auth import (
    jwt_assertion,
    org_id_of,
    private_key_text,
    trusted_instance,
)
from leadflow.connectors.salesforce.config import SalesforceConfig

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC_PEM = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
JWT_SOURCE = (
    "sources:\n  crm:\n    type: salesforce\n    client_id: 3MVG9.consumer\n"
    "    username: integration@example.com\n    private_key: ${SF_PRIVATE_KEY}\n"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_salesforce_source_validates_with_its_key_from_the_environment(tmp_path):
    settings = load_settings(write(tmp_path, JWT_SOURCE), env={"SF_PRIVATE_KEY": PRIVATE_PEM})
    source = settings.sources["crm"]
    assert isinstance(source, SalesforceConfig) and source.uses_jwt
    assert source.private_key is not None
    assert source.private_key.get_secret_value() == PRIVATE_PEM
    assert (source.base_url, source.api_version) == ("https://login.salesforce.com", "62.0")
    assert source.jwt_audience == "https://login.salesforce.com"
    # Registered for redaction on load: a key line in a message is masked.
    secret_line = PRIVATE_PEM.splitlines()[1]
    assert secret_line not in redact(f"oops {PRIVATE_PEM}")


def test_the_refresh_flow_registers_its_token_and_secret(tmp_path):
    text = (
        "sources:\n  salesforce:\n    client_id: 3MVG9.consumer\n"
        "    client_secret: ${SF_SECRET}\n    refresh_token: ${SF_REFRESH}\n"
        "    base_url: https://test.salesforce.com/services/data/v61.0/\n"
    )
    env = {"SF_SECRET": "consumer-secret-123", "SF_REFRESH": "5Aep861refresh.token"}
    source = load_settings(write(tmp_path, text), env=env).sources["salesforce"]
    assert not source.uses_jwt
    assert (source.base_url, source.api_version) == ("https://test.salesforce.com", "61.0")
    assert "5Aep861refresh.token" not in redact("token 5Aep861refresh.token")
    assert "consumer-secret-123" not in redact("secret consumer-secret-123")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param("    refresh_token: r-123456\n", "not both", id="both-flows"),
        pytest.param(
            "    api_version: '60.0'\n    base_url: https://x.my.salesforce.com/services/data/v61.0\n",
            "api_version differs",
            id="version-conflict",
        ),
        pytest.param(
            '    lead_fields: ["Email) FROM User --"]\n', "lead_fields", id="soql-in-a-field"
        ),
        pytest.param("    page_size: 5000\n", "page_size", id="batch-size"),
    ],
)
def test_a_wrong_salesforce_source_names_the_key(tmp_path, extra, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, JWT_SOURCE + extra), env={"SF_PRIVATE_KEY": PRIVATE_PEM})
    assert expected in str(caught.value)
    assert PRIVATE_PEM.splitlines()[1] not in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        (
            "https://acme.my.salesforce.com/services/data/v62",
            ("https://acme.my.salesforce.com", "62.0"),
        ),
        ("https://test.salesforce.com/", ("https://test.salesforce.com", "62.0")),
        ("http://127.0.0.1:8080/gw/services/data/v59.0", ("http://127.0.0.1:8080/gw", "59.0")),
    ],
    ids=["version-without-minor", "trailing-slash", "gateway-prefix"],
)
def test_base_url_is_the_oauth_host_and_a_pasted_version_path_is_the_api_version(
    tmp_path, base_url, expected
):
    text = JWT_SOURCE + f"    base_url: {base_url}\n"
    source = load_settings(write(tmp_path, text), env={"SF_PRIVATE_KEY": PRIVATE_PEM}).sources[
        "crm"
    ]
    assert (source.base_url, source.api_version) == expected


def test_a_source_with_neither_flow_says_what_is_missing(tmp_path):
    text = "sources:\n  crm:\n    type: salesforce\n    client_id: 3MVG9.consumer\n"
    with pytest.raises(ConfigError, match="missing: username, private_key"):
        load_settings(write(tmp_path, text), env={})


def test_the_jwt_assertion_carries_the_documented_claims_and_verifies_with_the_public_key():
    now = time.time()
    token = jwt_assertion(
        "3MVG9.consumer", "integration@example.com", "https://test.salesforce.com",
        PRIVATE_PEM, now=now, lifetime=180,
    )  # fmt: skip
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token, PUBLIC_PEM, algorithms=["RS256"], audience="https://test.salesforce.com"
    )
    assert claims == {
        "iss": "3MVG9.consumer", "sub": "integration@example.com",
        "aud": "https://test.salesforce.com", "exp": int(now) + 180,
    }  # fmt: skip
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other, algorithms=["RS256"], audience="https://test.salesforce.com")


def test_the_private_key_is_read_from_a_file_or_taken_as_pem(tmp_path):
    path = tmp_path / "server.key"
    path.write_text(PRIVATE_PEM, encoding="utf-8")
    assert private_key_text(str(path)) == PRIVATE_PEM
    one_line = PRIVATE_PEM.replace("\n", "\\n")  # as some secret stores hand it over
    assert private_key_text(one_line) == PRIVATE_PEM
    with pytest.raises(TerminalError, match="private_key") as caught:
        private_key_text(str(tmp_path / "missing.key"))
    assert "missing.key" not in str(caught.value)


def test_the_org_id_is_read_from_the_identity_url():
    token = {"id": "https://login.salesforce.com/id/00D5g0000012345EAA/0055g00000AbCdEFGH"}
    assert org_id_of(token) == "00D5g0000012345EAA"
    assert org_id_of({"id": "nonsense"}) is None


@pytest.mark.parametrize(
    ("instance_url", "trusted"),
    [
        ("https://acme.my.salesforce.com", True),
        ("http://127.0.0.1:8080", True),  # base_url's own host: a local sandbox
        ("http://198.51.100.7:8080", False),
        ("", False),
        ("acme.my.salesforce.com", False),
    ],
    ids=["https", "same-host", "plain-http-elsewhere", "none", "no-scheme"],
)
def test_api_calls_go_only_to_an_https_instance_or_base_urls_own_host(instance_url, trusted):
    assert trusted_instance(instance_url, "http://127.0.0.1:8080") is trusted


@pytest.mark.parametrize(
    ("base_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
    ids=["login", "test", "my-domain", "my-domain-sandbox", "local"],
)
def test_the_jwt_audience_is_the_login_server_base_url_stands_for(base_url, audience):
    config = SalesforceConfig(
        base_url=base_url, client_id="c", username="u@example.com", private_key=PRIVATE_PEM
    )
    assert config.jwt_audience == audience
    assert config.model_copy(
        update={"audience": "https://acme.force.com/customers"}
    ).jwt_audience == ("https://acme.force.com/customers")
