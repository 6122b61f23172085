"""Pieces every vendor sandbox shares: request recording under `/_sandbox/...`, webhook
delivery with the vendor's retry behaviour, and rate-limit windows.

A sandbox is an in-memory FastAPI app emulating one vendor's API. Tests and the demo inspect
what it received over HTTP: `GET /_sandbox/requests`, `GET /_sandbox/deliveries`, and drive it
through `/_sandbox/...` controls: injected faults (`FaultInjector`), run-time knobs
(`KnobHolder`), and webhooks held, released in order or reversed, duplicated and redelivered
(`WebhookSender`, `install_webhook_routes`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Generic, Protocol, TypeVar

import httpx
import structlog
from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.http_pool import ClientPool

log = structlog.get_logger("orderloop.sandbox")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int
    at: float


@dataclass
class Delivery:
    """One send of a webhook: its attempts until a 2xx (`delivered`) or `max_attempts` (`gave_up`).
    `headers` are those of the latest attempt."""

    url: str
    headers: dict[str, str]
    body: Any
    webhook_id: str | None = None
    attempts: int = 0
    status: int | None = None
    delivered: bool = False
    gave_up: bool = False
    at: float = field(default_factory=time.time)


class Recorder:
    """Keeps every request the sandbox answered (bounded), newest last."""

    def __init__(self, limit: int = 20_000) -> None:
        self.requests: deque[RecordedRequest] = deque(maxlen=limit)
        self.deliveries: deque[Delivery] = deque(maxlen=limit)

    def matching(self, method: str | None = None, path_prefix: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path_prefix is None or r.path.startswith(path_prefix))
        ]


def _decode(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


async def read_json(request: Request, invalid: Callable[[str], Exception] | None = None) -> Any:
    """A request's JSON body (None when empty). Not JSON: `invalid(reason)` is raised, a vendor's
    own error shape, or by default a 400 `SandboxError` with the parser's reason."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        reason = f"body is not valid JSON: {exc}"
        raise (invalid(reason) if invalid else SandboxError(400, reason)) from None


class _Recording:
    """ASGI middleware: records every answered request outside `/_sandbox` with its body (read
    whole before the app runs, so a request refused unread is recorded too) and its status.
    Plain ASGI rather than an `@app.middleware("http")` function, whose response streaming
    through a task group was a quarter of the sandboxes' CPU in the end-to-end benchmark."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # the client went away: nothing to record
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message: Message) -> None:
            # Recorded as the answer starts, before the client can see it.
            if message["type"] == "http.response.start":
                self.recorder.requests.append(
                    RecordedRequest(
                        method=scope["method"],
                        path=scope["path"],
                        query=scope["query_string"].decode("latin-1"),
                        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
                        body=_decode(body),
                        status=message["status"],
                        at=time.time(),
                    )
                )
            await send(message)

        await self.app(scope, replay, watch)


def create_sandbox_app(title: str, recorder: Recorder) -> FastAPI:
    """A FastAPI app that records every non-`/_sandbox` request and serves the recordings."""
    app = FastAPI(title=title, docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json")

    app.add_middleware(_Recording, recorder=recorder)

    @app.get("/_sandbox/requests")
    async def list_requests(method: str | None = None, path_prefix: str | None = None) -> list[dict[str, Any]]:
        return [asdict(r) for r in recorder.matching(method, path_prefix)]

    @app.delete("/_sandbox/requests")
    async def clear_requests() -> dict[str, int]:
        count = len(recorder.requests)
        recorder.requests.clear()
        recorder.deliveries.clear()
        return {"cleared": count}

    @app.get("/_sandbox/deliveries")
    async def list_deliveries() -> list[dict[str, Any]]:
        return [asdict(d) for d in recorder.deliveries]

    @app.get("/_sandbox/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "sandbox": title}

    return app


class SlidingWindow:
    """At most `limit` calls per `window` seconds; `acquire()` returns the seconds to wait
    (0 when the call may proceed)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._calls: deque[float] = deque()

    def acquire(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        while self._calls and now - self._calls[0] >= self.window:
            self._calls.popleft()
        if len(self._calls) >= self.limit:
            return self.window - (now - self._calls[0])
        self._calls.append(now)
        return 0.0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - len(self._calls))


