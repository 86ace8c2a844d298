"""What the intake tests share: settings, signed requests, the inbox's rows."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.config.settings import Settings
from leadflow.models.warehouse.tables import intake_inbox, leads

APP_SECRET = "meta-app-secret-0123456789"
VERIFY_TOKEN = "meta-verify-token-42"
GOOGLE_KEY = "google-form-key-0123"
CLIENT_SECRET = "linkedin-client-secret-987"
CUSTOMER = "1234567890"
META_TOKEN = "sandbox-meta-token-0123"
LINKEDIN_TOKEN = "test-linkedin-token-123"


def settings(warehouse_url: str, sources: dict[str, Any] | None = None, **intake: Any) -> Settings:
    body = {
        "meta": {"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN},
        "google_ads": {"google_key": GOOGLE_KEY, "customer_id": "123-456-7890"},
        "linkedin": {"client_secret": CLIENT_SECRET},
        "retry_base_seconds": 0,
        **intake,
    }
    return Settings.model_validate(
        {"warehouse_url": warehouse_url, "sources": sources or {}, "intake": body}
    )


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encoded(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def meta_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body),
            "Content-Type": "application/json"}  # fmt: skip


def linkedin_headers(body: bytes, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {"X-LI-Signature": hex_hmac(secret, b"hmacsha256=" + body),
            "Content-Type": "application/json"}  # fmt: skip


def leadgen(leadgen_id: str, page_id: str, form_id: str, ad_id: str | None = None) -> dict:
    """A Page ``leadgen`` notification as Meta documents it."""
    value = {"leadgen_id": leadgen_id, "form_id": form_id, "page_id": page_id,
             "ad_id": ad_id, "adgroup_id": None, "created_time": 1733480000}  # fmt: skip
    change = {"field": "leadgen", "value": {k: v for k, v in value.items() if v is not None}}
    return {"object": "page", "entry": [{"id": page_id, "time": 1733480001, "changes": [change]}]}


def google_lead(lead_id: str = "TeSter-123-lead", key: str = GOOGLE_KEY, **extra: Any) -> dict:
    """A Google Ads lead form webhook body as Google documents it."""
    return {
        "lead_id": lead_id,
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Ada Lovelace", "column_id": "FULL_NAME"},
            {"string_value": "ada@example.com", "column_id": "EMAIL"},
            {"string_value": "+14155550123", "column_id": "PHONE_NUMBER"},
            {"column_name": "Budget?", "string_value": "10k", "column_id": "budget_q1"},
        ],
        "api_version": "1.0",
        "form_id": 40000000001,
        "campaign_id": 1234567,
        "google_key": key,
        "is_test": False,
        "gcl_id": "gclid-abc",
        "adgroup_id": 20000000002,
        "creative_id": 30000000003,
        **extra,
    }


def inbox(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = sa.select(intake_inbox).order_by(intake_inbox.c.platform,
                                                 intake_inbox.c.notification_id)  # fmt: skip
        return [dict(row) for row in conn.execute(query).mappings()]


def stored_leads(engine: Engine, source: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = sa.select(leads).where(leads.c.source == source).order_by(leads.c.source_lead_id)
        return [dict(row) for row in conn.execute(query).mappings()]
