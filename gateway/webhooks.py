"""`POST /webhooks/{channel_id}`: every inbound event of a channel, selling or fulfillment.

Verified and parsed by the channel's connector, then turned into a workflow start (new order)
or a signal (edit, cancel, shipment). The answer is immediate; a 5xx means nothing was accepted,
so the sender's retry is safe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse

from connectors.base import ConnectorError, InboundEvent, InboundKind
from gateway.deps import Inbound, Orders, State, Stock
from gateway.errors import GatewayError
from gateway.order_service import OrderService, WorkflowMissing
from gateway.stock_service import StockService
from orderloop.contracts import ChannelCancel, ChannelEdit, FulfillmentCancel, Signals
from orderloop.model import ShippingRequest
from orderloop.order_intake import Intake, OrderEvent, Outcome

log = structlog.get_logger("orderloop.gateway")
router = APIRouter(tags=["webhooks"])

_ORDER_EVENTS = {
    InboundKind.ORDER_CREATED: OrderEvent.CREATED,
    InboundKind.ORDER_UPDATED: OrderEvent.UPDATED,
    InboundKind.ORDER_CANCELLED: OrderEvent.CANCELLED,
}


def _answer(status: str, code: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": status, **extra}, status_code=code)


@router.post(
    "/webhooks/{channel_id}",
    summary="Receive a channel's webhook",
    responses={
        202: {"description": "order accepted (workflow started)"},
        400: {"description": "unparseable body"},
        401: {"description": "bad signature"},
        404: {"description": "unknown channel"},
        413: {"description": "body too large"},
        415: {"description": "not JSON"},
        503: {"description": "Temporal unreachable: nothing accepted, retry"},
    },
)
async def receive_webhook(
    request: Request,
    state: State,
    orders: Orders,
    intake: Inbound,
    stock: Stock,
    channel_id: Annotated[str, Path(max_length=64)],
    content_type: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    connector = state.connectors.get(channel_id)
    if connector is None:
        known = ", ".join(sorted(state.connectors))
        raise GatewayError(404, f"unknown channel {channel_id!r}", f"configured channels: {known}")
    if content_type and "json" not in content_type.lower():
        raise GatewayError(415, f"content type {content_type!r} is not JSON", "send application/json")
    body = await _read_body(request, state.settings.max_body_bytes)
    event = connector.parse_webhook(request.headers, body)
    try:
        event = await connector.confirm_event(event)
    except ConnectorError as exc:
        raise GatewayError(503, f"could not confirm the event with the channel: {exc}", "retry later") from exc
    bound = log.bind(channel=channel_id, event=str(event.kind), event_id=event.event_id)
    answer = await HANDLERS[event.kind](Webhook(channel_id, event, orders, intake, stock, bound))
    # The vendor's own acknowledgement where it wants one (its retries depend on it).
    acknowledged = connector.acknowledgement(answer.status_code)
    return answer if acknowledged is None else JSONResponse(acknowledged[1], status_code=acknowledged[0])


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body (signatures cover the exact bytes), refused with 413 as soon as it is known
    to exceed `limit`: from Content-Length before reading, or while streaming."""
    hint = f"webhook bodies are limited to {limit} bytes (ORDERLOOP_MAX_BODY_BYTES)"
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise GatewayError(413, f"body of {declared} bytes exceeds {limit}", hint)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise GatewayError(413, f"body exceeds {limit} bytes", hint)
    return bytes(body)


@dataclass(frozen=True)
class Webhook:
    """One verified delivery and what its handler may use."""

    channel_id: str
    event: InboundEvent
    orders: OrderService
    intake: Intake
    stock: StockService
    log: Any


async def _order_event(hook: Webhook) -> JSONResponse:
    """A new order starts its workflow (so does an edit of one whose creation never came); an
    edit or cancel of an accepted order signals it. The intake owns the delivery's "seen"."""
    event = hook.event

    async def signal(workflow_id: str) -> JSONResponse:
        if event.kind is InboundKind.ORDER_UPDATED:
            edit = ChannelEdit(raw_payload=event.payload, event_id=event.event_id, updated_at=event.occurred_at)
            return await _signal(hook.orders, workflow_id, Signals.CHANNEL_EDIT, edit, hook.log)
        reason = event.detail or "cancelled by the selling channel"
        cancel = ChannelCancel(event_id=event.event_id, reason=reason, updated_at=event.occurred_at)
        return await _signal(hook.orders, workflow_id, Signals.CHANNEL_CANCEL, cancel, hook.log)

    received = await hook.intake.order_event(
        hook.channel_id, _ORDER_EVENTS[event.kind], event.event_id, event.external_order_id, event.payload, signal
    )
    match received.outcome:
        case Outcome.DUPLICATE_DELIVERY:
            return _duplicate(hook)
        case Outcome.NO_ORDER_ID:
            raise GatewayError(400, "the event names no order id")
        case Outcome.CANCEL_UNKNOWN:
            hook.log.info("webhook.cancel_unknown_order", workflow_id=received.workflow_id)
            return _answer("ignored", detail="no such order was received; nothing to cancel")
        case Outcome.SIGNALLED:
            assert received.answer is not None
            return received.answer
    started = received.outcome is Outcome.STARTED
    hook.log.info("webhook.order", workflow_id=received.workflow_id, started=started)
    return _answer("accepted" if started else "duplicate", 202 if started else 200, workflowId=received.workflow_id)


