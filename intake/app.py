"""The intake ASGI app: one route per platform, each notification durable before its 2xx.

- ``GET /webhooks/meta``: the Webhooks verification (``hub.challenge`` echoed for our verify
  token, else 403). ``POST /webhooks/meta``: ``X-Hub-Signature-256`` checked over the raw
  body (401 when missing or wrong), then every ``leadgen`` change stored.
- ``POST /webhooks/google_ads``: ``google_key`` checked (403 when wrong or missing), the lead
  stored, 200 with an empty body.
- ``GET /webhooks/linkedin?challengeCode=``: the validation answer (also to a POST of
  ``{"challengeCode"}`` without a signature). ``POST /webhooks/linkedin``: ``X-LI-Signature``
  checked (401; its two readings: ``verify``), the lead form response it names stored. Only
  a UUID is answered as a challenge: the answer is an HMAC keyed with the secret that also
  signs notifications, and a UUID is never a notification body, so the challenge cannot be
  used to sign a forged one.
- ``GET /healthz``: notifications stored, commits, refusals counted by platform and reason,
  and the loader process (pid, alive, times started).

A refused request stores nothing and logs the platform and the reason, never the body. A
body over ``intake.max_body_bytes`` is refused with 413 before it is read whole. Accepted
notifications are committed to ``intake_inbox`` (``models/loading/inbox.py``) before the
answer; a retry of a stored lead is a no-op answered 200 all the same. A commit that fails is
answered 503 (the platform retries), logged by the error's type only. Loading happens after
the answer (``leadflow.intake.process``): ``on_stored`` is called to wake it.

Commits are grouped (``GroupCommit``): one writer commits, in one transaction, every
notification that arrived while the previous commit was running, and then answers all of
their requests. One transaction per request would make a burst wait on one commit each.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from leadflow.config.intake import IntakeSettings
from leadflow.connectors.google_ads import webhook as google
from leadflow.connectors.linkedin import webhook as linkedin
from leadflow.connectors.meta import webhook as meta
from leadflow.intake import verify
from leadflow.models.loading.inbox import Notification, receive
from leadflow.models.warehouse.engine import write_transaction

log = logging.getLogger(__name__)
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Refused(Exception):
    """A request answered with an error status and nothing stored."""

    def __init__(self, status: int, platform: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.platform, self.reason = status, platform, reason


class Unavailable(Exception):
    """The notifications could not be committed: answered 503, the platform retries."""


Waiter = tuple[Sequence[Notification], "asyncio.Future[None]"]


class GroupCommit:
    """Commit the notifications of concurrent requests together.

    ``store`` queues a request's notifications and waits; one flush task at a time commits
    everything queued (``commit(notifications, now)`` in a worker thread, one transaction),
    then wakes those requests, and goes on while more arrived meanwhile. A failed commit
    fails every request of its group (``Unavailable``); nothing is acknowledged that is not
    committed.
    """

    def __init__(self, commit: Callable[[Sequence[Notification], datetime], None]) -> None:
        self._commit = commit
        self._queued: list[Waiter] = []
        self._flushing: asyncio.Task[None] | None = None
        self.groups = 0

    async def store(self, notifications: Sequence[Notification]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((notifications, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            batch = [n for notifications, _ in group for n in notifications]
            try:
                await run_in_threadpool(self._commit, batch, datetime.now(UTC))
            except Exception as error:  # answered 503 to each request of the group
                log.error("intake: storing %d notifications failed: %s", len(batch),
                          type(error).__name__)  # fmt: skip
                outcome: Exception | None = Unavailable(type(error).__name__)
            else:
                outcome = None
                self.groups += 1
            for _, done in group:
                if done.done():  # the client went away; its notification is stored anyway
                    continue
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)


class Intake:
    """The app's state: settings, warehouse, refusal counters, and who to wake."""

    def __init__(
        self, settings: IntakeSettings, engine: Engine, on_stored: Callable[[], None] | None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.on_stored = on_stored
        self.refused: Counter[str] = Counter()
        self.stored = 0
        self.commits = GroupCommit(self._commit)
        self.loader: Any = None  # the loader process (``leadflow.intake.worker``), if any

    async def body(self, request: Request, platform: str) -> bytes:
        """The raw body, refused (413) past the size limit without reading it all."""
        limit = self.settings.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise Refused(413, platform, "body too large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, platform, "body too large")
            chunks.append(chunk)
        return b"".join(chunks)

    async def store(self, notifications: Sequence[Notification]) -> None:
        """Commit ``notifications`` (a platform's retry of one stored is a no-op)."""
        if notifications:
            await self.commits.store(notifications)
            if self.on_stored is not None:
                self.on_stored()

    def _commit(self, notifications: Sequence[Notification], now: datetime) -> None:
        with write_transaction(self.engine) as conn:
            self.stored += receive(conn, notifications, now)


def _json(body: bytes, platform: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise Refused(400, platform, "body is not JSON") from None


async def meta_verify(intake: Intake, request: Request) -> Response:
    section = intake.settings.meta
    assert section is not None
    query = dict(request.query_params)
    challenge = verify.meta_challenge(query, section.verify_token.get_secret_value())
    if challenge is None:
        raise Refused(403, "meta", "verification: wrong mode or verify token")
    return PlainTextResponse(challenge)


async def meta_post(intake: Intake, request: Request) -> Response:
    section = intake.settings.meta
    assert section is not None
    body = await intake.body(request, "meta")
    header = request.headers.get(verify.META_SIGNATURE)
    if not verify.meta_signature_ok(header, body, section.app_secret.get_secret_value()):
        raise Refused(401, "meta", "signature missing" if not header else "signature invalid")
    changes = meta.leadgen_changes(_json(body, "meta"))
    await intake.store([Notification("meta", c.leadgen_id, c.page_id, c.value) for c in changes])
    return Response(status_code=200)


async def google_post(intake: Intake, request: Request) -> Response:
    section = intake.settings.google_ads
    assert section is not None
    parsed = _json(await intake.body(request, "google_ads"), "google_ads")
    if not isinstance(parsed, dict):
        raise Refused(400, "google_ads", "body is not a JSON object")
    given = parsed.get(google.KEY_FIELD)
    if not verify.google_key_ok(given, section.google_key.get_secret_value()):
        raise Refused(403, "google_ads", "google_key missing" if not given else "google_key wrong")
    key = google.lead_id(parsed)
    if key is None:
        raise Refused(400, "google_ads", "no lead_id")
    body = google.without_key(parsed)
    await intake.store([Notification("google_ads", key, section.customer_id, body)])
    return Response(status_code=200)


def _challenge(intake: Intake, code: object) -> Response:
    section = intake.settings.linkedin
    assert section is not None
    if not isinstance(code, str) or not UUID.fullmatch(code):
        raise Refused(400, "linkedin", "challengeCode is not a UUID")
    return JSONResponse(verify.linkedin_challenge(code, section.client_secret.get_secret_value()))


async def linkedin_get(intake: Intake, request: Request) -> Response:
    return _challenge(intake, request.query_params.get("challengeCode"))


async def linkedin_post(intake: Intake, request: Request) -> Response:
    section = intake.settings.linkedin
    assert section is not None
    body = await intake.body(request, "linkedin")
    header = request.headers.get(verify.LINKEDIN_SIGNATURE)
    if header is None:
        parsed = _json(body, "linkedin") if body else None
        if isinstance(parsed, dict) and set(parsed) <= {"challengeCode", "applicationId"}:
            return _challenge(intake, parsed.get("challengeCode"))
        raise Refused(401, "linkedin", "signature missing")
    if not verify.linkedin_signature_ok(header, body, section.client_secret.get_secret_value()):
        raise Refused(401, "linkedin", "signature invalid")
    parsed = _json(body, "linkedin")
    items = parsed if isinstance(parsed, list) else [parsed]
    found = []
    for item in items:
        key = linkedin.response_id(item)
        if key is not None and linkedin.is_lead_created(item):
            found.append(Notification("linkedin", key, linkedin.owner_account(item), item))
    await intake.store(found)
    return Response(status_code=200)


async def health(intake: Intake, request: Request) -> Response:
    counts = {"stored": intake.stored, "commits": intake.commits.groups, "refused": intake.refused}
    loader = intake.loader
    if loader is not None:
        counts["loader"] = {"pid": loader.process.pid, "alive": loader.alive(),
                            "starts": loader.starts}  # fmt: skip
    return JSONResponse({"status": "ok", **counts})


Handler = Callable[[Intake, Request], Any]


def _route(intake: Intake, path: str, handler: Handler, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(intake, request)
        except Refused as refused:
            intake.refused[f"{refused.platform}:{refused.reason}"] += 1
            log.warning("intake: %s refused (%s): %s", refused.platform, refused.status,
                        refused.reason)  # fmt: skip
            return PlainTextResponse(refused.reason, status_code=refused.status)
        except Unavailable:
            return PlainTextResponse("not stored: retry later", status_code=503)

    return Route(path, endpoint, methods=methods)


def create_app(
    settings: IntakeSettings,
    engine: Engine,
    *,
    on_stored: Callable[[], None] | None = None,
    lifespan: Any = None,
) -> Starlette:
    """The intake app for the platforms ``settings`` configures (others answer 404)."""
    intake = Intake(settings, engine, on_stored)
    routes = [_route(intake, "/healthz", health, ["GET"])]
    if settings.meta is not None:
        routes.append(_route(intake, "/webhooks/meta", meta_verify, ["GET"]))
        routes.append(_route(intake, "/webhooks/meta", meta_post, ["POST"]))
    if settings.google_ads is not None:
        routes.append(_route(intake, "/webhooks/google_ads", google_post, ["POST"]))
    if settings.linkedin is not None:
        routes.append(_route(intake, "/webhooks/linkedin", linkedin_get, ["GET"]))
        routes.append(_route(intake, "/webhooks/linkedin", linkedin_post, ["POST"]))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.intake = intake
    return app
