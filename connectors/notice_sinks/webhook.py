"""The signed webhook sink: the batch as JSON, signed like Orderloop's own webhooks
(`X-Orderloop-Signature: sha256=<hex>`, HMAC-SHA256 of the body under the sink's secret), with
the batch's event id in `X-Orderloop-Delivery` for the receiver's dedupe."""

from __future__ import annotations

import json

import httpx

from connectors.notice_sinks.errors import DeliveryError
from connectors.notice_sinks.model import NoticeBatch
from connectors.signing import orderloop_webhook_headers
from orderloop.config import WebhookSink, env_secret


def webhook_body(batch: NoticeBatch) -> bytes:
    return json.dumps(
        {
            "eventId": batch.event_id,
            "kind": batch.kind,
            "level": batch.level,
            "count": len(batch.notices),
            "notices": [n.model_dump(mode="json") for n in batch.notices],
        }
    ).encode()


class WebhookNoticeSink:
    def __init__(self, name: str, config: WebhookSink, http: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.http = http

    async def deliver(self, batch: NoticeBatch) -> None:
        body = webhook_body(batch)
        secret = env_secret(self.config.secret, f"notifications.sinks.{self.name}.secret")
        headers = orderloop_webhook_headers(secret, f"notice.{batch.level}", body, delivery_id=batch.event_id)
        await post(self.http, self.config.url, body, {**headers, "Content-Type": "application/json"})


async def post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST and raise `DeliveryError` unless the receiver answered 2xx."""
    try:
        response = await http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{url}: {type(exc).__name__}: {exc}") from exc
    if not response.is_success:
        raise DeliveryError(f"{url} answered {response.status_code}: {response.text[:200]}")
