"""A shipment a fulfillment channel reported outside a webhook (the channel-wide shipment poll,
collected report files), signalled to the order it belongs to. One function for every such
path, so each tells a closed order from one that was never Orderloop's the same way; the order
counts a shipment id once, so a shipment delivered twice ships once."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.workflow_lookup import has_run
from connectors.base import Delivery
from orderloop.contracts import Signals
from orderloop.model import Shipment, ShippingRequest


async def deliver_shipment(client: Client, shipment: Shipment) -> Delivery:
    """Signal `shipment` to its order: DELIVERED, ORDER_CLOSED (the order ran and ended: it
    takes no more shipments) or UNKNOWN_ORDER (the request id is not one of ours, or no such
    order ever ran). Any other Temporal error is raised, so the caller's activity retries."""
    try:
        workflow_id = ShippingRequest.order_id_of(shipment.shipping_request_id)
    except ValueError:
        return Delivery.UNKNOWN_ORDER
    handle = client.get_workflow_handle(workflow_id)
    try:
        await handle.signal(Signals.SHIPMENT, shipment)
    except RPCError as err:
        if err.status is not RPCStatusCode.NOT_FOUND:
            raise
        return Delivery.ORDER_CLOSED if await has_run(client, workflow_id) else Delivery.UNKNOWN_ORDER
    return Delivery.DELIVERED
