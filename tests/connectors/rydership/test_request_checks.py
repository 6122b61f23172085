"""The RyderShip connector reads a sent request back for the shipment poll: open as sent, cancelled
in RyderShip's UI (with its webhook lost), its items or address changed there (no webhook), or
unknown."""

from __future__ import annotations

from orderloop.activity_models import RequestCondition
from tests.connectors.rydership.conftest import Harness, shipping_request


async def test_an_order_as_sent_is_open_and_one_cancelled_in_the_ui_is_cancelled(harness: Harness) -> None:
    await harness.control("POST", "config", json={"deliver_webhooks": False})
    request = shipping_request("4101")
    receipt = await harness.connector.create_shipping_request(request)
    assert (await harness.connector.check_shipping_request(request, receipt.vendor_id)).condition is (
        RequestCondition.OPEN
    )
    await harness.control("POST", f"cancel/{request.id}")
    check = await harness.connector.check_shipping_request(request, None)
    assert check.condition is RequestCondition.CANCELLED
    assert check.detail == "cancelled at the vendor (status Cancelled)"
    assert harness.receiver.received == []


async def test_items_and_address_changed_in_the_ui_are_a_change_with_the_diff(harness: Harness) -> None:
    request = shipping_request("4102")
    receipt = await harness.connector.create_shipping_request(request)
    edit = {"items": {"TSHIRT-BLK-M": 1, "POSTER-A2": 1}, "shipping": {"shipping_zip": "10002"}}
    await harness.control("POST", f"edit/{request.id}", json=edit)
    check = await harness.connector.check_shipping_request(request, receipt.vendor_id)
    assert check.condition is RequestCondition.CHANGED
    sent_zip = request.shipping_address.zip_code_or_postal_code
    assert check.detail == (
        f"POSTER-A2: 0 sent, 1 at the vendor; TSHIRT-BLK-M: 2 sent, 1 at the vendor; "
        f"zip_code_or_postal_code: {sent_zip!r} sent, '10002' at the vendor"
    )


async def test_an_edit_after_pick_is_refused_and_an_unknown_order_is_missing(harness: Harness) -> None:
    request = shipping_request("4103")
    await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"pick/{request.id}")
    refused = await harness.http.post(f"/_sandbox/edit/{request.id}", json={"items": {"MUG-11OZ": 5}})
    assert refused.status_code == 422 and "Picked" in refused.text
    check = await harness.connector.check_shipping_request(shipping_request("4104"), None)
    assert check.condition is RequestCondition.MISSING
    gone = await harness.connector.check_shipping_request(shipping_request("4105"), "4999999")
    assert (gone.condition, gone.detail) == (
        RequestCondition.MISSING,
        "the vendor no longer knows RyderShip order 4999999",
    )
