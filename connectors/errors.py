"""The two ways a source can fail: worth retrying later, or not until a human acts.

The class is also what the transport (``leadflow.connectors.http``) does with a failed
request: a ``TransientError`` is tried again (a ``RateLimited`` after the wait it names)
until the attempts are spent; a ``TerminalError`` is raised at once."""

from __future__ import annotations


class ConnectorError(Exception):
    """A source failed; the message names the source and never carries a secret."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


class TransientError(ConnectorError):
    """Retries were exhausted on a failure that may pass (5xx, timeouts, throttling)."""


class RateLimited(TransientError):
    """The platform's own throttle signal; ``retry_after`` seconds when it said so."""

    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(source, message)


class TerminalError(ConnectorError):
    """Retrying will not help: a bad request, a missing resource, a daily quota."""


class AuthError(TerminalError):
    """The credentials were refused or expired: someone must re-authorize the source."""
