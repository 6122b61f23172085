"""The selling-channel contract of the connectors whose documents travel as files
(`ConnectorSpec.speaks_files`: EDI), run against each one's sandbox partner: an order document
dropped in the inbox polls to one order that maps to a valid onX order and is acknowledged; the
same document re-sent yields nothing new and no second acknowledgement; a malformed one yields
no order, is answered with a rejection and kept for operators; every document in the inbox is
read, each order once; tracking is told once per shipment; an inventory push reaches the partner
(a sold-out SKU as 0); an unreachable exchange is retryable and loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.vendor_errors import vendor_call
from connectors.base import RetryableError
from orderloop.model import Shipment, ShipmentLine
from tests.connectors.contract.roles import FileSellingHarness
from tests.connectors.contract.steps import RECEIVED_AT, TENANT
from tests.connectors.contract.test_selling import onx_validator


def since() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


async def test_a_dropped_order_polls_to_one_valid_onx_order_and_is_acknowledged(
    file_selling: FileSellingHarness,
) -> None:
    external_id = await file_selling.drop_order()

    [polled] = await file_selling.connector.poll_orders(since())

    assert polled.external_id == external_id and not polled.cancelled
    order = file_selling.connector.map_order(
        polled.payload, order_id=f"order/x/{external_id}", tenant_id=TENANT, received_at=RECEIVED_AT
    )
    onx_validator("order").validate(order.to_onx())
    assert len(order.line_items) >= 2
    assert await file_selling.acknowledgements() == ["accepted"]


async def test_a_resent_document_yields_nothing_new_and_no_second_acknowledgement(
    file_selling: FileSellingHarness,
) -> None:
    await file_selling.drop_order()
    await file_selling.connector.poll_orders(since())
    after = datetime.now(UTC)
    await file_selling.resend_last()

    assert await file_selling.connector.poll_orders(after) == []
    assert await file_selling.acknowledgements() == ["accepted"]


async def test_a_malformed_document_is_rejected_and_kept_for_operators(file_selling: FileSellingHarness) -> None:
    await file_selling.drop_malformed()

    assert await file_selling.connector.poll_orders(since()) == []
    assert await file_selling.acknowledgements() == ["rejected"]
    assert await file_selling.rejections() == 1


async def test_the_poll_reads_every_document_in_the_inbox_each_order_once(file_selling: FileSellingHarness) -> None:
    placed = [await file_selling.drop_order() for _ in range(3)]

    first = await file_selling.connector.poll_orders(since())
    second = await file_selling.connector.poll_orders(datetime.now(UTC))

    assert sorted(p.external_id for p in first) == sorted(placed) and second == []
    assert await file_selling.acknowledgements() == ["accepted"] * 3


async def test_tracking_is_told_once_per_shipment(file_selling: FileSellingHarness) -> None:
    external_id = await file_selling.drop_order()
    [polled] = await file_selling.connector.poll_orders(since())
    order = file_selling.connector.map_order(
        polled.payload, order_id=f"order/x/{external_id}", tenant_id=TENANT, received_at=RECEIVED_AT
    )
    parcel = Shipment(
        id=f"{external_id}-parcel",
        shipping_request_id=f"order/x/{external_id}/sr1",
        line_items=[ShipmentLine(sku=line.sku, quantity=line.quantity, line_id=line.id) for line in order.line_items],
        tracking_numbers=["1Z999AA10123456784"],
        shipping_carrier="UPS",
    )

    told = await file_selling.connector.push_shipment(order, parcel)
    told_again = await file_selling.connector.push_shipment(order, parcel)

    assert told and told_again is None
    assert await file_selling.shipment_notices(external_id) == 1


async def test_an_unreachable_exchange_is_retryable_and_loses_nothing(file_selling: FileSellingHarness) -> None:
    external_id = await file_selling.drop_order()
    await file_selling.arm_unavailable()
    with pytest.raises(RetryableError):
        await file_selling.connector.poll_orders(since())
    await file_selling.arm_unavailable()
    with pytest.raises(ApplicationError) as raised, vendor_call("ChannelRejected"):  # as the poll activity calls it
        await file_selling.connector.poll_orders(since())
    assert not raised.value.non_retryable

    [polled] = await file_selling.connector.poll_orders(since())  # the exchange is back
    assert polled.external_id == external_id


async def test_an_inventory_push_reaches_the_partner(file_selling: FileSellingHarness) -> None:
    quantities = {sku: 7 + n for n, sku in enumerate(file_selling.inventory_skus)}
    await file_selling.connector.push_inventory(quantities)
    assert await file_selling.advised_quantities() == quantities

    sold_out = {file_selling.inventory_skus[0]: 0}
    await file_selling.connector.push_inventory(sold_out)
    assert await file_selling.advised_quantities() == quantities | sold_out
