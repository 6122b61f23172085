"""A selling channel's requirements reach the WMS: the send-shipping-request activity looks them
up for the request's channel and ship method and the connector sends them as `requirements`; the
sandbox ships with a carrier they allow, and refuses a malformed block."""

from __future__ import annotations

from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.channel_calls import ChannelActivities
from connectors.base import ShippingRequirements
from orderloop.config import OrderloopConfig
from tests.connectors.wms.conftest import API_TOKEN, REQUEST_ID, Wms, shipping_request

REQUIREMENTS = {
    "carriers": ["UPS", "USPS"],
    "ship_methods": {"OneDay": {"carriers": ["FedEx"], "method": "Overnight"}},
    "packaging_notes": "No marketing inserts",
}


def config_with(requirements: dict[str, Any] | None) -> OrderloopConfig:
    walmart: dict[str, Any] = {"id": "walmart", "type": "walmart", "role": "selling", "base_url": "http://wm.invalid"}
    if requirements is not None:
        walmart["requirements"] = requirements
    return OrderloopConfig.model_validate(
        {
            "tenant_id": "brand",
            "locations": [{"id": "east", "fulfillment_channel": "wms"}],
            "channels": [walmart, {"id": "wms", "type": "wms", "role": "fulfillment", "base_url": "http://wms"}],
        }
    )


def walmart_request(shipping_code: str) -> Any:
    return shipping_request(channel_id="walmart", order_id="order/walmart/SF-1001", shipping_code=shipping_code)


async def test_the_activity_sends_the_channels_requirements_for_the_ship_method(wms: Wms) -> None:
    activities = ChannelActivities({"wms": wms.connector}, config_with(REQUIREMENTS))

    await ActivityEnvironment().run(activities.send_shipping_request, walmart_request("oneday"))

    [posted] = await wms.recorded("POST", "/shipping-requests")
    assert posted["body"]["requirements"] == {
        "carriers": ["FedEx"],
        "shippingMethod": "Overnight",
        "packagingNotes": "No marketing inserts",
    }
    held = await wms.connector.client.get_request(REQUEST_ID)
    assert held["requirements"] == posted["body"]["requirements"]


async def test_a_method_without_its_own_entry_gets_the_channels_carriers(wms: Wms) -> None:
    activities = ChannelActivities({"wms": wms.connector}, config_with(REQUIREMENTS))

    await ActivityEnvironment().run(activities.send_shipping_request, walmart_request("Standard"))

    held = await wms.connector.client.get_request(REQUEST_ID)
    assert held["requirements"] == {"carriers": ["UPS", "USPS"], "packagingNotes": "No marketing inserts"}


async def test_a_channel_without_requirements_sends_none(wms: Wms) -> None:
    activities = ChannelActivities({"wms": wms.connector}, config_with(None))

    await ActivityEnvironment().run(activities.send_shipping_request, walmart_request("OneDay"))

    [posted] = await wms.recorded("POST", "/shipping-requests")
    assert "requirements" not in posted["body"]


async def test_the_parcel_goes_with_a_carrier_the_requirements_allow(wms: Wms) -> None:
    requirements = ShippingRequirements(channel_id="walmart", carriers=("FedEx",))
    receipt = await wms.connector.create_shipping_request(shipping_request(), requirements)

    await wms.http.post(f"/_sandbox/ship/{receipt.vendor_id}")
    [shipment] = await wms.connector.fetch_shipments(shipping_request(), receipt.vendor_id)

    assert shipment.shipping_carrier == "FedEx"


async def test_the_wms_refuses_a_malformed_requirements_block(wms: Wms) -> None:
    body = {"externalId": "x-1", "lineItems": [{"sku": "MUG-11OZ", "quantity": 1}], "requirements": {"carrier": "UPS"}}
    headers = {"Idempotency-Key": "k-1", "Authorization": f"Bearer {API_TOKEN}"}
    response = await wms.http.post("/shipping-requests", json=body, headers=headers)
    assert response.status_code == 422
    assert "requirements has unknown field(s) carrier" in response.text
