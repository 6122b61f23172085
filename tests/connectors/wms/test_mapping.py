"""WMS payloads <-> the canonical model: the shipping request body names our request and lines so
the WMS can echo them, and what the WMS reports (fulfillments, stock levels) maps back or is
refused with the reason."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import MappingError, StockRow
from connectors.wms.mapping import request_body, shipment_from_fulfillment, stock_row, stock_rows
from orderloop.model import Address, ShipmentLine
from tests.connectors.wms.conftest import REQUEST_ID, payload, shipping_request


def fulfillment(change: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """The fixture fulfillment, with one change applied in place."""
    data = copy.deepcopy(payload("shipment_created.json"))
    if change is not None:
        change(data)
    return data


# --- shipping requests out ----------------------------------------------------------------------


def test_request_body_carries_our_request_id_line_ids_and_address() -> None:
    body = request_body(shipping_request())

    assert body == {
        "externalId": REQUEST_ID,
        "orderId": "order/storefront/SF-1001",
        "orderExternalId": "SF-1001",
        "channelId": "storefront",
        "locationId": "east",
        "lineItems": [
            {"id": "li_1", "sku": "TSHIRT-BLK-M", "quantity": 2},
            {"id": "li_2", "sku": "MUG-11OZ", "quantity": 1},
        ],
        "shippingAddress": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "address1": "1 Main St",
            "address2": "Apt 4B",
            "city": "Springfield",
            "stateOrProvince": "IL",
            "zipCodeOrPostalCode": "62701",
            "country": "US",
            "phone": "+1-555-123-4567",
        },
        "shippingCode": "UPS_GROUND",
        "createdAt": "2026-11-23T09:31:05+00:00",
    }


def test_request_body_leaves_out_what_the_order_does_not_have() -> None:
    body = request_body(shipping_request(shipping_code=None, shipping_address=Address(city="Springfield")))

    assert "shippingCode" not in body
    assert body["shippingAddress"] == {"city": "Springfield"}


# --- shipments in -------------------------------------------------------------------------------


def test_partial_shipment_maps_to_a_shipment_of_our_request() -> None:
    shipment = shipment_from_fulfillment(payload("shipment_created.json"), "wms")

    assert shipment.id == "SHP-000417"
    assert shipment.shipping_request_id == REQUEST_ID
    assert shipment.fulfillment_channel_id == "wms"
    assert shipment.location_id == "east"
    assert shipment.line_items == [ShipmentLine(sku="TSHIRT-BLK-M", quantity=1, line_id="li_1")]
    assert shipment.tracking_numbers == ["1Z999AA10123456784"]
    assert shipment.shipping_carrier == "UPS"
    assert shipment.tracking_url == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert shipment.shipped_at == datetime(2026, 11, 24, 15, 4, 5, 250000, tzinfo=UTC)


def test_shipment_without_tracking_or_ship_time_still_maps() -> None:
    def bare(data: dict[str, Any]) -> None:
        for name in ("trackingNumbers", "customFields", "createdAt", "locationId", "shippingCarrier"):
            del data[name]

    shipment = shipment_from_fulfillment(fulfillment(bare))

    assert (shipment.tracking_numbers, shipment.tracking_url, shipment.shipped_at) == ([], None, None)
    assert (shipment.location_id, shipment.shipping_carrier, shipment.fulfillment_channel_id) == (None, None, None)


def test_shipment_line_quantity_sent_as_an_integral_float_is_an_integer() -> None:
    shipment = shipment_from_fulfillment(fulfillment(lambda data: data["lineItems"][0].update(quantity=1.0)))

    assert shipment.line_items[0].quantity == 1 and isinstance(shipment.line_items[0].quantity, int)


def _set_line(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["lineItems"][0].update(fields)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(lambda data: data.pop("id"), "fulfillment id is missing", id="no-id"),
        pytest.param(lambda data: data.update(id=" "), "fulfillment id is missing", id="blank-id"),
        pytest.param(lambda data: data.pop("orderId"), "fulfillment orderId", id="no-request-id"),
        pytest.param(lambda data: data.update(trackingNumbers="1Z999"), "trackingNumbers must be an array of strings"),
        pytest.param(lambda data: data.update(trackingNumbers=[123]), "trackingNumbers must be an array of strings"),
        pytest.param(lambda data: data.pop("lineItems"), "fulfillment lineItems must be a non-empty array"),
        pytest.param(lambda data: data.update(lineItems=[]), "fulfillment lineItems must be a non-empty array"),
        pytest.param(lambda data: data["lineItems"][0].pop("sku"), "fulfillment lineItems[0].sku is missing"),
        pytest.param(_set_line(quantity=0), "lineItems[0].quantity must be a positive integer, got 0", id="zero"),
        pytest.param(_set_line(quantity=1.5), "lineItems[0].quantity must be a positive integer, got 1.5"),
        pytest.param(_set_line(quantity=True), "lineItems[0].quantity must be a positive integer, got True"),
        pytest.param(_set_line(quantity="1"), "lineItems[0].quantity must be a positive integer, got '1'"),
    ],
)
def test_unreadable_fulfillment_raises_mapping_error_with_the_reason(
    change: Callable[[dict[str, Any]], Any], reason: str
) -> None:
    with pytest.raises(MappingError) as error:
        shipment_from_fulfillment(fulfillment(change))

    assert reason in str(error.value)


def test_fulfillment_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(MappingError, match="a fulfillment must be a JSON object, not an array"):
        shipment_from_fulfillment([payload("shipment_created.json")])


# --- stock levels in ----------------------------------------------------------------------------


def test_stock_level_maps_to_a_stock_row() -> None:
    row = stock_row(
        {"sku": "MUG-11OZ", "locationId": "east", "onHand": 300, "committed": 12, "available": 288, "inbound": 48}
    )

    assert row == StockRow(sku="MUG-11OZ", on_hand=300, available=288, committed=12, inbound=48, location_ref="east")


def test_stock_level_with_only_sku_and_on_hand_leaves_the_rest_unknown() -> None:
    row = stock_row({"sku": "POSTER-A2", "onHand": 5, "locationId": None})

    assert row == StockRow(sku="POSTER-A2", on_hand=5, available=None, committed=None, inbound=0, location_ref=None)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"onHand": 5}, "a stock level must be an object with a sku"),
        ({"sku": "", "onHand": 5}, "a stock level must be an object with a sku"),
        ("MUG-11OZ", "a stock level must be an object with a sku"),
        ({"sku": "MUG-11OZ"}, "stock level for 'MUG-11OZ': onHand must be an integer"),
        ({"sku": "MUG-11OZ", "onHand": "300"}, "stock level for 'MUG-11OZ': onHand must be an integer"),
        ({"sku": "MUG-11OZ", "onHand": True}, "stock level for 'MUG-11OZ': onHand must be an integer"),
    ],
)
def test_unreadable_stock_level_raises_mapping_error(item: Any, reason: str) -> None:
    with pytest.raises(MappingError) as error:
        stock_row(item)

    assert reason in str(error.value)


def test_stock_rows_keeps_every_level_in_order() -> None:
    rows = stock_rows(payload("inventory_updated.json")["items"])

    assert rows == (
        StockRow(sku="MUG-11OZ", on_hand=300, available=288, committed=12, inbound=48, location_ref="east"),
        StockRow(sku="POSTER-A2", on_hand=0, available=0, committed=0, inbound=0, location_ref="east"),
        StockRow(sku="TSHIRT-BLK-M", on_hand=500, available=497, committed=3, inbound=0, location_ref=None),
    )


@pytest.mark.parametrize("items", [[], None, {"sku": "MUG-11OZ", "onHand": 1}], ids=["empty", "missing", "object"])
def test_stock_rows_needs_a_non_empty_array(items: Any) -> None:
    with pytest.raises(MappingError, match="items must be a non-empty array of stock levels"):
        stock_rows(items)
