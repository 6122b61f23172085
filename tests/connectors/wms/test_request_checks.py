"""The WMS connector reads a sent request back for the shipment poll: open as sent, changed by
hand in the WMS's UI (lines or address; no webhook), cancelled there, or gone."""

from __future__ import annotations

from orderloop.activity_models import RequestCondition
from tests.connectors.wms.conftest import REQUEST_ID, Wms, shipping_request


async def test_a_request_as_sent_is_open(wms: Wms) -> None:
    receipt = await wms.connector.create_shipping_request(shipping_request())
    check = await wms.connector.check_shipping_request(shipping_request(), receipt.vendor_id)
    assert check.condition is RequestCondition.OPEN


async def test_lines_or_an_address_changed_by_hand_are_a_change_with_the_diff(wms: Wms) -> None:
    await wms.http.post("/_sandbox/config", json={"auto_ship": False})
    receipt = await wms.connector.create_shipping_request(shipping_request())
    lines = [{"id": "li_1", "sku": "TSHIRT-BLK-M", "quantity": 1}, {"id": "li_2", "sku": "MUG-11OZ", "quantity": 1}]
    await wms.http.post(f"/_sandbox/edit/{REQUEST_ID}", json={"lineItems": lines})
    check = await wms.connector.check_shipping_request(shipping_request(), receipt.vendor_id)
    assert check.condition is RequestCondition.CHANGED
    assert check.detail == "TSHIRT-BLK-M: 2 sent, 1 at the vendor"
    address = shipping_request().shipping_address.to_onx() | {"zipCodeOrPostalCode": "99999"}
    await wms.http.post(f"/_sandbox/edit/{REQUEST_ID}", json={"shippingAddress": address})
    check = await wms.connector.check_shipping_request(shipping_request(), None)
    assert check.condition is RequestCondition.CHANGED and "zip_code_or_postal_code" in (check.detail or "")


async def test_a_request_cancelled_by_hand_or_lost_at_the_wms_says_so(wms: Wms) -> None:
    await wms.http.post("/_sandbox/config", json={"auto_ship": False})
    receipt = await wms.connector.create_shipping_request(shipping_request())
    await wms.http.post(f"/_sandbox/cancel/{REQUEST_ID}")
    check = await wms.connector.check_shipping_request(shipping_request(), receipt.vendor_id)
    assert check.condition is RequestCondition.CANCELLED
    await wms.http.post(f"/_sandbox/lose/{REQUEST_ID}")
    check = await wms.connector.check_shipping_request(shipping_request(), receipt.vendor_id)
    assert check.condition is RequestCondition.MISSING
    assert (await wms.http.get("/_sandbox/shipping-requests")).json() == []
