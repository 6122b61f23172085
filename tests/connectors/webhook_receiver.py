"""A loopback HTTP/1.1 endpoint standing in for Orderloop's gateway in connector tests: it
answers 200 to every POST and keeps each delivery's headers and raw body in arrival order, so a
test verifies a sandbox's signature over the exact bytes it sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class ReceivedWebhook:
    headers: httpx.Headers
    body: bytes

    @property
    def topic(self) -> str:
        """The event name, whichever header the vendor carries it in."""
        for name in ("x-shopify-topic", "x-orderloop-event", "x-webhook-topic"):
            if name in self.headers:
                return self.headers[name]
        # ShipHero (`webhook_type`), RyderShip (`event_name`), BigCommerce (`scope`) and Amazon's
        # SP-API notifications (`NotificationType`) name the type in the body only; Walmart in
        # `source.eventType`.
        try:
            document = json.loads(self.body)
        except ValueError:
            document = None
        # The B2B portal's Standard Webhooks envelope: `type`.
        for key in ("webhook_type", "event_name", "scope", "NotificationType", "type"):
            if isinstance(document, dict) and isinstance(document.get(key), str):
                return str(document[key])
        # Walmart's notifications: `source.eventType` (ORDER_UPDATES).
        source = document.get("source") if isinstance(document, dict) else None
        if isinstance(source, dict) and isinstance(source.get("eventType"), str):
            return str(source["eventType"])
        raise KeyError("no topic header")


@dataclass
class WebhookReceiver:
    path: str = "/webhooks/test"
    received: list[ReceivedWebhook] = field(default_factory=list)
    url: str = ""
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}{self.path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:  # the sender keeps its connection alive between deliveries
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                lines = [line.split(":", 1) for line in head.split("\r\n")[1:] if line]
                headers = httpx.Headers([(name.strip(), value.strip()) for name, value in lines])
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(ReceivedWebhook(headers, body))
                writer.write(self.response_head())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def response_head(self) -> bytes:
        """The answer to the delivery just received: 200 (a subclass may fail some)."""
        return b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"

    def topics(self) -> list[str]:
        return [w.topic for w in self.received]

    async def aclose(self) -> None:
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def running_receiver(path: str) -> AsyncIterator[WebhookReceiver]:
    """A started receiver for a fixture (`async for r in running_receiver(...): yield r`),
    closed when the fixture ends."""
    receiver = WebhookReceiver(path=path)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.aclose()
