"""`POST /webhooks/{channel_id}`: every inbound event of a channel, selling or fulfillment.

Verified and parsed by the channel's connector, then turned into a workflow start (new order)
or a signal (edit, cancel, shipment). The answer is immediate; a 5xx means nothing was accepted,
so the sender's retry is safe."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse

from connectors.base import InboundEvent, InboundKind
from gateway.deps import Orders, State
from gateway.errors import GatewayError
from gateway.order_service import OrderService, WorkflowMissing
from orderloop.contracts import ChannelCancel, ChannelEdit, FulfillmentCancel, Signals, order_workflow_id
from orderloop.ledger import InboundSeen
from orderloop.model import ShippingRequest
from orderloop.stock_reports import apply_stock_rows

log = structlog.get_logger("orderloop.gateway")
router = APIRouter(tags=["webhooks"])

_ORDER_EVENTS = frozenset({InboundKind.ORDER_CREATED, InboundKind.ORDER_UPDATED, InboundKind.ORDER_CANCELLED})
# Events the order workflow applies once however often they come (a shipment counts once by its
# id; a cancel of a request no longer open is ignored): their delivery ids are neither looked up
# nor recorded, which spares the ledger a read and a write on every shipment. A re-delivery
# costs a signal the workflow ignores, or, once the order is closed, an "ignored" answer.
_IDEMPOTENT_EVENTS = frozenset({InboundKind.SHIPMENT, InboundKind.SHIPMENT_CANCELLED})


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
    bound = log.bind(channel=channel_id, event=str(event.kind), event_id=event.event_id)
    delivery = event.event_id if event.kind not in _IDEMPOTENT_EVENTS else None
    # An order event's order is looked up in the same read (was it accepted before?).
    order = event.external_order_id if event.kind in _ORDER_EVENTS else None
    seen = await state.ledger.inbound_seen(channel_id, delivery, order) if delivery or order else InboundSeen()
    if seen.delivery:
        bound.info("webhook.duplicate_delivery")
        return _answer("duplicate", detail="this delivery was processed before")
    response, recorded = await _dispatch(orders, channel_id, event, bound, seen.accepted_workflow_id)
    if delivery and not recorded:
        await state.ledger.record_delivery(channel_id, delivery)
    return response


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


async def _dispatch(
    orders: OrderService, channel_id: str, event: InboundEvent, bound: Any, accepted: str | None
) -> tuple[JSONResponse, bool]:
    """The answer, and whether the delivery was recorded as seen on the way (an order start
    records it with the accepted order, in one write). `accepted`: the workflow id an order
    event's order was accepted under, as the ledger said just before (None: not accepted)."""
    kind = event.kind
    if kind in _ORDER_EVENTS:
        if not event.external_order_id:
            raise GatewayError(400, "the event names no order id")
        external_id = event.external_order_id
        workflow_id = order_workflow_id(channel_id, external_id)
        if kind is InboundKind.ORDER_CREATED or not accepted:
            if kind is InboundKind.ORDER_CANCELLED:
                bound.info("webhook.cancel_unknown_order", workflow_id=workflow_id)
                return _answer("ignored", detail="no such order was received; nothing to cancel"), False
            # An update for an order whose creation we never saw starts it (missed webhook).
            workflow_id, started = await orders.start_order(
                channel_id, external_id, event.payload, event.event_id, accepted=accepted is not None
            )
            bound.info("webhook.order", workflow_id=workflow_id, started=started)
            answer = _answer("accepted" if started else "duplicate", 202 if started else 200, workflowId=workflow_id)
            return answer, True
        message = (
            ChannelEdit(raw_payload=event.payload, event_id=event.event_id)
            if kind is InboundKind.ORDER_UPDATED
            else ChannelCancel(event_id=event.event_id, reason=event.detail or "cancelled by the selling channel")
        )
        name = Signals.CHANNEL_EDIT if kind is InboundKind.ORDER_UPDATED else Signals.CHANNEL_CANCEL
        return await _signal(orders, workflow_id, name, message, bound), False
    if kind is InboundKind.SHIPMENT:
        shipment = event.shipment
        if shipment is None:
            raise GatewayError(400, "shipment event without a shipment")
        try:
            workflow_id = ShippingRequest.order_id_of(shipment.shipping_request_id)
        except ValueError as exc:
            raise GatewayError(400, str(exc), "report shipments against Orderloop's shipping request id") from exc
        return await _signal(orders, workflow_id, Signals.SHIPMENT, shipment, bound), False
    if kind is InboundKind.SHIPMENT_CANCELLED:
        request_id = event.shipping_request_id or ""
        try:
            workflow_id = ShippingRequest.order_id_of(request_id)
        except ValueError as exc:
            raise GatewayError(400, str(exc), "report cancellations against Orderloop's shipping request id") from exc
        reason = event.detail or "cancelled by the fulfillment channel"
        cancel = FulfillmentCancel(request_id=request_id, reason=reason, event_id=event.event_id)
        return await _signal(orders, workflow_id, Signals.SHIPPING_REQUEST_CANCELLED, cancel, bound), False
    if kind is InboundKind.INVENTORY:
        state = orders.state
        report = await apply_stock_rows(state.config, state.ledger, channel_id, event.stock)
        bound.info("webhook.inventory", report=report.model_dump(mode="json"))
        return _answer("applied", report=report.model_dump(mode="json")), False
    bound.info("webhook.ignored")
    return _answer("ignored", detail=f"{kind} events need no action"), False


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
