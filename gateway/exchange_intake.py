"""The inbound half of the exchange log at the gateway: each webhook delivery, with the body the
vendor sent (redacted when written), the order it concerns where the event names one, and the
answer the gateway gave (its status and body, a refusal's reason too). Queued on the gateway's
`ExchangeRecorder`, written in batches after the answer (orderloop.exchange_log)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connectors.base import InboundEvent
from orderloop.contracts import order_workflow_id
from orderloop.exchange_log import Captured, ExchangeRecorder
from orderloop.exchange_records import ExchangeDirection
from orderloop.model import ShippingRequest

WEBHOOK = "webhook"


def _order_of(channel_id: str, event: InboundEvent) -> str | None:
    if event.external_order_id:
        return order_workflow_id(channel_id, event.external_order_id)
    request_id = event.shipping_request_id or (
        event.shipment.shipping_request_id if event.shipment is not None else None
    )
    if request_id is None and event.fulfillment is not None:
        request_id = event.fulfillment.request_id
    if not request_id:
        return None
    try:
        return ShippingRequest.order_id_of(request_id)
    except ValueError:
        return None


@dataclass
class WebhookExchange:
    """One delivery on its way through the webhook route; `done` queues it."""

    recorder: ExchangeRecorder | None
    channel_id: str
    path: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.perf_counter)
    body: bytes | None = None
    event: InboundEvent | None = None

    def done(self, status: int, answer: bytes | None, error: str | None = None) -> None:
        if self.recorder is None:
            return
        event = self.event
        self.recorder.add(
            Captured(
                at=self.at,
                direction=ExchangeDirection.INBOUND,
                channel_id=self.channel_id,
                operation=WEBHOOK,
                summary=f"webhook {event.kind}" if event is not None else "webhook (not parsed)",
                ok=status < 400,
                duration_ms=round((time.perf_counter() - self.started) * 1000),
                order_id=None if event is None else _order_of(self.channel_id, event),
                method="POST",
                target=self.path,
                status_code=status,
                request_body=self.body,
                response_body=answer,
                error=error,
            )
        )
