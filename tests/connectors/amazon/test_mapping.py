"""Amazon mapping from fixtures shaped like the Orders API v2026-01-01 examples: the order, its
edge cases (Pending, FBA, partly shipped, a buyer's cancel request), the confirmShipment body and
the availability patch."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.amazon import mapping
from connectors.amazon.mapping import availability_patch, confirm_shipment_body, package_reference_id
from connectors.base import MappingError
from tests.connectors.amazon.conftest import MARKETPLACE, RECEIVED_AT, TENANT, parcel, payload
from tests.connectors.contract.test_selling import onx_validator

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def order_json() -> dict[str, Any]:
    return payload("order_unshipped.json")


def mapped(raw: dict[str, Any]) -> Any:
    return mapping.map_order(
        raw, order_id=f"order/amazon/{raw['orderId']}", tenant_id=TENANT, channel_id="amazon", received_at=RECEIVED_AT
    )


def test_unshipped_order_maps_every_field_and_validates_as_onx() -> None:
    order = mapped(order_json())

    onx_validator("order").validate(order.to_onx())
    assert order.external_id == "113-7012345-6789012"
    assert order.name == "BRAND-2026-00042"
    assert order.status == "unshipped" and order.payment_status == "paid"
    assert [(ln.id, ln.sku, ln.quantity, ln.unit_price) for ln in order.line_items] == [
        ("40112345678901", "TSHIRT-BLK-M", 2, Decimal("19.99")),
        ("40112345678902", "MUG-11OZ", 1, Decimal("17.99")),
    ]
    assert order.line_items[0].total_price == Decimal("39.98")
    address = order.shipping_address
    assert address is not None
    assert (address.first_name, address.last_name, address.company) == ("Grace", "Brewster Hopper", "Eckert-Mauchly")
    assert (address.address1, address.address2, address.city, address.state_or_province) == (
        "1 Navy Yard",
        "Building 4",
        "Arlington",
        "VA",
    )
    assert (address.zip_code_or_postal_code, address.country, address.phone) == ("22202", "US", "+1 206-555-0123")
    assert order.customer is not None and order.customer.email == "7nq2b0xk9c3fwd1@marketplace.amazon.com"
    assert order.currency == "USD" and order.total_price == Decimal("62.97")
    assert order.shipping_class == "EXPEDITED" and order.shipping_code == "expedited"
    assert order.gift_note == "Happy birthday, Grace!"
    # Amazon's LatestShipDate is the ship-by deadline.
    assert order.ship_by_date == datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC)
    assert {f.name: f.value for f in order.custom_fields} == {"marketplaceId": MARKETPLACE, "programs": "PRIME"}


@pytest.mark.parametrize("status", ["PENDING", "PENDING_AVAILABILITY"])
def test_a_pending_order_is_refused_until_amazon_marks_it_unshipped(status: str) -> None:
    raw = order_json()
    raw["fulfillment"]["fulfillmentStatus"] = status
    del raw["recipient"]

    with pytest.raises(MappingError, match=f"{status}: not started until Amazon marks it UNSHIPPED"):
        mapped(raw)
    assert mapping.shippable_status(raw) is not None


def test_an_amazon_fulfilled_order_is_not_orderloops_to_ship() -> None:
    raw = order_json()
    raw["fulfillment"]["fulfilledBy"] = "AMAZON"

    with pytest.raises(MappingError, match="fulfilled by AMAZON"):
        mapped(raw)


def test_an_order_partly_shipped_before_orderloop_saw_it_ships_only_the_rest() -> None:
    raw = order_json()
    raw["fulfillment"]["fulfillmentStatus"] = "PARTIALLY_SHIPPED"
    raw["orderItems"][0]["fulfillment"].update(quantityFulfilled=1, quantityUnfulfilled=1)
    raw["orderItems"][1]["fulfillment"].update(quantityFulfilled=1, quantityUnfulfilled=0)

    order = mapped(raw)

    assert [(ln.sku, ln.quantity) for ln in order.line_items] == [("TSHIRT-BLK-M", 1)]


def test_an_item_without_a_seller_sku_is_refused_with_its_id() -> None:
    raw = order_json()
    del raw["orderItems"][1]["product"]["sellerSku"]

    with pytest.raises(MappingError, match=r"orderItems\[1\] \(orderItemId 40112345678902\) has no product.sellerSku"):
        mapped(raw)


def test_a_buyer_cancel_request_on_an_item_marks_the_order_cancelled() -> None:
    raw = order_json()
    assert not mapping.is_cancelled(raw) and mapping.buyer_cancel_reason(raw) is None
    raw["orderItems"][1]["cancellation"] = {
        "cancellationRequest": {"requester": "BUYER", "cancelReason": "Ordered by mistake"}
    }

    assert mapping.buyer_cancel_reason(raw) == "Ordered by mistake"
    assert mapping.is_cancelled(raw)


def test_confirm_shipment_body_names_the_package_the_carrier_and_the_items() -> None:
    order = mapped(order_json())

    body = confirm_shipment_body(order, parcel(order, "SHP-1", slice(0, 1)), MARKETPLACE, NOW)

    assert body == {
        "marketplaceId": MARKETPLACE,
        "packageDetail": {
            "packageReferenceId": package_reference_id("SHP-1"),
            "carrierCode": "UPS",
            "trackingNumber": "1ZCONTRACTSHP-1",
            "shipDate": "2026-11-24T15:04:05Z",
            "orderItems": [{"orderItemId": "40112345678901", "quantity": 2}],
        },
    }


def test_package_reference_id_is_a_positive_number_stable_per_shipment() -> None:
    first, again, other = package_reference_id("SB-123"), package_reference_id("SB-123"), package_reference_id("SB-124")

    assert first == again and first != other
    assert first.isdigit() and int(first) > 0 and int(other) > 0


def test_a_carrier_amazon_does_not_list_goes_as_other_with_its_name() -> None:
    order = mapped(order_json())
    detail = confirm_shipment_body(order, parcel(order, "S2", carrier="Acme Freight"), MARKETPLACE, NOW)[
        "packageDetail"
    ]

    assert (detail["carrierCode"], detail["carrierName"]) == ("Other", "Acme Freight")
    assert mapping.carrier_fields("fedex") == {"carrierCode": "FedEx"}


def test_a_parcel_without_tracking_or_carrier_is_refused_before_amazon_sees_it() -> None:
    order = mapped(order_json())
    untracked = parcel(order, "S3").model_copy(update={"tracking_numbers": []})

    with pytest.raises(MappingError, match="no tracking number"):
        confirm_shipment_body(order, untracked, MARKETPLACE, NOW)
    with pytest.raises(MappingError, match="no carrier"):
        confirm_shipment_body(order, parcel(order, "S4", carrier=None), MARKETPLACE, NOW)


def test_a_shipment_line_without_our_line_id_is_matched_by_sku() -> None:
    order = mapped(order_json())
    shipment = parcel(order, "S5", slice(1, None))
    shipment = shipment.model_copy(
        update={"line_items": [copy.copy(shipment.line_items[0]).model_copy(update={"line_id": None})]}
    )

    items = confirm_shipment_body(order, shipment, MARKETPLACE, NOW)["packageDetail"]["orderItems"]

    assert items == [{"orderItemId": "40112345678902", "quantity": 1}]


def test_availability_patch_merges_only_the_quantity_of_the_merchant_channel() -> None:
    assert availability_patch(-3, "PRODUCT", "DEFAULT") == {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            }
        ],
    }
