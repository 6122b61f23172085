"""`deliver_shipment`: the one path by which a polled or collected shipment reaches its order.
A running order is signalled; an order that ran and ended is told apart from one that never ran
(or a request id that is not Orderloop's); any other Temporal error is raised for the retry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.shipment_delivery import deliver_shipment
from connectors.base import Delivery
from orderloop.contracts import Signals
from orderloop.model import Shipment, ShipmentLine


def shipment(request_id: str) -> Shipment:
    return Shipment(
        id="parcel-1", shipping_request_id=request_id, line_items=[ShipmentLine(sku="MUG-11OZ", quantity=1)]
    )


def not_found(workflow_id: str) -> RPCError:
    return RPCError(f"workflow not found for ID: {workflow_id}", RPCStatusCode.NOT_FOUND, b"")


@dataclass
class Handle:
    workflow_id: str
    server: Server

    async def signal(self, name: str, arg: Any) -> None:
        if self.server.unavailable:
            raise RPCError("server unavailable", RPCStatusCode.UNAVAILABLE, b"")
        if self.workflow_id not in self.server.running:
            raise not_found(self.workflow_id)
        self.server.signals.append((self.workflow_id, name, arg))

    async def describe(self) -> None:
        if self.workflow_id not in self.server.running | self.server.closed:
            raise not_found(self.workflow_id)


@dataclass
class Server:
    running: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    unavailable: bool = False
    signals: list[tuple[str, str, Any]] = field(default_factory=list)

    def get_workflow_handle(self, workflow_id: str) -> Handle:
        return Handle(workflow_id, self)


async def test_a_running_order_is_signalled_the_shipment() -> None:
    server = Server(running={"order/shopify/1001"})

    parcel = shipment("order/shopify/1001/sr1")
    assert await deliver_shipment(cast(Client, server), parcel) is Delivery.DELIVERED
    assert server.signals == [("order/shopify/1001", Signals.SHIPMENT, parcel)]


async def test_a_closed_order_is_told_apart_from_one_that_never_ran() -> None:
    server = Server(closed={"order/shopify/1001"})

    assert await deliver_shipment(cast(Client, server), shipment("order/shopify/1001/sr1")) is Delivery.ORDER_CLOSED
    assert await deliver_shipment(cast(Client, server), shipment("order/shopify/9999/sr1")) is Delivery.UNKNOWN_ORDER
    assert server.signals == []


async def test_a_request_id_that_is_not_orderloops_is_an_unknown_order_without_a_call() -> None:
    server = Server(unavailable=True)  # any call would raise

    assert await deliver_shipment(cast(Client, server), shipment("PO-4471")) is Delivery.UNKNOWN_ORDER


async def test_another_temporal_error_is_raised_for_the_activitys_retry() -> None:
    server = Server(running={"order/shopify/1001"}, unavailable=True)

    with pytest.raises(RPCError) as raised:
        await deliver_shipment(cast(Client, server), shipment("order/shopify/1001/sr1"))
    assert raised.value.status is RPCStatusCode.UNAVAILABLE