# Shipment events are applied by the order workflow once however often they come (a shipment
# counts once by its id; a cancel of a request no longer open is ignored): their delivery ids are
# neither looked up nor recorded, which spares the ledger a read and a write on every shipment. A
# re-delivery costs a signal the workflow ignores, or, once the order is closed, an "ignored" answer.


async def _shipment(hook: Webhook) -> JSONResponse:
    shipment = hook.event.shipment
    if shipment is None:
        raise GatewayError(400, "shipment event without a shipment")
    workflow_id = _order_of(shipment.shipping_request_id, "shipments")
    return await _signal(hook.orders, workflow_id, Signals.SHIPMENT, shipment, hook.log)


async def _shipment_cancelled(hook: Webhook) -> JSONResponse:
    event = hook.event
    request_id = event.shipping_request_id or ""
    workflow_id = _order_of(request_id, "cancellations")
    reason = event.detail or "cancelled by the fulfillment channel"
    cancel = FulfillmentCancel(request_id=request_id, reason=reason, event_id=event.event_id)
    return await _signal(hook.orders, workflow_id, Signals.SHIPPING_REQUEST_CANCELLED, cancel, hook.log)


async def _fulfillment_update(hook: Webhook) -> JSONResponse:
    """A 3PL's hold, release or delivery of a request: applied by the order once (a hold open is
    kept, a delivery recorded once), so, like shipments, its delivery id is not recorded."""
    update = hook.event.fulfillment
    if update is None:
        raise GatewayError(400, "fulfillment update without the shipping request it concerns")
    workflow_id = _order_of(update.request_id, "holds and deliveries")
    return await _signal(hook.orders, workflow_id, Signals.FULFILLMENT_UPDATE, update, hook.log)


def _order_of(request_id: str, what: str) -> str:
    """The order workflow a shipping request id belongs to; 400 when it is not one of ours."""
    try:
        return ShippingRequest.order_id_of(request_id)
    except ValueError as exc:
        raise GatewayError(400, str(exc), f"report {what} against Orderloop's shipping request id") from exc


async def _inventory(hook: Webhook) -> JSONResponse:
    async def apply() -> JSONResponse:
        report = (await hook.stock.apply(hook.channel_id, hook.event.stock)).model_dump(mode="json")
        hook.log.info("webhook.inventory", report=report)
        return _answer("applied", report=report)

    return await _once(hook, apply)


async def _ignored(hook: Webhook) -> JSONResponse:
    async def ignore() -> JSONResponse:
        hook.log.info("webhook.ignored")
        return _answer("ignored", detail=f"{hook.event.kind} events need no action")

    return await _once(hook, ignore)


async def _once(hook: Webhook, handle: Callable[[], Awaitable[JSONResponse]]) -> JSONResponse:
    """`handle`'s answer, unless the intake has seen this delivery before."""
    answer = await hook.intake.delivery(hook.channel_id, hook.event.event_id, handle)
    return _duplicate(hook) if answer is None else answer


def _duplicate(hook: Webhook) -> JSONResponse:
    hook.log.info("webhook.duplicate_delivery")
    return _answer("duplicate", detail="this delivery was processed before")


HANDLERS: dict[InboundKind, Callable[[Webhook], Awaitable[JSONResponse]]] = {
    **dict.fromkeys(_ORDER_EVENTS, _order_event),
    InboundKind.SHIPMENT: _shipment,
    InboundKind.SHIPMENT_CANCELLED: _shipment_cancelled,
    InboundKind.FULFILLMENT_UPDATE: _fulfillment_update,
    InboundKind.INVENTORY: _inventory,
    InboundKind.IGNORED: _ignored,
}


async def _signal(orders: OrderService, workflow_id: str, name: str, message: Any, bound: Any) -> JSONResponse:
    try:
        await orders.signal(workflow_id, name, message)
    except WorkflowMissing:
        if await orders.exists(workflow_id):
            bound.info("webhook.order_closed", workflow_id=workflow_id)
            return _answer("ignored", detail=f"order {workflow_id} is already closed")
        raise GatewayError(404, f"no order {workflow_id}", "the order was never received by Orderloop") from None
    bound.info("webhook.signalled", workflow_id=workflow_id, signal=name)
    return _answer("accepted", 202, workflowId=workflow_id)
