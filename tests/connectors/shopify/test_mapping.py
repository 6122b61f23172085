"""Shopify order JSON -> `Order`: what ships, at which quantity, to which address, and which
orders are held with a reason; and a `Shipment` -> the fulfillment order line items it fulfils."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from connectors.base import MappingError
from connectors.shopify.mapping import (
    FinancialStatus,
    FulfillmentRequest,
    inventory_items_by_sku,
    inventory_level_body,
    map_order,
    plan_fulfillments,
    recorded_fulfillments,
)
from orderloop.model import Order, OrderType, Shipment, ShipmentLine
from tests.connectors.shopify.conftest import RECEIVED_AT, TENANT, onx_schema, payload


def mapped(raw: dict[str, Any], **kwargs: Any) -> Order:
    return map_order(
        raw,
        order_id=f"order/shopify/{raw.get('id')}",
        tenant_id=TENANT,
        channel_id="shopify",
        received_at=RECEIVED_AT,
        **kwargs,
    )


def order_with(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(payload("order.json"))
    raw.update(changes)
    return raw


# --- inbound ------------------------------------------------------------------------------------


def test_documented_order_maps_only_its_shipped_lines(order: Order) -> None:
    assert order.external_id == "450789469"
    assert order.name == "#1001"
    assert [(line.id, line.sku, line.quantity) for line in order.line_items] == [
        ("466157049", "TSHIRT-BLK-M", 2),
        ("518995019", "MUG-11OZ", 1),
    ]
    shirt = order.line_items[0]
    assert shirt.unit_price == Decimal("38.00")
    # The 4.00 discount code is allocated across the two shirts.
    assert shirt.unit_discount == Decimal("2.00")
    assert shirt.total_price == Decimal("72.00")
    assert shirt.name == "Classic T-shirt - Black / M"
    assert {f.name: f.value for f in shirt.custom_fields} == {
        "shopifyVariantId": "39072856",
        "shopifyProductId": "632910392",
    }


def test_shipping_address_takes_codes_and_the_order_email(order: Order) -> None:
    address = order.shipping_address
    assert address is not None
    assert address.model_dump(exclude_none=True, by_alias=False) == {
        "first_name": "Bob",
        "last_name": "Norman",
        "address1": "Chestnut Street 92",
        "address2": "Apt 4",
        "city": "Louisville",
        "state_or_province": "KY",
        "zip_code_or_postal_code": "40202",
        "country": "US",
        "phone": "+1(502)-459-2181",
        "email": "bob.norman@mail.example.com",
    }
    assert address.missing_fields() == []
    # An empty address2 in Shopify's JSON is no address2.
    assert order.billing_address is not None and order.billing_address.address2 is None


def test_order_fields_tags_customer_and_totals(order: Order) -> None:
    assert order.tags == ["vip", "repeat-customer"]
    assert order.payment_status == "paid"
    assert order.status == "open"
    assert order.currency == "USD"
    assert order.order_note == "Please leave at the back door"
    assert (order.shipping_code, order.shipping_class, order.shipping_carrier) == (
        "Standard",
        "Standard Shipping",
        None,
    )
    assert order.shipping_price == Decimal("8.40")
    assert (order.sub_total_price, order.order_tax, order.order_discount, order.total_price) == (
        Decimal("133.00"),
        Decimal("6.84"),
        Decimal("4.00"),
        Decimal("148.24"),
    )
    assert order.customer is not None
    assert (order.customer.external_id, order.customer.email, order.customer.tags) == (
        "207119551",
        "bob.norman@mail.example.com",
        ["Léon", "Noël"],
    )
    assert [(f.name, f.value) for f in order.custom_fields] == [("gift_wrap", "yes")]
    # Shopify's shop-local time (-05:00) becomes UTC, as onX wants it.
    assert order.created_at == datetime(2026, 11, 23, 14, 30, 15, tzinfo=UTC)
    assert order.order_type is OrderType.STANDARD


def test_mapped_order_exports_valid_onx_and_round_trips(order: Order) -> None:
    document = order.to_onx()
    jsonschema.Draft7Validator(onx_schema("order"), format_checker=jsonschema.FormatChecker()).validate(document)
    assert document["lineItems"][0]["sku"] == "TSHIRT-BLK-M"
    assert document["shippingAddress"]["stateOrProvince"] == "KY"
    assert Order.model_validate(order.model_dump()) == order
    assert Order.model_validate_json(order.model_dump_json(by_alias=True)) == order


def test_edited_order_ships_current_quantities() -> None:
    order = mapped(payload("order_edited.json"))
    # The shirt went from 2 to 1, the mug was removed, a poster was added.
    assert [(line.id, line.sku, line.quantity) for line in order.line_items] == [
        ("466157049", "TSHIRT-BLK-M", 1),
        ("1071823187", "POSTER-A2", 1),
    ]
    assert order.total_price == Decimal("109.82")
    assert order.sub_total_price == Decimal("98.00")


def test_quantity_without_current_quantity_falls_back_to_quantity() -> None:
    raw = order_with()
    for line in raw["line_items"]:
        del line["current_quantity"]
    assert [line.quantity for line in mapped(raw).line_items] == [2, 1]


@pytest.mark.parametrize("status", ["pending", "partially_paid", "refunded", "voided", "expired"])
def test_unpaid_order_is_refused_with_the_reason(status: str) -> None:
    with pytest.raises(MappingError) as caught:
        mapped(order_with(financial_status=status))
    message = str(caught.value)
    assert f"financial_status is {status!r}" in message
    assert "not paid" in message and "orders/updated" in message


@pytest.mark.parametrize("status", ["authorized", "paid", "partially_refunded"])
def test_paid_or_authorized_orders_ship(status: str) -> None:
    assert mapped(order_with(financial_status=status)).payment_status == status


def test_a_cash_on_delivery_shop_ships_pending_orders() -> None:
    allowed = {FinancialStatus.PENDING, FinancialStatus.PAID}
    assert mapped(order_with(financial_status="pending"), shippable_statuses=allowed).payment_status == "pending"


def test_unknown_financial_status_is_refused() -> None:
    with pytest.raises(MappingError, match="financial_status is 'mystery', not a Shopify payment status"):
        mapped(order_with(financial_status="mystery"))


def test_order_without_shippable_lines_is_refused_naming_each_line() -> None:
    raw = order_with()
    raw["line_items"][0]["current_quantity"] = 0
    raw["line_items"][1]["current_quantity"] = 0
    with pytest.raises(MappingError) as caught:
        mapped(raw)
    message = str(caught.value)
    assert message.startswith("no line item needs shipping")
    assert "line 466157049 (Classic T-shirt - Black / M) was removed (current_quantity 0)" in message
    assert "line 703073504 (Gift card - $25) is a gift card" in message
    assert "line 703073505 (Size guide (PDF)) does not require shipping" in message


def test_shipped_line_without_sku_is_refused() -> None:
    raw = order_with()
    raw["line_items"][1]["sku"] = ""
    with pytest.raises(MappingError, match=r"line 518995019 \(Logo mug - 11 oz\) has no SKU"):
        mapped(raw)


@pytest.mark.parametrize("value", [None, "", "abc", True, -4])
def test_order_without_a_shopify_id_is_refused(value: Any) -> None:
    with pytest.raises(MappingError, match="id is missing"):
        mapped(order_with(id=value))


def test_order_without_shipping_address_still_maps() -> None:
    order = mapped(order_with(shipping_address=None))
    assert order.shipping_address is None


def test_order_type_tag_and_cancelled_status() -> None:
    order = mapped(order_with(tags="vip, order-type:pre-order", cancelled_at="2026-11-23T10:00:00-05:00"))
    assert order.order_type is OrderType.PRE_ORDER
    assert order.status == "cancelled"


def test_carrier_calculated_rate_names_its_carrier() -> None:
    raw = order_with()
    raw["shipping_lines"][0].update(code="FEDEX_2_DAY", source="fedex", carrier_identifier="4f4e2d8f")
    order = mapped(raw)
    assert (order.shipping_code, order.shipping_carrier) == ("FEDEX_2_DAY", "fedex")


# --- outbound -----------------------------------------------------------------------------------


def shipment(*lines: tuple[str, int, str | None], number: str | None = "1Z999AA10123456784") -> Shipment:
    return Shipment(
        id="SHP-000001",
        shipping_request_id="order/shopify/450789469/sr1",
        line_items=[ShipmentLine(sku=sku, quantity=qty, line_id=line_id) for sku, qty, line_id in lines],
        tracking_numbers=[number] if number else [],
        shipping_carrier="UPS",
        tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
    )


def fulfillment_orders() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = payload("fulfillment_orders.json")["fulfillment_orders"]
    return data


def test_partial_shipment_takes_only_the_shipped_units(order: Order) -> None:
    plans = plan_fulfillments(order, shipment(("TSHIRT-BLK-M", 1, "466157049")), fulfillment_orders())
    assert len(plans) == 1
    assert plans[0].location_id == 24826418
    assert plans[0].body(shipment(("TSHIRT-BLK-M", 1, "466157049")), notify_customer=True) == {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {
                    "fulfillment_order_id": 1046000823,
                    "fulfillment_order_line_items": [{"id": 1058737564, "quantity": 1}],
                }
            ],
            "notify_customer": True,
            "tracking_info": {
                "company": "UPS",
                "number": "1Z999AA10123456784",
                "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            },
        }
    }


def test_shipment_line_without_line_id_is_matched_by_sku(order: Order) -> None:
    plans = plan_fulfillments(order, shipment(("MUG-11OZ", 1, None), ("TSHIRT-BLK-M", 2, None)), fulfillment_orders())
    assert plans[0].items == {1046000823: {1058737564: 2, 1058737565: 1}}


def test_shipment_beyond_what_remains_is_refused(order: Order) -> None:
    with pytest.raises(MappingError, match=r"TSHIRT-BLK-M x3 \(line item 466157049\): Shopify has 2 unit\(s\) left"):
        plan_fulfillments(order, shipment(("TSHIRT-BLK-M", 3, "466157049")), fulfillment_orders())


def test_closed_fulfillment_order_is_named_in_the_refusal(order: Order) -> None:
    fos = fulfillment_orders()
    fos[0]["status"] = "on_hold"
    with pytest.raises(MappingError, match="fulfillment order 1046000823 is on_hold"):
        plan_fulfillments(order, shipment(("MUG-11OZ", 1, "518995019")), fos)


def test_units_an_earlier_attempt_recorded_are_not_planned_again(order: Order) -> None:
    sent = shipment(("TSHIRT-BLK-M", 2, "466157049"), ("MUG-11OZ", 1, "518995019"))
    earlier = {
        "id": 1069019863,
        "status": "success",
        "tracking_number": "1Z999AA10123456784",
        "tracking_numbers": ["1Z999AA10123456784"],
        "line_items": [{"id": 466157049, "quantity": 2, "sku": "TSHIRT-BLK-M"}],
    }
    other = {"id": 1, "status": "success", "tracking_numbers": ["OTHER"], "line_items": [{"id": 518995019}]}
    cancelled = {**earlier, "id": 2, "status": "cancelled"}
    recorded = recorded_fulfillments([earlier, other, cancelled], sent)
    assert [f["id"] for f in recorded] == [1069019863]
    fos = fulfillment_orders()
    fos[0]["line_items"][0]["fulfillable_quantity"] = 0
    plans = plan_fulfillments(order, sent, fos, recorded)
    assert [p.items for p in plans] == [{1046000823: {1058737565: 1}}]
    # Everything recorded: nothing left to create.
    assert plan_fulfillments(order, shipment(("TSHIRT-BLK-M", 2, "466157049")), fos, recorded) == []


def test_untracked_shipment_is_never_taken_for_a_recorded_one() -> None:
    untracked = shipment(("MUG-11OZ", 1, "518995019"), number=None)
    earlier = {"id": 3, "status": "success", "tracking_numbers": [], "line_items": [{"id": 518995019, "quantity": 1}]}
    assert recorded_fulfillments([earlier], untracked) == []
    request = FulfillmentRequest(location_id=24826418)
    request.add(1046000823, 1058737565, 1)
    bare = untracked.model_copy(update={"shipping_carrier": None, "tracking_url": None})
    assert request.body(bare, notify_customer=False) == {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {
                    "fulfillment_order_id": 1046000823,
                    "fulfillment_order_line_items": [{"id": 1058737565, "quantity": 1}],
                }
            ],
            "notify_customer": False,
        }
    }


def test_inventory_items_by_sku_and_level_body() -> None:
    variants = [
        {"id": 1, "sku": "MUG-11OZ", "inventory_item_id": 11},
        {"id": 2, "sku": "MUG-11OZ", "inventory_item_id": 12},
        {"id": 3, "sku": "", "inventory_item_id": 13},
        {"id": 4, "sku": "POSTER-A2", "inventory_item_id": None},
    ]
    assert inventory_items_by_sku(variants) == {"MUG-11OZ": [11, 12]}
    assert inventory_level_body(655441491, 11, 7) == {"location_id": 655441491, "inventory_item_id": 11, "available": 7}
    assert inventory_level_body(655441491, 11, -3)["available"] == 0
