"""The ShipBob connector reads a sent request back for the shipment poll: open as sent, its
products changed or the order cancelled in ShipBob's dashboard (no webhook), or unknown."""

from __future__ import annotations

from orderloop.activity_models import RequestCondition
from tests.connectors.shipbob.conftest import Harness, shipping_request


async def test_an_order_as_sent_is_open_and_one_cancelled_at_shipbob_is_cancelled(harness: Harness) -> None:
    request = shipping_request("3101")
    receipt = await harness.connector.create_shipping_request(request)
    assert (await harness.connector.check_shipping_request(request, receipt.vendor_id)).condition is (
        RequestCondition.OPEN
    )
    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)  # as the dashboard would
    check = await harness.connector.check_shipping_request(request, None)
    assert check.condition is RequestCondition.CANCELLED


async def test_products_changed_at_shipbob_are_a_change(harness: Harness) -> None:
    request = shipping_request("3102")
    receipt = await harness.connector.create_shipping_request(request)
    changed = shipping_request("3102", lines=(("TSHIRT-BLK-M", 3), ("MUG-11OZ", 1)))
    check = await harness.connector.check_shipping_request(changed, receipt.vendor_id)
    assert check.condition is RequestCondition.CHANGED
    assert check.detail == "TSHIRT-BLK-M: 3 sent, 2 at the vendor"


async def test_an_order_shipbob_does_not_know_is_missing(harness: Harness) -> None:
    check = await harness.connector.check_shipping_request(shipping_request("3103"), None)
    assert check.condition is RequestCondition.MISSING
