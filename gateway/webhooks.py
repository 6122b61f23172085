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
from gateway.deps import Inbound, Orders, Returns, State, Stock
from gateway.errors import GatewayError
from gateway.exchange_intake import WebhookExchange
from gateway.order_service import OrderService, WorkflowMissing
from gateway.return_service import ReturnService
from gateway.state import GatewayState
from gateway.stock_service import StockService
from orderloop.channel_cases import unmatched_case_notices
from orderloop.contracts import (
    ChannelCancel,
    ChannelEdit,
    ChannelException,
    FulfillmentCancel,
    Signals,
    order_workflow_id,
)
from orderloop.contracts.names import ReturnSignals
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
    returns: Returns,
    channel_id: Annotated[str, Path(max_length=64)],
    content_type: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    exchange = WebhookExchange(state.exchange_log, channel_id, request.url.path)
    try:
        answer = await _receive(request, state, orders, intake, stock, returns, channel_id, content_type, exchange)
    except Exception as exc:
        # Refused (bad signature, unknown channel) or failed (Temporal down): the error handlers
        # answer with the exception's status; the log keeps that status and the reason.
        status = getattr(exc, "status_code", 500)
        reason = exc.message if isinstance(exc, GatewayError) else str(exc)
        exchange.done(status if isinstance(status, int) else 500, None, reason)
        raise
    exchange.done(answer.status_code, bytes(answer.body))
    return answer


async def _receive(
    request: Request,
    state: GatewayState,
    orders: OrderService,
    intake: Intake,
    stock: StockService,
    returns: ReturnService,
    channel_id: str,
    content_type: str | None,
    exchange: WebhookExchange,
) -> JSONResponse:
    connector = state.connectors.get(channel_id)
    if connector is None:
        known = ", ".join(sorted(state.connectors))
        raise GatewayError(404, f"unknown channel {channel_id!r}", f"configured channels: {known}")
    if content_type and "json" not in content_type.lower():
        raise GatewayError(415, f"content type {content_type!r} is not JSON", "send application/json")
    body = await _read_body(request, state.settings.max_body_bytes)
    exchange.body = body
    event = connector.parse_webhook(request.headers, body)
    exchange.event = event
    bound = log.bind(channel=channel_id, event=str(event.kind), event_id=event.event_id)
    if await intake.seen_delivery(channel_id, event.event_id):
        # A redelivery is answered before the vendor is asked to confirm it again: a vendor
        # whose webhooks are thin (BigCommerce) would spend its API quota reading it back.
        answer = _duplicate_delivery(bound)
    else:
        try:
            event = await connector.confirm_event(event)
        except ConnectorError as exc:
            raise GatewayError(503, f"could not confirm the event with the channel: {exc}", "retry later") from exc
        exchange.event = event
        bound = bound.bind(event=str(event.kind), event_id=event.event_id)
        answer = await HANDLERS[event.kind](Webhook(channel_id, event, orders, intake, stock, bound, returns))
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
    returns: ReturnService


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


async def _order_exception(hook: Webhook) -> JSONResponse:
    """A case the channel raised on an order (a dispute, a buyer's cancellation request): the
    running order opens it; for an order Orderloop does not run (closed, or never received) it
    is reported to the playbook's sinks for its kind, never dropped. Once per delivery."""
    event = hook.event
    case = event.channel_exception
    if case is None or not event.external_order_id:
        raise GatewayError(400, "an order exception names no order or no case")
    if case.event_id is None and event.event_id is not None:
        case = case.model_copy(update={"event_id": event.event_id})
    workflow_id = order_workflow_id(hook.channel_id, event.external_order_id)

    async def handle() -> JSONResponse:
        try:
            await hook.orders.signal(workflow_id, Signals.CHANNEL_EXCEPTION, case)
        except WorkflowMissing:
            return await _report_unmatched(hook, workflow_id, case)
        hook.log.info("webhook.channel_exception", workflow_id=workflow_id, kind=case.kind, reference=case.reference)
        return _answer("accepted", 202, workflowId=workflow_id)

    return await _once(hook, handle)


async def _report_unmatched(hook: Webhook, workflow_id: str, case: ChannelException) -> JSONResponse:
    closed = await hook.orders.exists(workflow_id)
    where = "is already closed" if closed else "was never received by Orderloop"
    state = hook.orders.state
    external_id = hook.event.external_order_id or ""
    queued = unmatched_case_notices(state.config, hook.channel_id, workflow_id, external_id, case, closed)
    await state.ledger.queue_notices(queued)
    hook.log.warning(
        "webhook.channel_exception_unmatched",
        workflow_id=workflow_id,
        kind=case.kind,
        reference=case.reference,
        closed=closed,
        sinks=[q.sink for q in queued],
    )
    detail = f"order {workflow_id} {where}: the case is reported to {len(queued)} sink(s)"
    return _answer("reported", 202, workflowId=workflow_id, detail=detail)


