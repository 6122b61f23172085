"""The BigCommerce order document (v2 order, products, shipping addresses, shaped like the v2
reference's examples) to `Order`, the statuses that may not ship, multi-address orders, and the
shipment and inventory bodies."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from connectors.base import MappingError
from connectors.bigcommerce.mapping import (
    OrderStatusId,
    carrier_fields,
    hold_reason,
    inventory_items,
    map_order,
    recorded_shipment,
    shipment_body,
    shipment_mark,
)
from orderloop.model import Order
from tests.connectors.bigcommerce.conftest import (
    RECEIVED_AT,
    TENANT,
    fixture_document,
    onx_schema,
    payload,
    shipment_for,
)


def mapped(raw: dict[str, Any], **kwargs: Any) -> Order:
    return map_order(
        raw,
        order_id="order/bigcommerce/247",
        tenant_id=TENANT,
        channel_id="bigcommerce",
        received_at=RECEIVED_AT,
        **kwargs,
    )


def test_documented_order_maps_to_a_valid_onx_order() -> None:
    order = mapped(fixture_document())

    jsonschema.Draft7Validator(onx_schema("order"), format_checker=jsonschema.FormatChecker()).validate(order.to_onx())
    assert order.external_id == "247" and order.name == "#247"
    assert order.created_at == datetime(2019, 6, 20, 16, 7, 8, tzinfo=UTC)
    assert order.updated_at == datetime(2019, 6, 20, 16, 9, 12, tzinfo=UTC)
    assert order.currency == "USD" and order.payment_status == "captured" and order.status == "Awaiting Fulfillment"
    assert order.total_price == Decimal("1008.74") and order.shipping_price == Decimal("8")
    assert order.order_note == "Please ring twice"


def test_physical_products_become_lines_keyed_by_order_product_id() -> None:
    order = mapped(fixture_document())

    assert [(line.id, line.sku, line.quantity) for line in order.line_items] == [
        ("65", "TSHIRT-BLK-M", 2),
        ("66", "MUG-11OZ", 1),
    ]
    shirt = order.line_items[0]
    # 3.00 of discount over two units, off the tax-inclusive price.
    assert shirt.unit_price == Decimal("20.5") and shirt.unit_discount == Decimal("1.50")
    assert shirt.total_price == Decimal("38.00")
    assert {f.name: f.value for f in shirt.custom_fields} == {
        "bigcommerceProductId": "77",
        "bigcommerceVariantId": "93",
        "bigcommerceOrderAddressId": "51",
    }


def test_the_address_the_products_ship_to_is_the_shipping_address() -> None:
    # The second address of the fixture has no products (items_total 0, as in the reference).
    order = mapped(fixture_document())

    address = order.shipping_address
    assert address is not None
    assert (address.first_name, address.address1, address.address2, address.city) == (
        "Trishy",
        "666 Sussex St",
        "Suite 4",
        "San Antonio",
    )
    assert (address.state_or_province, address.zip_code_or_postal_code, address.country) == ("Texas", "78251", "US")
    assert {f.name: f.value for f in order.custom_fields}["bigcommerceOrderAddressId"] == "51"
    assert order.billing_address is not None and order.billing_address.email == "janedoe@email.com"
    assert order.customer is not None and order.customer.external_id == "11"


def two_address_document() -> dict[str, Any]:
    """The fixture order with its mug going to the second address (Jane, Austin)."""
    document = fixture_document()
    document["products"][1]["order_address_id"] = 52
    return document


def test_an_order_shipping_to_two_addresses_gives_each_line_its_address() -> None:
    order = mapped(two_address_document())

    shirt, mug = order.line_items
    assert shirt.address_ref == "51" and mug.address_ref == "52"
    assert shirt.shipping_address is not None and mug.shipping_address is not None
    assert (shirt.shipping_address.first_name, shirt.shipping_address.city) == ("Trishy", "San Antonio")
    assert (mug.shipping_address.first_name, mug.shipping_address.address1, mug.shipping_address.city) == (
        "Jane",
        "555 Main Street",
        "Austin",
    )
    assert mug.shipping_address.zip_code_or_postal_code == "78751" and mug.shipping_address.country == "US"
    # The order's own address is the first line's, as for a one-address order.
    assert order.shipping_address == shirt.shipping_address
    assert {f.name: f.value for f in order.custom_fields}["bigcommerceOrderAddressId"] == "51"


def test_a_two_address_order_still_exports_a_valid_onx_order_without_line_addresses() -> None:
    document = mapped(two_address_document()).to_onx()

    jsonschema.Draft7Validator(onx_schema("order"), format_checker=jsonschema.FormatChecker()).validate(document)
    assert [item["customFields"][-1] for item in document["lineItems"]] == [
        {"name": "bigcommerceOrderAddressId", "value": "51"},
        {"name": "bigcommerceOrderAddressId", "value": "52"},
    ]
    assert all("shippingAddress" not in item and "addressRef" not in item for item in document["lineItems"])


def test_a_one_address_order_sets_no_line_address() -> None:
    order = mapped(fixture_document())

    assert [(line.shipping_address, line.address_ref) for line in order.line_items] == [(None, None), (None, None)]


def test_a_product_bound_to_an_address_the_order_lacks_is_refused() -> None:
    document = two_address_document()
    document["products"][1]["order_address_id"] = 59

    with pytest.raises(MappingError, match="order_address_id 59 is not among the order's shipping_addresses"):
        mapped(document)


def test_each_shipment_of_a_two_address_order_names_its_lines_address() -> None:
    order = mapped(two_address_document())

    to_trishy = shipment_body(order, shipment_for(order, ("TSHIRT-BLK-M", 2)))
    to_jane = shipment_body(order, shipment_for(order, ("MUG-11OZ", 1), sid="S2"))

    assert (to_trishy["order_address_id"], to_trishy["items"]) == (51, [{"order_product_id": 65, "quantity": 2}])
    assert (to_jane["order_address_id"], to_jane["items"]) == (52, [{"order_product_id": 66, "quantity": 1}])


def test_a_shipment_spanning_two_addresses_is_refused() -> None:
    order = mapped(two_address_document())

    with pytest.raises(MappingError, match=r"order_address_id 51 and 52.*one address"):
        shipment_body(order, shipment_for(order, ("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)))


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (0, "Incomplete \\(status 0\\): the checkout was not completed"),
        (6, "Declined \\(status 6\\): the payment was declined"),
        (12, "Manual Verification Required \\(status 12\\): the payment awaits the merchant's manual verification"),
        (7, "Awaiting Payment \\(status 7\\); it is routed once"),
    ],
)
def test_an_order_whose_status_may_not_ship_is_refused_with_bigcommerces_reason(status: int, words: str) -> None:
    name = OrderStatusId(status).name.replace("_", " ").title()

    with pytest.raises(MappingError, match=words):
        mapped(fixture_document(status_id=status, status=name))


def test_shippable_statuses_are_the_channels_choice() -> None:
    document = fixture_document(status_id=7, status="Awaiting Payment")

    assert hold_reason(document, {OrderStatusId.AWAITING_PAYMENT}) is None
    assert mapped(document, shippable_statuses={OrderStatusId.AWAITING_PAYMENT}).external_id == "247"


def test_refunded_and_bundled_products_are_left_out_and_none_left_is_refused() -> None:
    document = fixture_document()
    document["products"][0]["quantity_refunded"] = 1
    document["products"][1]["is_bundled_product"] = True

    order = mapped(document)
    assert [(line.sku, line.quantity) for line in order.line_items] == [("TSHIRT-BLK-M", 1)]

    document["products"][0]["quantity_refunded"] = 2
    with pytest.raises(
        MappingError, match=r"no product needs shipping: order product 65 .* was refunded; .* is digital"
    ):
        mapped(document)


def test_a_thin_webhook_body_is_refused_saying_the_order_is_read_back_first() -> None:
    with pytest.raises(MappingError, match="read back from BigCommerce"):
        mapped(payload("order_created.json"))


def test_a_product_without_sku_is_refused() -> None:
    document = fixture_document()
    document["products"][0]["sku"] = ""

    with pytest.raises(MappingError, match=r"order product 65 .* has no SKU"):
        mapped(document)


def test_shipment_body_names_the_address_the_products_and_the_tracking() -> None:
    order = mapped(fixture_document())
    shipment = shipment_for(order, ("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1))

    assert shipment_body(order, shipment) == {
        "order_address_id": 51,
        "items": [{"order_product_id": 65, "quantity": 2}, {"order_product_id": 66, "quantity": 1}],
        "tracking_number": "1Z999AA10123456784",
        "shipping_provider": "ups",
        "tracking_carrier": "",
        "shipping_method": "UPS",
        "comments": "Orderloop shipment S1",
    }


def test_carriers_bigcommerce_has_no_provider_for_go_as_aftership_slugs_or_as_a_link() -> None:
    assert carrier_fields("FedEx") == {"shipping_provider": "fedex", "tracking_carrier": ""}
    assert carrier_fields("DHL Express") == {"shipping_provider": "", "tracking_carrier": "dhl"}
    assert carrier_fields("Acme Couriers", {"Acme Couriers": "carrier_7"})["shipping_provider"] == "carrier_7"
    order = mapped(fixture_document())
    shipment = shipment_for(order, ("MUG-11OZ", 1), carrier="Pigeon Post").model_copy(
        update={"tracking_url": "https://pigeon.example/track/42"}
    )
    body = shipment_body(order, shipment)
    assert (body["shipping_provider"], body["tracking_carrier"]) == ("", "")
    assert body["tracking_link"] == "https://pigeon.example/track/42"


def test_a_shipment_line_without_line_id_is_found_by_sku() -> None:
    order = mapped(fixture_document())
    shipment = shipment_for(order, ("MUG-11OZ", 1))
    shipment.line_items[0].line_id = None

    assert shipment_body(order, shipment)["items"] == [{"order_product_id": 66, "quantity": 1}]


def test_recorded_shipment_is_found_by_our_mark_then_by_tracking_number() -> None:
    order = mapped(fixture_document())
    shipment = shipment_for(order, ("MUG-11OZ", 1), number=None, sid="S9")
    existing = [
        {"id": 6, "comments": "Orderloop shipment S1", "tracking_number": "X"},
        {"id": 7, "comments": shipment_mark(shipment), "tracking_number": ""},
    ]

    assert recorded_shipment(existing, shipment) == existing[1]
    tracked = shipment_for(order, ("MUG-11OZ", 1), number="X", sid="S5")
    assert recorded_shipment(existing, tracked) == existing[0]
    assert recorded_shipment(existing, shipment_for(order, ("MUG-11OZ", 1), number="Y", sid="S6")) is None


def test_inventory_items_are_absolute_levels_at_the_location_never_negative() -> None:
    assert inventory_items({"MUG-11OZ": 4, "TSHIRT-BLK-M": -2}, 3) == [
        {"location_id": 3, "sku": "MUG-11OZ", "quantity": 4},
        {"location_id": 3, "sku": "TSHIRT-BLK-M", "quantity": 0},
    ]


def test_mapping_does_not_change_the_document() -> None:
    document = fixture_document()
    before = copy.deepcopy(document)

    mapped(document)

    assert document == before
