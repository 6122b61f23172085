"""TikTok order JSON -> `Order`: single-unit line items grouped per SKU, cancelled items left out,
the address from `district_info`, `rts_sla_time` as the ship-by date, and the orders refused
with a reason; a `Shipment` -> the line item ids of its package; inventory bodies."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import MappingError
from connectors.tiktok.mapping import (
    LINE_ITEM_IDS_FIELD,
    CatalogSku,
    inventory_bodies,
    live_skus,
    map_order,
    package_lines,
    recorded_package,
)
from orderloop.model import Order, Shipment, ShipmentLine
from tests.connectors.contract.test_selling import onx_validator
from tests.connectors.tiktok.conftest import RECEIVED_AT, TENANT, payload


def mapped(raw: dict[str, Any]) -> Order:
    return map_order(
        raw, order_id=f"order/tiktok/{raw.get('id')}", tenant_id=TENANT, channel_id="tiktok", received_at=RECEIVED_AT
    )


def order_with(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(payload("order.json"))
    raw.update(changes)
    return raw


def shipment(order: Order, *lines: tuple[str, int], tracking: str = "1Z999AA10123456784") -> Shipment:
    by_sku = {line.sku: line for line in order.line_items}
    return Shipment(
        id="shp-1",
        shipping_request_id=f"{order.id}/sr1",
        line_items=[ShipmentLine(sku=sku, quantity=q, line_id=by_sku[sku].id) for sku, q in lines],
        tracking_numbers=[tracking],
        shipping_carrier="UPS",
    )


def test_documented_order_groups_single_unit_line_items_per_sku_and_drops_cancelled_ones() -> None:
    order = mapped(payload("order.json"))

    assert [(line.id, line.sku, line.quantity) for line in order.line_items] == [
        ("1729386000000000001", "TSHIRT-BLK-M", 2),
        ("1729386000000000003", "MUG-11OZ", 1),
    ]
    tee = order.line_items[0]
    assert tee.unit_price == Decimal("19.00") and tee.total_price == Decimal("38.00")
    assert [(f.name, f.value) for f in tee.custom_fields] == [
        (LINE_ITEM_IDS_FIELD, "577086512123755123,577086512123755124")
    ]


def test_documented_order_maps_times_totals_address_and_ship_by_date() -> None:
    order = mapped(payload("order.json"))

    assert order.external_id == "576461413038785752"
    assert order.created_at == datetime(2025, 11, 26, 10, 20, tzinfo=UTC)
    assert order.updated_at == datetime(2025, 11, 26, 11, 20, tzinfo=UTC)
    assert order.ship_by_date == datetime(2025, 11, 28, 10, 20, tzinfo=UTC)
    assert (order.currency, order.total_price, order.shipping_price, order.order_tax) == (
        "USD",
        Decimal("60.43"),
        Decimal("5.99"),
        Decimal("4.44"),
    )
    address = order.shipping_address
    assert address is not None
    assert (address.first_name, address.last_name) == ("Ada", "Lovelace")
    assert (address.address1, address.address2) == ("350 5th Ave", "Floor 20")
    assert (address.city, address.state_or_province, address.zip_code_or_postal_code, address.country) == (
        "New York",
        "New York",
        "10118",
        "US",
    )
    assert order.order_note == "Please leave it at the door"
    assert order.shipping_code == "7091146663229654785"


def test_mapped_order_validates_against_the_onx_order_schema() -> None:
    onx_validator("order").validate(mapped(payload("order.json")).to_onx())


def test_a_line_item_carrying_a_quantity_counts_that_many_units() -> None:
    raw = order_with()
    raw["line_items"] = raw["line_items"][2:3]
    raw["line_items"][0]["quantity"] = 3

    [line] = mapped(raw).line_items

    assert (line.sku, line.quantity) == ("MUG-11OZ", 3)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "ON_HOLD"}, "ON_HOLD"),
        ({"status": "UNPAID"}, "UNPAID"),
        ({"status": "SHIPPED_SOMEHOW"}, "not a TikTok order status"),
        ({"fulfillment_type": "FULFILLMENT_BY_TIKTOK"}, "fulfilled by TikTok"),
        ({"shipping_type": "TIKTOK"}, "TikTok label"),
        ({"id": None}, "not a TikTok order id"),
    ],
)
def test_orders_a_seller_cannot_ship_now_are_refused_with_the_reason(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        mapped(order_with(**changes))


def test_an_order_whose_every_line_item_is_cancelled_is_refused() -> None:
    raw = order_with()
    for item in raw["line_items"]:
        item["display_status"] = "CANCELLED"

    with pytest.raises(MappingError, match="every line item is cancelled"):
        mapped(raw)


def test_a_line_item_without_seller_sku_is_refused_naming_it() -> None:
    raw = order_with()
    raw["line_items"][2]["seller_sku"] = ""

    with pytest.raises(MappingError, match=r"line_items\[2\].*no seller_sku"):
        mapped(raw)


def test_a_shipment_maps_to_that_many_line_items_of_each_sku_not_yet_in_a_package() -> None:
    raw = order_with()
    order = mapped(raw)
    raw["line_items"][0].update(package_id="1152321127000000001", tracking_number="1ZEARLIER")

    ids = package_lines(raw, shipment(order, ("TSHIRT-BLK-M", 1), ("MUG-11OZ", 1)), order)

    assert ids == ["577086512123755124", "577086512123755125"]


def test_a_shipment_of_more_units_than_tiktok_has_left_is_refused() -> None:
    raw = order_with()
    order = mapped(raw)
    raw["line_items"][0].update(package_id="1152321127000000001", tracking_number="1ZEARLIER")

    with pytest.raises(MappingError, match="2 x TSHIRT-BLK-M shipped but TikTok has 1"):
        package_lines(raw, shipment(order, ("TSHIRT-BLK-M", 2)), order)


def test_a_package_with_the_shipments_tracking_number_is_found_as_recorded() -> None:
    raw = order_with()
    raw["line_items"][1].update(package_id="1152321127000000009", tracking_number="1ZSAME")

    assert recorded_package(raw, "1ZSAME") == "1152321127000000009"
    assert recorded_package(raw, "1ZOTHER") is None


def test_inventory_bodies_group_skus_per_product_and_clamp_to_tiktoks_range() -> None:
    products = [
        {"id": "P1", "status": "ACTIVATE", "skus": [{"id": "S1", "seller_sku": "A"}, {"id": "S2", "seller_sku": "B"}]},
        {"id": "P2", "status": "SELLER_DEACTIVATED", "skus": [{"id": "S3", "seller_sku": "C"}]},
    ]
    catalog = live_skus(products)

    bodies = inventory_bodies({"A": 120_000, "B": -3, "C": 5}, catalog, "W1")

    assert catalog == {"A": [CatalogSku("P1", "S1", "A")], "B": [CatalogSku("P1", "S2", "B")]}
    assert bodies == {
        "P1": {
            "skus": [
                {"id": "S1", "inventory": [{"warehouse_id": "W1", "quantity": 99_999}]},
                {"id": "S2", "inventory": [{"warehouse_id": "W1", "quantity": 0}]},
            ]
        }
    }
