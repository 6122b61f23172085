"""Webhook delivery the way vendors do it: signed, in the background, retried with backoff; and
the controls that make deliveries arrive twice, late or out of order (hold, release in order or
reversed, duplicate, redeliver), each webhook kept under the vendor's delivery id."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import httpx
import structlog
from fastapi import FastAPI, Query

from connectors.http_pool import ClientPool
from connectors.sandbox_kit.errors import SandboxError
from connectors.sandbox_kit.recording import Delivery, Recorder, decode_body

log = structlog.get_logger("orderloop.sandbox")
StrEnumT = TypeVar("StrEnumT", bound=StrEnum)

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
        body = decode_body(webhook.body)
        delivery = Delivery(url=webhook.url, headers=headers, body=body, webhook_id=webhook.webhook_id)
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
    """The webhook controls every sandbox has (listed with the others at `GET /_sandbox`).
    Unknown ids answer 404, a bad `order` or `state` 422."""

    @app.get("/_sandbox/webhooks")
    async def list_webhooks(topic: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """?topic=&state=: every webhook under the vendor's delivery id(s), its state, headers and signed body"""
        wanted = _choice(WebhookState, state, "state") if state is not None else None
        return [w.to_json() for w in sender.webhooks(topic, wanted)]

    @app.get("/_sandbox/webhooks/held")
    async def held_webhooks() -> list[dict[str, Any]]:
        """the held queue, in the order a fifo release sends it"""
        return [w.to_json() for w in sender.queue]

    @app.post("/_sandbox/webhooks/hold")
    async def hold_webhooks(topic: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        """?topic=: queue deliveries from now on (of these topics only)"""
        sender.hold(topic)
        return sender.controls()

    @app.post("/_sandbox/webhooks/release")
    async def release_webhooks(order: str = ReleaseOrder.FIFO.value) -> dict[str, Any]:
        """?order=fifo|reverse: end the hold, send the queue one after the other"""
        released = sender.release(order)
        return {"order": order, "released": [w.to_json() for w in released], **sender.controls()}

    @app.post("/_sandbox/webhooks/duplicate")
    async def duplicate_webhooks() -> dict[str, Any]:
        """send every new webhook twice (same ids, same body) from now on"""
        sender.duplicate_all = True
        return sender.controls()

    @app.delete("/_sandbox/webhooks/duplicate")
    async def single_webhooks() -> dict[str, Any]:
        """send every new webhook once again"""
        sender.duplicate_all = False
        return sender.controls()

    @app.post("/_sandbox/webhooks/{webhook_id}/redeliver")
    async def redeliver_webhook(webhook_id: str) -> dict[str, Any]:
        """the same webhook again, as the vendor's retry: same ids, same body"""
        return sender.redeliver(webhook_id).to_json()
