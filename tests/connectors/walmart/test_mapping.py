"""Walmart purchase orders to `Order` (fixtures shaped like the Orders API's documented example)
and shipments to the ship-lines body."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from connectors.base import MappingError
from connectors.walmart import mapping
from connectors.walmart.client import WalmartSettings
from orderloop.model import Shipment, ShipmentLine
from tests.connectors.walmart.conftest import RECEIVED_AT, SCHEMAS, TENANT, payload

METHODS = WalmartSettings().ship_methods


def mapped(raw: Any, **methods: list[str]) -> Any:
    return mapping.map_order(
        raw,
        order_id="order/walmart/1796277083022",
        tenant_id=TENANT,
        channel_id="walmart",
        received_at=RECEIVED_AT,
        ship_methods=methods or METHODS,
    )


def test_purchase_order_maps_lines_by_line_number_without_cancelled_units() -> None:
    order = mapped(payload("purchase_order.json"))

    assert order.external_id == "1796277083022"
    assert order.name == "5281956426648"
    assert [(ln.id, ln.external_id, ln.sku, ln.quantity) for ln in order.line_items] == [
        ("1", "1", "TSHIRT-BLK-M", 2),
        ("2", "2", "MUG-11OZ", 1),
    ]
    assert order.line_items[0].unit_price == Decimal("19.00")
    assert order.line_items[1].unit_price == Decimal("12.00")
    assert order.sub_total_price == Decimal("50.00")
    assert order.shipping_price == Decimal("4.99")
    assert order.order_tax == Decimal("5.43")
    assert order.currency == "USD"
    assert order.shipping_code == "Standard"
    assert order.created_at == datetime(2026, 11, 23, 14, 11, 5, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 23, 15, 12, 7, tzinfo=UTC)


def test_estimated_ship_date_is_the_ship_by_date() -> None:
    order = mapped(payload("purchase_order.json"))

    assert order.ship_by_date == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def test_shipping_address_and_relay_email() -> None:
    address = mapped(payload("purchase_order.json")).shipping_address

    assert address is not None
    assert (address.first_name, address.last_name) == ("Kathryn", "Cole")
    assert (address.address1, address.address2, address.city) == ("3258B Warners Rd", "Garage", "Warners")
    assert (address.state_or_province, address.zip_code_or_postal_code, address.country) == ("NY", "13164", "US")
    assert address.phone == "3155598681"
    assert address.email == "3A31739D8B0A45A1B23F7F8C81C8747F@relay.walmart.com"


def test_mapped_purchase_order_is_a_valid_onx_order() -> None:
    schema = json.loads((SCHEMAS / "order.json").read_text())

    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        mapped(payload("purchase_order.json")).to_onx()
    )


def test_a_list_element_and_a_notification_order_map_like_the_read_order() -> None:
    po = payload("purchase_order.json")["order"]
    envelope = {"source": {"eventType": "ORDER_UPDATES"}, "payload": {"meta": {}, "order": po}}

    assert mapped(po) == mapped({"order": po}) == mapped(envelope)


def test_a_purchase_order_with_every_line_cancelled_is_refused() -> None:
    po = copy.deepcopy(payload("purchase_order.json"))
    for line in po["order"]["orderLines"]["orderLine"]:
        qty = line["orderLineQuantity"]["amount"]
        line["orderLineStatuses"]["orderLineStatus"] = [{"status": "Cancelled", "statusQuantity": {"amount": qty}}]

    with pytest.raises(MappingError, match="no line left to ship: line 1 is cancelled; line 2 is cancelled"):
        mapped(po)


def test_a_walmart_fulfilled_purchase_order_is_refused() -> None:
    po = copy.deepcopy(payload("purchase_order.json"))
    po["order"]["shipNode"]["type"] = "WFSFulfilled"

    with pytest.raises(MappingError, match=r"fulfilled by Walmart \(WFS\)"):
        mapped(po)


def test_a_ship_method_mapping_to_no_walmart_carrier_is_refused_with_the_reason() -> None:
    po = copy.deepcopy(payload("purchase_order.json"))
    po["order"]["shippingInfo"]["methodCode"] = "Freight"

    with pytest.raises(
        MappingError, match=r"ship method 'Freight' maps to no Walmart carrier .*serves Standard, Value"
    ):
        mapped(po, Standard=["UPS"], Value=["USPS"])
    assert mapped(po, Freight=["ABF Freight System"]).shipping_code == "Freight"


def test_a_shipped_unit_stays_on_the_order() -> None:
    po = copy.deepcopy(payload("purchase_order.json"))
    first = po["order"]["orderLines"]["orderLine"][0]
    first["orderLineStatuses"]["orderLineStatus"] = [
        {"status": "Shipped", "statusQuantity": {"amount": "1"}, "trackingInfo": {"trackingNumber": "1Z1"}},
        {"status": "Acknowledged", "statusQuantity": {"amount": "1"}},
    ]

    assert mapped(po).line_items[0].quantity == 2
    assert mapping.open_quantity(first) == 1


def shipment(*lines: tuple[str, str, int], tracking: str = "1Z999AA10123456784") -> Shipment:
    return Shipment(
        id="S1",
        shipping_request_id="order/walmart/1796277083022/sr1",
        line_items=[ShipmentLine(sku=sku, quantity=q, line_id=n) for n, sku, q in lines],
        tracking_numbers=[tracking],
        shipping_carrier="ups",
        tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        shipped_at=datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC),
    )


def test_shipping_body_nests_each_line_status_with_the_tracking() -> None:
    parcel = shipment(("1", "TSHIRT-BLK-M", 2))
    plan = mapping.lines_to_ship(payload("purchase_order.json")["order"], parcel, "1Z999AA10123456784")

    body = mapping.shipping_body(
        plan, parcel, tracking_number="1Z999AA10123456784", carrier="UPS", other_carrier=None, method_code="Standard"
    )

    [line] = body["orderShipment"]["orderLines"]["orderLine"]
    [status] = line["orderLineStatuses"]["orderLineStatus"]
    assert line["lineNumber"] == "1"
    assert status["status"] == "Shipped"
    assert status["statusQuantity"] == {"unitOfMeasurement": "EACH", "amount": "2"}
    assert status["trackingInfo"] == {
        "shipDateTime": int(datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC).timestamp() * 1000),
        "carrierName": {"carrier": "UPS"},
        "methodCode": "Standard",
        "trackingNumber": "1Z999AA10123456784",
        "trackingURL": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    }


def test_units_already_shipped_under_the_tracking_number_are_not_planned_again() -> None:
    po = copy.deepcopy(payload("purchase_order.json"))["order"]
    po["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"] = [
        {"status": "Shipped", "statusQuantity": {"amount": "2"}, "trackingInfo": {"trackingNumber": "1ZA"}}
    ]
    parcel = shipment(("1", "TSHIRT-BLK-M", 2), ("2", "MUG-11OZ", 1), tracking="1ZA")

    assert mapping.lines_to_ship(po, parcel, "1ZA") == [mapping.ShipLine("2", 1)]


def test_more_units_than_are_open_is_a_mapping_error() -> None:
    parcel = shipment(("2", "MUG-11OZ", 2))

    with pytest.raises(
        MappingError, match=r"MUG-11OZ: 1 more units to ship than are open at Walmart \(lines \['2'\]\)"
    ):
        mapping.lines_to_ship(payload("purchase_order.json")["order"], parcel, "1ZB")


def test_a_shipment_reported_by_sku_takes_the_lines_of_that_sku() -> None:
    po = copy.deepcopy(payload("purchase_order.json"))["order"]
    extra = copy.deepcopy(po["orderLines"]["orderLine"][0])
    extra["lineNumber"] = "4"
    po["orderLines"]["orderLine"].append(extra)
    by_sku = Shipment(
        id="S1",
        shipping_request_id="order/walmart/1796277083022/sr1",
        line_items=[ShipmentLine(sku="TSHIRT-BLK-M", quantity=3), ShipmentLine(sku="MUG-11OZ", quantity=1)],
        tracking_numbers=["1ZC"],
    )

    assert mapping.lines_to_ship(po, by_sku, "1ZC") == [
        mapping.ShipLine("1", 2),
        mapping.ShipLine("4", 1),
        mapping.ShipLine("2", 1),
    ]
    with pytest.raises(MappingError, match=r"HOODIE-GRY-L .* is no line of the purchase order"):
        mapping.lines_to_ship(
            po, by_sku.model_copy(update={"line_items": [ShipmentLine(sku="HOODIE-GRY-L", quantity=1)]}), "1ZC"
        )


@pytest.mark.parametrize(
    ("reported", "aliases", "expected"),
    [
        ("ups", {}, "UPS"),
        ("FEDEX", {}, "FedEx"),
        ("USPS Priority Mail", {"usps priority mail": "USPS"}, "USPS"),
        ("Bob's Trucking", {}, None),
        (None, {}, None),
    ],
)
def test_walmart_carrier_names(reported: str | None, aliases: dict[str, str], expected: str | None) -> None:
    assert mapping.walmart_carrier(reported, aliases) == expected


def test_cancel_body_carries_the_reason_per_line() -> None:
    body = mapping.cancel_body({"2": 1}, mapping.CancelReason.CUSTOMER_REQUESTED)

    [line] = body["orderCancellation"]["orderLines"]["orderLine"]
    assert line["lineNumber"] == "2"
    assert line["orderLineStatuses"]["orderLineStatus"] == [
        {
            "status": "Cancelled",
            "cancellationReason": "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
            "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "1"},
        }
    ]