class LeakyBucket:
    """Shopify-style bucket: `size` requests, leaking `rate` per second."""

    def __init__(self, size: int, rate: float) -> None:
        self.size = size
        self.rate = rate
        self.level = 0.0
        self._at = time.monotonic()

    def acquire(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self.level = max(0.0, self.level - (now - self._at) * self.rate)
        self._at = now
        if self.level + 1 > self.size:
            return (self.level + 1 - self.size) / self.rate
        self.level += 1
        return 0.0


# --- errors, auth, lifecycle --------------------------------------------------------------------


class SandboxError(Exception):
    """An error answer of an emulated API: `{"error": message, **extra}` with `status`."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


def install_error_handler(app: FastAPI) -> None:
    """Render `SandboxError` as the vendor's JSON error body."""

    async def handle(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, SandboxError)
        return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status, headers=exc.headers)

    app.add_exception_handler(SandboxError, handle)


def bearer_auth(token: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing requests without `Authorization: Bearer <token>` (401)."""

    async def check(request: Request) -> None:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
            raise SandboxError(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}, hint="send Authorization: Bearer"
            )

    return check


def add_shutdown(app: FastAPI, callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` when the app's lifespan ends (after any lifespan already installed)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        async with inner(asgi_app) as state:
            yield state
        await callback()

    app.router.lifespan_context = lifespan


# --- fault injection ----------------------------------------------------------------------------


class FaultSpec(BaseModel):
    """`POST /_sandbox/faults`: the next `count` API calls (optionally only under `path_prefix`)
    answer `status`, with `Retry-After: retry_after` when given."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(ge=400, le=599)
    count: int = Field(default=1, ge=0)
    retry_after: float | None = Field(default=None, ge=0)
    path_prefix: str | None = None


class FaultInjector:
    """Armed faults for a sandbox's API routes (never its `/_sandbox` controls)."""

    def __init__(self) -> None:
        self.spec: FaultSpec | None = None
        self.remaining = 0
        self.injected = 0

    def arm(self, spec: FaultSpec) -> None:
        self.spec = spec
        self.remaining = spec.count

    def clear(self) -> None:
        self.spec = None
        self.remaining = 0

    def take(self, path: str) -> FaultSpec | None:
        """The fault this call gets, if one is armed for it (consumes one)."""
        spec = self.spec
        if spec is None or self.remaining <= 0 or path.startswith("/_sandbox"):
            return None
        if spec.path_prefix and not path.startswith(spec.path_prefix):
            return None
        self.remaining -= 1
        self.injected += 1
        return spec

    async def check(self, request: Request) -> None:
        """Dependency for API routes: raise the armed fault, if any."""
        spec = self.take(request.url.path)
        if spec is None:
            return
        headers = {}
        if spec.retry_after is not None:
            # Retry-After is whole seconds on the wire; round up so a client never retries early.
            headers["Retry-After"] = str(max(0, int(-(-spec.retry_after // 1))))
        reason = "rate limited" if spec.status == 429 else "service unavailable"
        raise SandboxError(spec.status, f"{reason} (injected sandbox fault)", headers)

    def state(self) -> dict[str, Any]:
        return {
            "armed": self.spec.model_dump() if self.spec and self.remaining > 0 else None,
            "remaining": self.remaining,
            "injected": self.injected,
        }


def install_fault_routes(app: FastAPI, faults: FaultInjector) -> None:
    """`POST /_sandbox/faults` (arm), `GET` (state), `DELETE` (disarm)."""

    @app.post("/_sandbox/faults")
    async def arm_faults(spec: FaultSpec) -> dict[str, Any]:
        faults.arm(spec)
        return faults.state()

    @app.get("/_sandbox/faults")
    async def fault_state() -> dict[str, Any]:
        return faults.state()

    @app.delete("/_sandbox/faults")
    async def clear_faults() -> dict[str, Any]:
        faults.clear()
        return faults.state()


# --- knobs --------------------------------------------------------------------------------------

K = TypeVar("K", bound=BaseModel)
StrEnumT = TypeVar("StrEnumT", bound=StrEnum)


class KnobHolder(Generic[K]):
    """A sandbox's knobs as a pydantic model: validated at start (values from the command line
    arrive as strings) and changed at run time through `POST /_sandbox/config`."""

    def __init__(self, model: type[K], values: Mapping[str, Any]) -> None:
        self.model = model
        self.value: K = model.model_validate(dict(values))

    def update(self, changes: Mapping[str, Any]) -> K:
        self.value = self.model.model_validate(self.value.model_dump() | dict(changes))
        return self.value


def knob_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'knobs'}: {e['msg']}" for e in exc.errors())


def install_config_routes(
    app: FastAPI, knobs: KnobHolder[Any], on_change: Callable[[dict[str, Any]], None] | None = None
) -> None:
    """`GET /_sandbox/config` (current knobs), `POST /_sandbox/config` (change some; 422 with the
    reason for an unknown knob or a bad value). `on_change` gets the applied changes, for knobs
    that set state (e.g. initial stock)."""

    @app.get("/_sandbox/config")
    async def get_config() -> dict[str, Any]:
        return dict(knobs.value.model_dump(mode="json"))

    @app.post("/_sandbox/config")
    async def set_config(changes: dict[str, Any]) -> dict[str, Any]:
        try:
            value = knobs.update(changes)
        except ValidationError as exc:
            raise SandboxError(422, knob_errors(exc)) from None
        if on_change is not None:
            on_change(changes)
        return dict(value.model_dump(mode="json"))


# --- webhooks -----------------------------------------------------------------------------------

# A webhook's headers: fixed when it is emitted (signed once), or made by a callable at every
# attempt, for vendors whose signature covers the time of sending (Standard Webhooks).
WebhookHeaders = Mapping[str, str] | Callable[[], Mapping[str, str]]


class WebhookState(StrEnum):
    HELD = "held"  # queued by a hold, waiting for a release
    NOT_DELIVERED = "not_delivered"  # logged but never sent (a webhook lost on the way)
    SENDING = "sending"  # a send is still being attempted
    DELIVERED = "delivered"  # a send was answered with a 2xx
    FAILED = "failed"  # every send gave up


class ReleaseOrder(StrEnum):
    FIFO = "fifo"
    REVERSE = "reverse"


def _choice(kind: type[StrEnumT], value: str, name: str) -> StrEnumT:
    try:
        return kind(value)
    except ValueError:
        *others, last = (member.value for member in kind)
        allowed = f"{', '.join(others)} or {last}"
        raise SandboxError(422, f"{name} must be {allowed}, not {value!r}") from None


@dataclass
class Webhook:
    """One webhook a sandbox was asked to send, kept under its id (the vendor's delivery id). Each
    send of it, the first, a duplicate or a redelivery, is a `Delivery` of the same body under the
    same ids."""

    webhook_id: str
    topic: str
    url: str
    body: bytes
    headers: WebhookHeaders
    delay: float = 0.0
    # Further vendor ids the log shows beside `webhook_id` (Shopify's `event_id`).
    extra: dict[str, str] = field(default_factory=dict)
    queued: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    at: float = field(default_factory=time.time)

    def headers_now(self) -> dict[str, str]:
        return dict(self.headers() if callable(self.headers) else self.headers)

    @property
    def state(self) -> WebhookState:
        if self.queued:
            return WebhookState.HELD
        if not self.deliveries:
            return WebhookState.NOT_DELIVERED
        if any(not d.delivered and not d.gave_up for d in self.deliveries):
            return WebhookState.SENDING
        return WebhookState.DELIVERED if any(d.delivered for d in self.deliveries) else WebhookState.FAILED

    def to_json(self) -> dict[str, Any]:
        last = self.deliveries[-1] if self.deliveries else None
        # Headers made at send time exist once an attempt was made.
        headers = ((last.headers or None) if last else None) if callable(self.headers) else dict(self.headers)
        return {
            "webhook_id": self.webhook_id,
            **self.extra,
            "topic": self.topic,
            "state": self.state.value,
            "url": self.url,
            "headers": headers,
            "body": self.body.decode("utf-8", "replace"),
            "sends": len(self.deliveries),
            "attempts": last.attempts if last else 0,
            "status": last.status if last else None,
            "delivered": any(d.delivered for d in self.deliveries),
            "at": self.at,
        }


class WebhookSender:
    """Delivers signed webhooks to Orderloop the way a vendor does: in the background, retried
    with exponential backoff until a 2xx or `max_attempts`.

    Every webhook is kept under its id, so tests and fault drills can deliver them twice and out
    of order: `hold()` queues deliveries from then on, `release()` sends the queue one at a time,
    `redeliver()` sends one again, `duplicate_all` sends every new one twice."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        max_attempts: int = 8,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 5.0,
        release_wait: float = 5.0,
        log_limit: int = 10_000,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.recorder = recorder
        self.max_attempts = max_attempts
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        # How long a release waits for one delivery before it sends the next one anyway.
        self.release_wait = release_wait
        self.log_limit = log_limit
        self.log: OrderedDict[str, Webhook] = OrderedDict()
        self.queue: list[Webhook] = []
        self.holding = False
        # The topics a hold queues; None: every topic.
        self.hold_topics: frozenset[str] | None = None
        self.duplicate_all = False
        # `transport` lets tests deliver to an app in-process instead of over loopback. One
        # client of one connection per delivery at once (see connectors/http_pool.py).
        self._clients = ClientPool(timeout=timeout, transport=transport)
        self._tasks: set[asyncio.Task[None]] = set()

    def emit(
        self,
        url: str,
        topic: str,
        body: bytes,
        headers: WebhookHeaders,
        *,
        webhook_id: str | None = None,
        extra: Mapping[str, str] | None = None,
        delay: float = 0.0,
        duplicate: bool = False,
        hold: bool = False,
        deliver: bool = True,
    ) -> Webhook:
        """Log a webhook under `webhook_id` (generated when None) and send it after `delay`
        seconds: twice with `duplicate` (or `duplicate_all`), queued instead with `hold` or while
        a hold covers its topic, and only logged with `deliver=False`."""
        webhook = Webhook(webhook_id or uuid.uuid4().hex, str(topic), url, body, headers, delay, dict(extra or {}))
        self.log.pop(webhook.webhook_id, None)
        self.log[webhook.webhook_id] = webhook
        while len(self.log) > self.log_limit:
            self.log.popitem(last=False)
        if deliver:
            for _ in range(2 if duplicate or self.duplicate_all else 1):
                self._dispatch(webhook, hold)
        return webhook

    def webhook(self, webhook_id: str) -> Webhook:
        found = self.log.get(webhook_id)
        if found is None:
            raise SandboxError(404, f"no webhook {webhook_id!r}", hint="GET /_sandbox/webhooks lists the webhook ids")
        return found

    def webhooks(self, topic: str | None = None, state: WebhookState | None = None) -> list[Webhook]:
        """The log, oldest first."""
        return [
            w for w in self.log.values() if (topic is None or w.topic == topic) and (state is None or w.state == state)
        ]

    def hold(self, topics: Collection[str] | None = None) -> None:
        """Queue deliveries from now on (only those of `topics` when given) until `release`."""
        self.holding = True
        self.hold_topics = frozenset(topics) if topics else None

    def release(self, order: ReleaseOrder | str = ReleaseOrder.FIFO) -> list[Webhook]:
        """End the hold and send the queue in `order`, one at a time: each once the previous one
        was answered or gave up (at most `release_wait` seconds), so the receiver sees them in
        that order. Returns the queue in sending order."""
        order = _choice(ReleaseOrder, order, "order")
        queue, self.queue = self.queue, []
        self.holding, self.hold_topics = False, None
        if order is ReleaseOrder.REVERSE:
            queue.reverse()
        self._spawn(self._send_in_turn(queue))
        return queue

    def redeliver(self, webhook_id: str) -> Webhook:
        """The same webhook again, as a vendor's retry: same ids, same body (headers made at send
        time are made afresh). Queued while a hold covers its topic."""
        webhook = self.webhook(webhook_id)
        self._dispatch(webhook)
        return webhook

    def controls(self) -> dict[str, Any]:
        return {
            "holding": self.holding,
            "hold_topics": sorted(self.hold_topics) if self.hold_topics is not None else None,
            "held": len(self.queue),
            "duplicate_all": self.duplicate_all,
        }

    def _dispatch(self, webhook: Webhook, hold: bool = False) -> None:
        if hold or (self.holding and (self.hold_topics is None or webhook.topic in self.hold_topics)):
            webhook.queued += 1
            self.queue.append(webhook)
        else:
            self._start(webhook)

    def _start(self, webhook: Webhook) -> asyncio.Task[None]:
        # Headers made at send time are made by each attempt.
        headers = {} if callable(webhook.headers) else webhook.headers_now()
        delivery = Delivery(url=webhook.url, headers=headers, body=_decode(webhook.body), webhook_id=webhook.webhook_id)
        webhook.deliveries.append(delivery)
        self.recorder.deliveries.append(delivery)
        return self._spawn(self._deliver(webhook, delivery))

    async def _send_in_turn(self, queue: list[Webhook]) -> None:
        for webhook in queue:
            webhook.queued -= 1
            # asyncio.wait, not wait_for: past the bound the delivery goes on retrying.
            await asyncio.wait({self._start(webhook)}, timeout=self.release_wait)

    async def _deliver(self, webhook: Webhook, delivery: Delivery) -> None:
        if webhook.delay:
            await asyncio.sleep(webhook.delay)
        backoff = self.first_backoff
        while delivery.attempts < self.max_attempts:
            delivery.attempts += 1
            delivery.headers = webhook.headers_now()
            try:
                async with self._clients.client() as http:
                    response = await http.post(delivery.url, content=webhook.body, headers=delivery.headers)
                delivery.status = response.status_code
                if response.is_success:
                    delivery.delivered = True
                    return
            except httpx.HTTPError as exc:
                log.info("sandbox.webhook_retry", url=delivery.url, webhook_id=webhook.webhook_id, error=str(exc))
            if delivery.attempts < self.max_attempts:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
        delivery.gave_up = True
        log.warning(
            "sandbox.webhook_gave_up", url=delivery.url, webhook_id=webhook.webhook_id, attempts=delivery.attempts
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for pending deliveries and releases, and what they start (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._clients.aclose()


def install_webhook_routes(app: FastAPI, sender: WebhookSender) -> None:
    """The webhook controls every sandbox has:

    GET  /_sandbox/webhooks?topic=&state=     the log: id(s), topic, state, headers, signed body
    GET  /_sandbox/webhooks/held              the queue, in the order a fifo release sends it
    POST /_sandbox/webhooks/hold?topic=       queue deliveries from now on (of these topics only)
    POST /_sandbox/webhooks/release?order=fifo|reverse   end the hold, send the queue one by one
    POST|DELETE /_sandbox/webhooks/duplicate  send every new webhook twice / once again
    POST /_sandbox/webhooks/{webhook_id}/redeliver       the same webhook again (same ids and body)

    Unknown ids answer 404, a bad `order` or `state` 422."""

    @app.get("/_sandbox/webhooks")
    async def list_webhooks(topic: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        wanted = _choice(WebhookState, state, "state") if state is not None else None
        return [w.to_json() for w in sender.webhooks(topic, wanted)]

    @app.get("/_sandbox/webhooks/held")
    async def held_webhooks() -> list[dict[str, Any]]:
        return [w.to_json() for w in sender.queue]

    @app.post("/_sandbox/webhooks/hold")
    async def hold_webhooks(topic: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        sender.hold(topic)
        return sender.controls()

    @app.post("/_sandbox/webhooks/release")
    async def release_webhooks(order: str = ReleaseOrder.FIFO.value) -> dict[str, Any]:
        released = sender.release(order)
        return {"order": order, "released": [w.to_json() for w in released], **sender.controls()}

    @app.post("/_sandbox/webhooks/duplicate")
    async def duplicate_webhooks() -> dict[str, Any]:
        sender.duplicate_all = True
        return sender.controls()

    @app.delete("/_sandbox/webhooks/duplicate")
    async def single_webhooks() -> dict[str, Any]:
        sender.duplicate_all = False
        return sender.controls()

    @app.post("/_sandbox/webhooks/{webhook_id}/redeliver")
    async def redeliver_webhook(webhook_id: str) -> dict[str, Any]:
        return sender.redeliver(webhook_id).to_json()


class VendorSandbox(Protocol):
    """What every sandbox's state object holds for the kit's controls."""

    recorder: Recorder
    faults: FaultInjector
    knobs: KnobHolder[Any]
    sender: WebhookSender

    async def aclose(self) -> None: ...


def sandbox_app(title: str, sandbox: VendorSandbox) -> FastAPI:
    """The app of a sandbox with every control the kit gives: request recording, the vendor's
    error body, faults, knobs (`knobs_changed(changes)` is called when the sandbox has it),
    webhook controls, and `aclose` at shutdown. The sandbox adds its API routes."""
    app = create_sandbox_app(title, sandbox.recorder)
    app.state.sandbox = sandbox
    install_error_handler(app)
    install_fault_routes(app, sandbox.faults)
    install_config_routes(app, sandbox.knobs, on_change=getattr(sandbox, "knobs_changed", None))
    install_webhook_routes(app, sandbox.sender)
    add_shutdown(app, sandbox.aclose)
    return app