async def _return_requested(hook: Webhook) -> JSONResponse:
    """A customer's return request starts its return workflow once (by its id, and the ledger's
    record of it after Temporal's retention)."""
    event = hook.event
    if not event.external_return_id:
        raise GatewayError(400, "the event names no return id")
    accepted = await hook.returns.intake.requested(
        hook.channel_id, event.external_return_id, event.payload, event.event_id, event.external_order_id
    )
    hook.log.info("webhook.return", workflow_id=accepted.workflow_id, started=accepted.started)
    if accepted.started:
        return _answer("accepted", 202, workflowId=accepted.workflow_id)
    return _answer("duplicate", workflowId=accepted.workflow_id)


async def _return_progress(hook: Webhook) -> JSONResponse:
    """A label, the parcel in transit, a cancel: applied by the return once (by delivery id)."""
    progress = hook.event.return_progress
    if progress is None:
        raise GatewayError(400, "return progress without the return it concerns")
    return await _signal_return(hook, progress.return_id, ReturnSignals.PROGRESS, progress)


async def _return_received(hook: Webhook) -> JSONResponse:
    receipt = hook.event.return_receipt
    if receipt is None:
        raise GatewayError(400, "return receipt without the return it concerns")
    return await _signal_return(hook, receipt.return_id, ReturnSignals.RECEIPT, receipt)


async def _signal_return(hook: Webhook, workflow_id: str, name: str, message: Any) -> JSONResponse:
    try:
        await hook.returns.signal(workflow_id, name, message)
    except WorkflowMissing:
        if await hook.returns.state.ledger.return_record(workflow_id) is not None:
            hook.log.info("webhook.return_closed", workflow_id=workflow_id)
            return _answer("ignored", detail=f"return {workflow_id} is already closed")
        raise GatewayError(
            404, f"no return {workflow_id}", "the return was never requested through Orderloop"
        ) from None
    hook.log.info("webhook.signalled", workflow_id=workflow_id, signal=name)
    return _answer("accepted", 202, workflowId=workflow_id)


async def _inventory(hook: Webhook) -> JSONResponse:
    async def apply() -> JSONResponse:
        report = (await hook.stock.apply(hook.channel_id, hook.event.stock)).model_dump(mode="json")
        hook.log.info("webhook.inventory", report=report)
        return _answer("applied", report=report)

    return await _once(hook, apply)


async def _ignored(hook: Webhook) -> JSONResponse:
    """Answered with the connector's reason where it gives one (a BigCommerce order whose status
    may not ship yet), so the sender's log and Orderloop's say why nothing started. An order the
    channel holds back has its hold recorded by the intake (listed at `GET /api/holds`)."""
    event = hook.event
    detail = event.detail or f"{event.kind} events need no action"
    if event.hold is not None and event.external_order_id:
        received = await hook.intake.held_order(hook.channel_id, event.event_id, event.external_order_id, event.hold)
        if received.outcome is Outcome.DUPLICATE_DELIVERY:
            return _duplicate(hook)
        held = received.outcome is Outcome.HELD
        hook.log.info(
            "webhook.order_held" if held else "webhook.ignored", order_id=event.external_order_id, detail=detail
        )
        return _answer("ignored", detail=detail)

    async def ignore() -> JSONResponse:
        hook.log.info("webhook.ignored", order_id=event.external_order_id, detail=detail)
        return _answer("ignored", detail=detail)

    return await _once(hook, ignore)


async def _once(hook: Webhook, handle: Callable[[], Awaitable[JSONResponse]]) -> JSONResponse:
    """`handle`'s answer, unless the intake has seen this delivery before."""
    answer = await hook.intake.delivery(hook.channel_id, hook.event.event_id, handle)
    return _duplicate(hook) if answer is None else answer


def _duplicate(hook: Webhook) -> JSONResponse:
    return _duplicate_delivery(hook.log)


def _duplicate_delivery(bound: Any) -> JSONResponse:
    bound.info("webhook.duplicate_delivery")
    return _answer("duplicate", detail="this delivery was processed before")


HANDLERS: dict[InboundKind, Callable[[Webhook], Awaitable[JSONResponse]]] = {
    **dict.fromkeys(_ORDER_EVENTS, _order_event),
    InboundKind.SHIPMENT: _shipment,
    InboundKind.SHIPMENT_CANCELLED: _shipment_cancelled,
    InboundKind.FULFILLMENT_UPDATE: _fulfillment_update,
    InboundKind.INVENTORY: _inventory,
    InboundKind.IGNORED: _ignored,
    InboundKind.RETURN_REQUESTED: _return_requested,
    InboundKind.RETURN_PROGRESS: _return_progress,
    InboundKind.RETURN_RECEIVED: _return_received,
    InboundKind.ORDER_EXCEPTION: _order_exception,
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
