"""Storefront payloads <-> the canonical model: an onX order maps field by field, a bad one is
refused with a reason naming the field, and what goes back (fulfillments, inventory) has the
shape the storefront and onX expect."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from connectors.base import MappingError
from connectors.storefront.mapping import fulfillment_body, inventory_body, map_order
from orderloop.model import Address, CustomField, Order, OrderType, Shipment, ShipmentLine
from tests.connectors.storefront.conftest import RECEIVED_AT, TENANT, onx_schema, payload

ORDER_ID = "order/storefront/SF-1001"


def mapped(raw: Any) -> Order:
    return map_order(raw, order_id=ORDER_ID, tenant_id=TENANT, channel_id="storefront", received_at=RECEIVED_AT)


def changed(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """The fixture order with one change applied in place."""
    raw = copy.deepcopy(payload("order.json"))
    change(raw)
    return raw


def validate(document: dict[str, Any], schema: str) -> None:
    jsonschema.Draft7Validator(onx_schema(schema), format_checker=jsonschema.FormatChecker()).validate(document)


# --- orders in ----------------------------------------------------------------------------------


def test_full_onx_order_maps_field_by_field() -> None:
    order = mapped(payload("order.json"))

    assert (order.id, order.external_id, order.tenant_id, order.channel_id) == (
        ORDER_ID,
        "SF-1001",
        TENANT,
        "storefront",
    )
    assert order.created_at == datetime(2026, 11, 23, 9, 30, 15, 120000, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 23, 9, 31, 2, tzinfo=UTC)
    assert (order.name, order.status, order.currency) == ("#1001", "open", "USD")
    assert (order.order_source, order.payment_status) == ("web", "paid")
    assert order.order_type is OrderType.STANDARD

    first, second = order.line_items
    assert (first.id, first.external_id, first.sku, first.quantity, first.name) == (
        "li_1",
        "SF-1001-1",
        "TSHIRT-BLK-M",
        2,
        "T-shirt, black, M",
    )
    assert (first.unit_price, first.unit_discount, first.total_price) == (
        Decimal("19.50"),
        Decimal("1.5"),
        Decimal("36.0"),
    )
    assert first.custom_fields == [CustomField(name="engraving", value="ADA")]
    assert (second.id, second.external_id, second.sku, second.quantity) == ("li_2", None, "MUG-11OZ", 1)
    # A JSON float becomes the Decimal of its text, not of its binary value.
    assert second.unit_price == Decimal("9.99") and isinstance(second.unit_price, Decimal)

    assert order.shipping_address == Address(
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines Ltd",
        address1="1 Main St",
        address2="Apt 4B",
        city="Springfield",
        state_or_province="IL",
        zip_code_or_postal_code="62701",
        country="US",
        email="ada@example.com",
        phone="+1-555-123-4567",
    )
    assert order.billing_address is not None
    assert (order.billing_address.address1, order.billing_address.zip_code_or_postal_code) == ("12 Billing Rd", "60601")
    assert order.customer is not None
    assert (order.customer.id, order.customer.external_id, order.customer.email) == (
        "cus_0042",
        "CUST-42",
        "ada@example.com",
    )
    assert (order.customer.first_name, order.customer.last_name, order.customer.tags) == (
        "Ada",
        "Lovelace",
        ["returning"],
    )

    assert order.tags == ["vip", "gift"]
    assert order.custom_fields == [CustomField(name="salesRep", value="grace")]
    assert (order.shipping_carrier, order.shipping_class, order.shipping_code) == ("UPS", "ground", "UPS_GROUND")
    assert order.shipping_note == "Leave at the side door"
    assert (order.order_note, order.gift_note) == ("Second order this month", "Happy birthday!")
    assert (order.shipping_price, order.order_discount, order.order_tax) == (
        Decimal("5"),
        Decimal("0.00"),
        Decimal("3.68"),
    )
    assert (order.sub_total_price, order.total_price) == (Decimal("45.99"), Decimal("54.67"))


def test_line_without_its_own_id_is_keyed_by_its_external_id_then_by_position() -> None:
    def strip_ids(raw: dict[str, Any]) -> None:
        del raw["lineItems"][0]["id"]
        del raw["lineItems"][1]["id"]

    order = mapped(changed(strip_ids))

    assert [line.id for line in order.line_items] == ["SF-1001-1", "2"]


def test_line_keyed_by_position_never_collides_with_another_lines_own_id() -> None:
    def mixed_ids(raw: dict[str, Any]) -> None:
        del raw["lineItems"][0]["id"], raw["lineItems"][0]["externalId"]
        raw["lineItems"][1]["id"] = "1"

    order = mapped(changed(mixed_ids))

    assert len({line.id for line in order.line_items}) == 2


def test_integral_float_quantity_is_accepted_as_an_integer() -> None:
    order = mapped(changed(lambda raw: raw["lineItems"][0].update(quantity=2.0)))

    assert order.line_items[0].quantity == 2
    assert isinstance(order.line_items[0].quantity, int)


def test_numeric_zip_code_and_comma_separated_tags_become_text() -> None:
    def storefront_quirks(raw: dict[str, Any]) -> None:
        raw["shippingAddress"]["zipCodeOrPostalCode"] = 62701
        raw["tags"] = "vip, gift ,"

    order = mapped(changed(storefront_quirks))

    assert order.shipping_address is not None
    assert order.shipping_address.zip_code_or_postal_code == "62701"
    assert order.tags == ["vip", "gift"]


def test_order_without_shipping_address_still_maps_for_the_workflow_to_flag() -> None:
    order = mapped(changed(lambda raw: raw.pop("shippingAddress")))

    assert order.shipping_address is None


def test_missing_or_unreadable_timestamps_fall_back_to_the_receipt_time() -> None:
    def bad_times(raw: dict[str, Any]) -> None:
        del raw["createdAt"]
        raw["updatedAt"] = "yesterday"

    order = mapped(changed(bad_times))

    assert order.created_at == RECEIVED_AT
    assert order.updated_at == RECEIVED_AT


@pytest.mark.parametrize(
    ("tags", "custom_fields", "expected"),
    [
        (["vip", "order-type:pre-order"], [], OrderType.PRE_ORDER),
        (["Order-Type:Wholesale"], [], OrderType.WHOLESALE),
        (["order-type:pre-order"], [{"name": "orderType", "value": "subscription"}], OrderType.SUBSCRIPTION),
        (["vip"], [], OrderType.STANDARD),
    ],
)
def test_order_type_comes_from_the_custom_field_else_the_tag(
    tags: list[str], custom_fields: list[dict[str, str]], expected: OrderType
) -> None:
    order = mapped(changed(lambda raw: raw.update(tags=tags, customFields=custom_fields)))

    assert order.order_type is expected


def _set_line(index: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda raw: raw["lineItems"][index].update(fields)


def _drop_line_field(index: int, name: str) -> Callable[[dict[str, Any]], None]:
    return lambda raw: raw["lineItems"][index].pop(name)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(lambda raw: raw.pop("lineItems"), "lineItems is missing", id="no-line-items"),
        pytest.param(lambda raw: raw.update(lineItems=[]), "lineItems is empty", id="empty-line-items"),
        pytest.param(lambda raw: raw.update(lineItems={"sku": "A"}), "lineItems must be an array", id="lines-object"),
        pytest.param(lambda raw: raw["lineItems"].append("MUG-11OZ"), "lineItems[2] must be an object", id="line-str"),
        pytest.param(_set_line(0, quantity=0), "lineItems[0]: quantity must be a positive integer", id="quantity-0"),
        pytest.param(_set_line(1, quantity=-1), "lineItems[1]: quantity must be a positive integer", id="negative"),
        pytest.param(_set_line(0, quantity=1.5), "lineItems[0]: quantity must be a positive integer", id="fraction"),
        pytest.param(_set_line(0, quantity="2"), "lineItems[0]: quantity must be a positive integer", id="text"),
        pytest.param(_set_line(0, quantity=True), "lineItems[0]: quantity must be a positive integer", id="boolean"),
        pytest.param(_drop_line_field(1, "quantity"), "lineItems[1]: quantity must be a positive integer, got missing"),
        pytest.param(_drop_line_field(1, "sku"), "lineItems[1]: sku is missing", id="no-sku"),
        pytest.param(_set_line(0, sku="  "), "lineItems[0]: sku is missing", id="blank-sku"),
        pytest.param(_set_line(1, id="li_1"), "two lines share the id 'li_1'", id="duplicate-line-id"),
        pytest.param(_set_line(0, unitPrice="abc"), "lineItems[0].unitPrice must be a number", id="price-text"),
        pytest.param(_set_line(0, totalPrice={"amount": 1}), "lineItems[0].totalPrice must be a number", id="price"),
        pytest.param(lambda raw: raw.update(totalPrice="NaN"), "totalPrice must be a finite number", id="nan-total"),
        pytest.param(lambda raw: raw.pop("externalId"), "externalId is missing", id="no-external-id"),
        pytest.param(lambda raw: raw.update(externalId=None), "externalId is missing", id="null-external-id"),
        pytest.param(lambda raw: raw.update(externalId=" "), "externalId is missing", id="blank-external-id"),
        pytest.param(lambda raw: raw.update(externalId={"id": 1}), "externalId is missing", id="object-external-id"),
        pytest.param(lambda raw: raw.update(shippingAddress="1 Main St"), "shippingAddress must be an object"),
        pytest.param(lambda raw: raw.update(customer=["Ada"]), "customer must be an object", id="customer-array"),
        pytest.param(lambda raw: raw.update(tags={"vip": True}), "tags must be an array", id="tags-object"),
        pytest.param(lambda raw: raw.update(customFields=[{"value": "x"}]), "customFields[0] must be an object"),
        pytest.param(lambda raw: raw.update(tags=["order-type:dropship"]), "unknown order type 'dropship'"),
    ],
)
def test_unmappable_order_raises_mapping_error_naming_the_field(
    change: Callable[[dict[str, Any]], Any], reason: str
) -> None:
    with pytest.raises(MappingError) as error:
        mapped(changed(change))

    assert reason in str(error.value)


@pytest.mark.parametrize("raw", [["SF-1001"], "SF-1001", None], ids=["array", "string", "null"])
def test_order_that_is_not_a_json_object_is_refused(raw: Any) -> None:
    with pytest.raises(MappingError, match="the order must be a JSON object"):
        mapped(raw)


def test_exported_order_validates_against_the_onx_order_schema(order: Order) -> None:
    document = order.to_onx()

    validate(document, "order")
    assert document["externalId"] == "SF-1001"
    assert [(line["id"], line["sku"], line["quantity"]) for line in document["lineItems"]] == [
        ("li_1", "TSHIRT-BLK-M", 2),
        ("li_2", "MUG-11OZ", 1),
    ]
    assert document["lineItems"][0]["unitPrice"] == 19.5
    assert "orderType" not in document and "channelId" not in document


def test_order_with_offset_timestamps_still_exports_valid_onx() -> None:
    order = mapped(
        changed(lambda raw: raw.update(createdAt="2026-11-23T10:30:15+01:00", updatedAt="2026-11-23T09:31:02"))
    )

    assert order.created_at == datetime(2026, 11, 23, 9, 30, 15, tzinfo=UTC)
    validate(order.to_onx(), "order")


# --- fulfillments and inventory out -------------------------------------------------------------


def partial_shipment(**changes: Any) -> Shipment:
    """The WMS shipped one of the two T-shirts; the mug is still to come."""
    fields: dict[str, Any] = {
        "id": "SHP-000001",
        "shipping_request_id": f"{ORDER_ID}/sr1",
        "fulfillment_channel_id": "wms",
        "location_id": "east",
        "line_items": [ShipmentLine(sku="TSHIRT-BLK-M", quantity=1, line_id="li_1")],
        "tracking_numbers": ["1Z999AA10123456784"],
        "shipping_carrier": "UPS",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "shipped_at": datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC),
    }
    return Shipment(**(fields | changes))


def test_fulfillment_body_of_a_partial_shipment_carries_only_the_shipped_lines_with_tracking(order: Order) -> None:
    body = fulfillment_body(order, partial_shipment())

    assert body["lineItems"] == [{"id": "li_1", "sku": "TSHIRT-BLK-M", "quantity": 1}]
    assert body["trackingNumbers"] == ["1Z999AA10123456784"]
    assert body["shippingCarrier"] == "UPS"
    assert body["customFields"] == [
        {"name": "trackingUrl", "value": "https://www.ups.com/track?tracknum=1Z999AA10123456784"}
    ]
    assert (body["orderId"], body["tenantId"], body["id"]) == ("SF-1001", TENANT, "SHP-000001")
    assert (body["status"], body["createdAt"], body["locationId"]) == ("shipped", "2026-11-24T15:04:05Z", "east")
    assert body["shippingCode"] == "UPS_GROUND"
    # Orderloop's own ids stay out of what the storefront sees.
    assert "shippingRequestId" not in body and "fulfillmentChannelId" not in body
    validate(body, "fulfillment")


def test_fulfillment_line_without_an_order_line_key_is_sent_by_sku_alone(order: Order) -> None:
    shipment = partial_shipment(line_items=[ShipmentLine(sku="MUG-11OZ", quantity=1)], tracking_url=None)

    body = fulfillment_body(order, shipment)

    assert body["lineItems"] == [{"sku": "MUG-11OZ", "quantity": 1}]
    assert "customFields" not in body
    validate(body, "fulfillment")


def test_fulfillment_body_states_the_ship_time_in_utc(order: Order) -> None:
    shipped_at = datetime(2026, 11, 24, 17, 4, 5, tzinfo=timezone(timedelta(hours=2)))

    body = fulfillment_body(order, partial_shipment(shipped_at=shipped_at))

    assert body["createdAt"] == "2026-11-24T15:04:05Z"


def test_inventory_body_lists_available_quantities_by_sku() -> None:
    body = inventory_body({"TSHIRT-BLK-M": 12, "MUG-11OZ": 0, "HOODIE-GRY-L": 3})

    assert body == {
        "items": [
            {"sku": "HOODIE-GRY-L", "available": 3},
            {"sku": "MUG-11OZ", "available": 0},
            {"sku": "TSHIRT-BLK-M", "available": 12},
        ]
    }
