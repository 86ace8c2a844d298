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


class NotSent(TransientError):
    """The request never reached the platform (no connection could be made): sending it
    again is safe whatever its method."""


class RateLimited(TransientError):
    """The platform's own throttle signal; ``retry_after`` seconds when it said so."""

    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(source, message)


class TerminalError(ConnectorError):
    """Retrying will not help: a bad request, a missing resource, a daily quota."""


class AuthError(TerminalError):
    """The credentials were refused or expired: someone must re-authorize the source."""


class MissingScope(AuthError):
    """The credentials work, but lack a permission (scope) one endpoint needs.

    Only what reads that endpoint fails (one partition of one stream); the source's other
    streams still sync. ``scope`` is what the platform says is missing (None when it names
    nothing), ``term`` what the platform calls it (scope, permission), ``detail`` the
    platform's own words, ``grant`` how to grant it. A connector
    does not know which stream it serves: the sync adds the stream and the configuration
    switch that turns it off (``in_stream``). Still an ``AuthError``: never retried.
    """

    def __init__(
        self,
        source: str,
        scope: str | None,
        detail: str,
        *,
        grant: str = "grant it and re-authorize",
        term: str = "permission",
        stream: str | None = None,
        switch: str | None = None,
    ) -> None:
        self.scope, self.detail, self.grant, self.term = scope, detail, grant, term
        self.stream, self.switch = stream, switch
        missing = f"the {scope} {term}" if scope else f"a {term}"
        where = f"stream {stream}: " if stream else ""
        message = f"{where}the credentials lack {missing} ({detail}); {grant}"
        if switch:
            message += f", or switch the stream off with {switch}: false"
        super().__init__(source, message)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:  # crosses processes on Dask
        values = (self.source, self.scope, self.detail, self.grant, self.term)
        return _missing_scope, (*values, self.stream, self.switch)

    def in_stream(self, stream: str, switch: str) -> MissingScope:
        """The same failure, naming the stream it stopped and the switch that turns it off
        (``sources.<name>.streams.<stream>``)."""
        return MissingScope(
            self.source, self.scope, self.detail, grant=self.grant, term=self.term,
            stream=stream, switch=switch,
        )  # fmt: skip


def _missing_scope(
    source: str,
    scope: str | None,
    detail: str,
    grant: str,
    term: str,
    stream: str | None,
    switch: str | None,
) -> MissingScope:
    return MissingScope(source, scope, detail, grant=grant, term=term, stream=stream, switch=switch)


class WriteRefused(TerminalError):
    """A platform refused a write-back (4xx): ``reason`` names status, code and fields only,
    never a value."""

    def __init__(self, source: str, reason: str) -> None:
        self.reason = reason
        super().__init__(source, reason)


class OutcomeUnknown(TerminalError):
    """A creation answered 5xx (or without its id): the platform may have stored it, so it is
    not repeated blindly; the write-back ledger resolves it on a later run."""

    def __init__(self, source: str, reason: str) -> None:
        self.reason = reason
        super().__init__(source, reason)
