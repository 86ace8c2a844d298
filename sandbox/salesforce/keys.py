"""RSA key pairs and signed JWT bearer assertions for the sandbox's OAuth 2.0 JWT bearer flow.

A connected app holds an X.509 certificate; the client signs its assertion (RS256) with the
matching private key, claims ``iss`` (the connected app's consumer key), ``sub`` (the
username), ``aud`` (the login URL) and ``exp`` (seconds since the epoch, a few minutes ahead),
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

LOGIN_URL = "https://login.salesforce.com"


@dataclass(frozen=True)
class KeyPair:
    """PEM texts: the private key (for the client), its public key and a self-signed
    certificate (either of which the connected app may hold)."""

    private_pem: str
    public_pem: str
    certificate_pem: str


def generate_key_pair(common_name: str = "leadflow-sandbox") -> KeyPair:
    """A fresh 2048-bit RSA key pair and a self-signed certificate valid for a year."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cert = certificate.public_bytes(serialization.Encoding.PEM)
    return KeyPair(private.decode(), public.decode(), cert.decode())


@functools.cache
def shared_key_pair() -> KeyPair:
    """One key pair per process (generating one takes a while), for tests and the demo."""
    return generate_key_pair()


def jwt_assertion(
    private_pem: str,
    client_id: str,
    username: str,
    audience: str = LOGIN_URL,
    *,
    lifetime: float = 180,
    now: float | None = None,
) -> str:
    """A signed (RS256) JWT bearer assertion expiring ``lifetime`` seconds from ``now``."""
    issued = time.time() if now is None else now
    claims = {"iss": client_id, "sub": username, "aud": audience, "exp": int(issued + lifetime)}
    return jwt.encode(claims, private_pem, algorithm="RS256")


def public_key_of(pem: str) -> object:
    """The RSA public key in a PEM certificate or public key."""
    data = pem.encode()
    if b"CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)
