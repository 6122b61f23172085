"""Pieces every vendor sandbox shares: request recording under `/_sandbox/...`, webhook
delivery with the vendor's retry behaviour, and rate-limit windows.

A sandbox is an in-memory FastAPI app emulating one vendor's API. Tests and the demo inspect
what it received over HTTP: `GET /_sandbox/requests`, `GET /_sandbox/deliveries`, and drive it
through `/_sandbox/...` controls: injected faults (`FaultInjector`), run-time knobs
(`KnobHolder`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

import httpx
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    url: str
    headers: dict[str, str]
    body: Any
    attempts: int = 0
    status: int | None = None
    delivered: bool = False
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


def create_sandbox_app(title: str, recorder: Recorder) -> FastAPI:
    """A FastAPI app that records every non-`/_sandbox` request and serves the recordings."""
    app = FastAPI(title=title, docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json")

    @app.middleware("http")
    async def record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        body = await request.body()
        response = await call_next(request)
        if not request.url.path.startswith("/_sandbox"):
            recorder.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=request.url.query,
                    headers={k.lower(): v for k, v in request.headers.items()},
                    body=_decode(body),
                    status=response.status_code,
                    at=time.time(),
                )
            )
        return response

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


class WebhookSender:
    """Delivers signed webhooks to Orderloop the way a vendor does: in the background, retried
    with exponential backoff until a 2xx or `max_attempts`."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        max_attempts: int = 8,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.recorder = recorder
        self.max_attempts = max_attempts
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        # `transport` lets tests deliver to an app in-process instead of over loopback.
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, url: str, body: bytes, headers: Mapping[str, str], delay: float = 0.0) -> Delivery:
        delivery = Delivery(url=url, headers=dict(headers), body=_decode(body))
        self.recorder.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, body, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def _deliver(self, delivery: Delivery, body: bytes, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        backoff = self.first_backoff
        while delivery.attempts < self.max_attempts:
            delivery.attempts += 1
            try:
                response = await self._client.post(delivery.url, content=body, headers=delivery.headers)
                delivery.status = response.status_code
                if response.is_success:
                    delivery.delivered = True
                    return
            except httpx.HTTPError as exc:
                log.info("sandbox.webhook_retry", url=delivery.url, error=str(exc))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)
        log.warning("sandbox.webhook_gave_up", url=delivery.url, attempts=delivery.attempts)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for pending deliveries (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._client.aclose()


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
