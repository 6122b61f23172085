"""A selling channel's requirements reach ShipBob through the send-shipping-request activity: its
3PL ship method as `shipping_method`, its packaging notes as the "Handling instructions" tag, as
the sandbox holds the order."""

from __future__ import annotations

from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.channel_calls import ChannelActivities
from orderloop.config import OrderloopConfig
from tests.connectors.shipbob.conftest import Harness, shipping_request


def config(requirements: dict[str, Any] | None) -> OrderloopConfig:
    walmart: dict[str, Any] = {"id": "walmart", "type": "walmart", "role": "selling", "base_url": "http://wm.invalid"}
    if requirements is not None:
        walmart["requirements"] = requirements
    return OrderloopConfig.model_validate(
        {
            "tenant_id": "brand",
            "locations": [{"id": "east", "fulfillment_channel": "shipbob"}],
            "channels": [walmart, {"id": "shipbob", "type": "shipbob", "role": "fulfillment", "base_url": "http://sb"}],
        }
    )


async def held_order(harness: Harness, vendor_id: str) -> dict[str, Any]:
    return await harness.connector.client.get_order(vendor_id)


async def send(harness: Harness, requirements: dict[str, Any] | None, shipping_code: str) -> dict[str, Any]:
    activities = ChannelActivities({"shipbob": harness.connector}, config(requirements))
    request = shipping_request(shipping_code=shipping_code).model_copy(update={"channel_id": "walmart"})
    result = await ActivityEnvironment().run(activities.send_shipping_request, request)
    return await held_order(harness, result.vendor_id)


async def test_the_required_ship_method_and_packaging_notes_reach_shipbob(harness: Harness) -> None:
    requirements = {
        "ship_methods": {"OneDay": {"carriers": ["UPS", "FedEx"], "method": "Overnight"}},
        "packaging_notes": "No marketing inserts",
    }
    order = await send(harness, requirements, "OneDay")

    assert order["shipping_method"] == "Overnight"
    assert {"name": "Handling instructions", "value": "No marketing inserts"} in order["tags"]
    [posted] = [r for r in harness.requests("POST") if r.path.endswith("/order")]
    assert posted.body["shipping_method"] == "Overnight"


async def test_without_requirements_the_order_is_as_before(harness: Harness) -> None:
    order = await send(harness, None, "express")

    # The channel's own `shipping_methods` mapping (express -> 2-Day), and only Orderloop's tags.
    assert order["shipping_method"] == "2-Day"
    assert [tag["name"] for tag in order["tags"]] == ["orderloop_order_id", "orderloop_location_id"]
