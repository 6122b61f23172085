"""What every contract harness does the same way: build the channel with its secrets in the
environment, serve its sandbox in-process (its lifespan, an httpx client on an ASGI transport, a
loopback endpoint receiving its webhooks), drive the sandbox kit's controls (`/_sandbox/config`,
`/_sandbox/faults`, webhook redelivery) and wait for what the sandbox delivers. Built on public
entry points only: `create_app(options)` and HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connectors.base import SandboxOptions
from orderloop.config import ChannelConfig
from tests.connectors.webhook_receiver import ReceivedWebhook, WebhookReceiver, running_receiver

WEBHOOK_WAIT = 5.0


def channel_with_secrets(monkeypatch: pytest.MonkeyPatch, secrets: Mapping[str, str], **fields: Any) -> ChannelConfig:
    """A channel as `orderloop.yaml` declares it, the environment variables of its credentials set."""
    for variable, value in secrets.items():
        monkeypatch.setenv(variable, value)
    return ChannelConfig(**fields)


def resigned(webhook: ReceivedWebhook, header: str, signature: str) -> ReceivedWebhook:
    """The same delivery with `header` (its signature) replaced."""
    headers = httpx.Headers(webhook.headers)
    headers[header] = signature
    return ReceivedWebhook(headers, webhook.body)


@dataclass(frozen=True)
class SandboxSession:
    app: FastAPI
    http: httpx.AsyncClient
    receiver: WebhookReceiver

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call a `/_sandbox/...` control (or the API); a refusal is a broken harness."""
        response = await self.http.request(method, path, **kwargs)
        if not response.is_success:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code}: {response.text}")
        return response.json()

    async def configure(self, **knobs: Any) -> None:
        await self.control("POST", "/_sandbox/config", json=knobs)

    async def arm_fault(self, status: int, retry_after: float | None = None) -> None:
        """The kit's fault injector: the next API call answers `status` (with `Retry-After`)."""
        spec: dict[str, Any] = {"status": status, "count": 1}
        if retry_after is not None:
            spec["retry_after"] = retry_after
        await self.control("POST", "/_sandbox/faults", json=spec)

    def mark(self) -> int:
        """A point in the receiver's log; `webhooks_since` returns what arrived after it."""
        return len(self.receiver.received)

    async def webhooks_since(self, mark: int, topic: str, count: int = 1) -> list[ReceivedWebhook]:
        """The `count` deliveries of `topic` received after `mark`, waiting for them to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WEBHOOK_WAIT
        while True:
            found = [w for w in self.receiver.received[mark:] if w.topic == topic]
            if len(found) >= count or loop.time() > deadline:
                return found
            await asyncio.sleep(0.01)

    async def ship(self, path: str, topic: str, redelivered: bool) -> list[ReceivedWebhook]:
        """POST a sandbox's ship control (answering `{"shipments": [...]}`); the webhooks of
        `topic` that report those shipments, as delivered, then (with `redelivered`) the
        redelivery of the last one."""
        mark = self.mark()
        count = len((await self.control("POST", path))["shipments"])
        if redelivered:
            await self.webhooks_since(mark, topic, count)
            await self.redeliver_last(topic)
        return await self.webhooks_since(mark, topic, count + redelivered)

    async def redeliver_last(self, topic: str) -> None:
        """The vendor's retry of the newest webhook of `topic`: same ids, same body."""
        logged = await self.control("GET", "/_sandbox/webhooks", params={"topic": topic})
        await self.control("POST", f"/_sandbox/webhooks/{logged[-1]['webhook_id']}/redeliver")

    async def topic_webhooks(self, mark: int, topic: str, redelivered: bool) -> list[ReceivedWebhook]:
        """The webhook of `topic` sent after `mark`, then (with `redelivered`) its redelivery."""
        first = await self.webhooks_since(mark, topic)
        if not redelivered:
            return first
        await self.redeliver_last(topic)
        return await self.webhooks_since(mark, topic, count=2)


@asynccontextmanager
async def open_sandbox(
    channel: ChannelConfig, create_app: Callable[[SandboxOptions], FastAPI], **knobs: Any
) -> AsyncIterator[SandboxSession]:
    """The channel's sandbox with `knobs`, delivering its webhooks to a loopback receiver."""
    async for receiver in running_receiver(f"/webhooks/{channel.id}"):
        app = create_app(SandboxOptions(channel=channel, webhook_url=receiver.url, knobs=knobs))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=channel.sandbox_base_url) as http,
        ):
            yield SandboxSession(app=app, http=http, receiver=receiver)


class KitFaults:
    """Harness moves through the kit's fault injector: an outage (503) and, for vendors whose
    429 carries `Retry-After` (Orderloop's own scheme), their rate limit. A vendor with its own
    limiter or header overrides `arm_rate_limit` and `retry_header`; one whose throttling is not
    a 429 header (Logiwa's 403 with the delay in its body) overrides `throttle_delay`."""

    session: SandboxSession
    retry_header = "Retry-After"
    signs_body = True
    refuses_in_body = False
    pushes_shipments = True

    def throttle_delay(self, response: httpx.Response) -> float | None:
        return float(response.headers[self.retry_header]) if response.status_code == 429 else None

    async def arm_rate_limit(self) -> None:
        await self.session.arm_fault(429, retry_after=7)

    async def arm_unavailable(self) -> None:
        await self.session.arm_fault(503)
