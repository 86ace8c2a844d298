"""Redaction of what leaves a process as text: registered secrets, credentials in URLs and
headers, emails and phones (``redact``), and every log record (``install_log_redaction``).

Used by the transport (``connectors/http.py``, which re-exports these) and by every process
that loads settings (``config/secrets.py`` registers them).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from leadflow.models.records.masking import mask_personal

__all__ = ["install_log_redaction", "redact", "register_secret"]

_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"),
    re.compile(r"(?i)((?:access_token|hapikey|apikey|api_key|token|key|client_secret)=)[^&\s'\"]+"),
    re.compile(r"(?i)(['\"]?(?:authorization|developer-token)['\"]?\s*[:=]\s*['\"]?)[^'\",}]+"),
]
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that ``redact`` removes it wherever it appears."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Remove tokens and credentials from text bound for a log, and mask every email address
    and phone number in it (``mask_personal``: ``***@***``, a phone by its shape)."""
    for secret in _known_secrets:
        text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return mask_personal(text)


def install_log_redaction() -> None:
    """Redact every log record at creation, whichever logger or handler emits it."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "leadflow_redacting", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break the caller
            return record
        record.msg, record.args = redact(message), ()
        return record

    redacting_factory.leadflow_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
