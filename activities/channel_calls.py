"""Activities that call a channel's connector; each runs on that channel's own task queue so
the worker throttles calls to its API and a slow vendor blocks no other."""

from __future__ import annotations

import structlog
from temporalio import activity

from activities.vendor_errors import vendor_call
from connectors.base import AlreadyShippedError, Connector, ShippingRequirements
from connectors.registry import fulfillment, selling
from orderloop import operations_events
from orderloop.activity_models import (
    AcknowledgeInput,
    AcknowledgeResult,
    CancelShippingInput,
    CancelShippingResult,
    ChannelCancelInput,
    ChannelCancelResult,
    ChannelExceptionReplied,
    ChannelExceptionReply,
    ConfirmAllocationInput,
    ConfirmAllocationResult,
    FetchShipmentsInput,
    FetchShipmentsResult,
    PushTrackingInput,
    PushTrackingResult,
    RequestCondition,
    SendResult,
)
from orderloop.config import OrderloopConfig
from orderloop.contracts import Activities, ErrorTypes
from orderloop.documents.shipping import shipping_documents
from orderloop.ledger import Ledger
from orderloop.ledger.base import utc_now
from orderloop.model import ShippingRequest

log = structlog.get_logger("orderloop.activities")


class ChannelActivities:
    def __init__(
        self, connectors: dict[str, Connector], config: OrderloopConfig | None = None, ledger: Ledger | None = None
    ) -> None:
        self.connectors = connectors
        # Where pushed tracking is recorded (orderloop.ledger.operations); none: not recorded.
        self.ledger = ledger
        # The selling channels' requirements handed to the fulfillment connector with each
        # request (none without a configuration).
        self.config = config

    @activity.defn(name=Activities.SEND_SHIPPING_REQUEST)
    async def send_shipping_request(self, request: ShippingRequest) -> SendResult:
        connector = fulfillment(self.connectors, request.fulfillment_channel_id)
        requirements = self._requirements(request)
        # A wholesale request goes with its packing slip and carton labels (rendered here, the
        # same for every attempt); the connector carries them where its vendor takes documents.
        prefix = self.config.documents.gs1_company_prefix if self.config is not None else None
        documents = shipping_documents(request, prefix)
        if documents:
            request = request.model_copy(update={"documents": documents})
        with vendor_call(ErrorTypes.SHIPPING_REQUEST_REJECTED):
            receipt = await connector.create_shipping_request(request, requirements)
        log.info(
            "shipping_request.sent",
            workflow_id=request.order_id,
            request_id=request.id,
            vendor_id=receipt.vendor_id,
            duplicate=receipt.duplicate,
            attempt=activity.info().attempt,
            requirements=requirements.statement() or "packaging notes" if requirements else None,
        )
        return SendResult(
            vendor_id=receipt.vendor_id, duplicate=receipt.duplicate, documents=[d.ref() for d in documents]
        )

    def _requirements(self, request: ShippingRequest) -> ShippingRequirements | None:
        """What the order's selling channel requires of this request's parcel, looked up here
        rather than carried by the request (the workflow builds the request and stays as it
        is): the channel's `requirements` for the request's ship method; None when none."""
        if self.config is None or not self.config.has_channel(request.channel_id):
            return None
        found = self.config.channel(request.channel_id).shipping_requirements(request.shipping_code)
        return None if found.empty else found

    @activity.defn(name=Activities.CANCEL_SHIPPING_REQUEST)
    async def cancel_shipping_request(self, inp: CancelShippingInput) -> CancelShippingResult:
        connector = fulfillment(self.connectors, inp.request.fulfillment_channel_id)
        # A refusal other than "already shipped" is final and typed CancelRefused: the order
        # opens cancel_failed with the vendor's reason (so does a vendor down past the give-up).
        with vendor_call(ErrorTypes.CANCEL_REFUSED):
            try:
                await connector.cancel_shipping_request(inp.request, inp.vendor_id)
            except AlreadyShippedError as exc:
                log.info(
                    "shipping_request.cancel_too_late", workflow_id=inp.request.order_id, request_id=inp.request.id
                )
                return CancelShippingResult(cancelled=False, already_shipped=True, message=str(exc))
        log.info("shipping_request.cancelled", workflow_id=inp.request.order_id, request_id=inp.request.id)
        return CancelShippingResult(cancelled=True, message="cancelled at the fulfillment channel")

    @activity.defn(name=Activities.FETCH_SHIPMENTS)
    async def fetch_shipments(self, inp: FetchShipmentsInput) -> FetchShipmentsResult:
        connector = fulfillment(self.connectors, inp.request.fulfillment_channel_id)
        with vendor_call(ErrorTypes.SHIPPING_REQUEST_REJECTED):
            check = await connector.check_shipping_request(inp.request, inp.vendor_id)
            if check is not None and check.condition is RequestCondition.MISSING:
                shipments = []
            else:
                shipments = await connector.fetch_shipments(inp.request, inp.vendor_id)
        log.info(
            "shipments.polled",
            workflow_id=inp.request.order_id,
            request_id=inp.request.id,
            found=len(shipments),
            request=str(check.condition) if check else None,
        )
        return FetchShipmentsResult(shipments=shipments, check=check)

    @activity.defn(name=Activities.PUSH_TRACKING)
    async def push_tracking(self, inp: PushTrackingInput) -> PushTrackingResult:
        connector = selling(self.connectors, inp.order.channel_id)
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            fulfillment_id = await connector.push_shipment(inp.order, inp.shipment)
        log.info(
            "tracking.pushed",
            workflow_id=inp.order.id,
            shipment_id=inp.shipment.id,
            channel_fulfillment_id=fulfillment_id,
        )
        if self.ledger is not None:
            order = inp.order
            event = operations_events.tracking_pushed(
                order.id, order.channel_id, order.external_id, inp.shipment.id, utc_now()
            )
            await self.ledger.record_operations([event])
        return PushTrackingResult(channel_fulfillment_id=fulfillment_id)

    @activity.defn(name=Activities.CANCEL_ON_CHANNEL)
    async def cancel_on_channel(self, inp: ChannelCancelInput) -> ChannelCancelResult:
        connector = selling(self.connectors, inp.order.channel_id)
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            told = await connector.cancel_order(inp.order, inp.reason)
        log.info("order.cancel_told", workflow_id=inp.order.id, channel_id=inp.order.channel_id, told=told)
        return ChannelCancelResult(told=told)

    @activity.defn(name=Activities.RESOLVE_CHANNEL_EXCEPTION)
    async def resolve_channel_exception(self, reply: ChannelExceptionReply) -> ChannelExceptionReplied:
        connector = selling(self.connectors, reply.order.channel_id)
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            told = await connector.resolve_channel_exception(reply)
        log.info(
            "order.channel_exception_answered",
            workflow_id=reply.order.id,
            channel_id=reply.order.channel_id,
            kind=reply.kind,
            reference=reply.reference,
            decision=str(reply.decision),
            told=told,
        )
        return ChannelExceptionReplied(told=told)

    @activity.defn(name=Activities.ACKNOWLEDGE_ON_CHANNEL)
    async def acknowledge_on_channel(self, inp: AcknowledgeInput) -> AcknowledgeResult:
        connector = selling(self.connectors, inp.order.channel_id)
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            told = await connector.acknowledge_order(inp.order)
        log.info("order.acknowledged", workflow_id=inp.order.id, channel_id=inp.order.channel_id, told=told)
        return AcknowledgeResult(told=told)

    @activity.defn(name=Activities.CONFIRM_ALLOCATION)
    async def confirm_allocation(self, inp: ConfirmAllocationInput) -> ConfirmAllocationResult:
        connector = selling(self.connectors, inp.order.channel_id)
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            told = await connector.confirm_allocation(inp.order, inp.lines)
        log.info(
            "order.allocation_confirmed",
            workflow_id=inp.order.id,
            channel_id=inp.order.channel_id,
            lines={line.line_id: str(line.status) for line in inp.lines},
            told=told,
        )
        return ConfirmAllocationResult(told=told)
