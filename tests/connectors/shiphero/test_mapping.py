"""ShipHero payloads <-> the canonical model, from fixtures shaped like ShipHero's documented
examples: the order_create input, a Shipment Update per package, polled shipments per label,
warehouse products and Inventory Update as stock."""

from __future__ import annotations

import pytest

from connectors.base import MappingError
from connectors.shiphero.mapping import (
    ShipHeroSettings,
    order_input,
    shipment_from_webhook,
    shipments_from_polled,
    stock_from_inventory_update,
    stock_rows,
)
from tests.connectors.shiphero.conftest import WAREHOUSES, fixture, shipping_request

SETTINGS = ShipHeroSettings(warehouses=WAREHOUSES, shipping_methods={"express": "2-Day"}, shop_name="Brand")


def test_order_input_names_our_request_as_partner_order_id() -> None:
    request = shipping_request()

    data = order_input(request, SETTINGS)

    assert data["partner_order_id"] == request.id
    assert data["order_number"] == "1001" and data["shop_name"] == "Brand"
    assert data["shipping_lines"] == {"title": "2-Day", "price": "0.00", "method": "2-Day"}
    assert data["shipping_address"]["zip"] == "11201" and data["shipping_address"]["country_code"] == "US"
    assert [(i["sku"], i["quantity"], i["warehouse_id"]) for i in data["line_items"]] == [
        ("TSHIRT-BLK-M", 2, WAREHOUSES["east"]),
        ("MUG-11OZ", 1, WAREHOUSES["east"]),
    ]
    assert {i["partner_line_item_id"] for i in data["line_items"]} == {f"{request.id}/L1", f"{request.id}/L2"}


def test_a_location_without_a_warehouse_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="no ShipHero warehouse"):
        order_input(shipping_request(location="north"), SETTINGS)


def test_two_locations_on_one_warehouse_are_refused() -> None:
    with pytest.raises(ValueError, match="mapped from both"):
        ShipHeroSettings(warehouses={"east": "W1", "west": "W1"})


def test_shipment_update_maps_one_package_with_its_lines() -> None:
    shipment = shipment_from_webhook(fixture("shipment_update.json")["fulfillment"], SETTINGS, "shiphero")

    assert shipment.id == "shiphero-U2hpcG1lbnQ6MzAwMDEyMzQ1-1Z999AA10123456784"
    assert shipment.shipping_request_id == "order/storefront/1001/sr1"
    assert shipment.location_id == "east"
    assert [(ln.sku, ln.quantity) for ln in shipment.line_items] == [("MUG-11OZ", 1)]
    assert shipment.tracking_numbers == ["1Z999AA10123456784"] and shipment.shipping_carrier == "UPS"
    assert shipment.shipped_at is not None and shipment.shipped_at.tzinfo is not None


def test_shipment_update_without_partner_order_id_is_refused() -> None:
    fulfillment = fixture("shipment_update.json")["fulfillment"]
    del fulfillment["partner_order_id"]

    with pytest.raises(MappingError, match="partner_order_id"):
        shipment_from_webhook(fulfillment, SETTINGS, "shiphero")


def test_polled_shipment_gives_one_parcel_per_label_named_as_the_webhook_names_it() -> None:
    node = fixture("shipments_page.json")["data"]["shipments"]["data"]["edges"][0]["node"]

    parcels = shipments_from_polled(node, "order/storefront/1001/sr1", SETTINGS, "shiphero")
    pushed = shipment_from_webhook(fixture("shipment_update.json")["fulfillment"], SETTINGS, "shiphero")

    assert [[(ln.sku, ln.quantity) for ln in p.line_items] for p in parcels] == [
        [("TSHIRT-BLK-M", 2)],
        [("MUG-11OZ", 1)],
    ]
    assert parcels[1].id == pushed.id
    assert {p.location_id for p in parcels} == {"east"}


def test_warehouse_products_become_rows_per_location() -> None:
    products = [
        {"sku": "MUG-11OZ", "warehouse_id": WAREHOUSES["east"], "on_hand": 10, "allocated": 3, "available": 7},
        {"sku": "MUG-11OZ", "warehouse_id": "V2FyZWhvdXNlOjk5OTk=", "on_hand": 4, "allocated": 0, "available": 4},
    ]

    rows = stock_rows(products, SETTINGS)

    assert [(r.location_ref, r.sku, r.on_hand, r.available, r.committed) for r in rows] == [
        ("east", "MUG-11OZ", 10, 7, 3),
        ("shiphero-wh-V2FyZWhvdXNlOjk5OTk=", "MUG-11OZ", 4, 4, 0),
    ]


def test_without_warehouses_stock_is_one_total_per_sku() -> None:
    products = [{"sku": "MUG-11OZ", "on_hand": 10, "available": 7, "allocated": 3}, {"sku": "MUG-11OZ", "on_hand": 1}]

    [row] = stock_rows(products, ShipHeroSettings())

    assert (row.sku, row.on_hand, row.available, row.committed, row.location_ref) == ("MUG-11OZ", 11, 7, 3, None)


def test_inventory_update_sets_the_warehouse_level() -> None:
    [row] = stock_from_inventory_update(fixture("inventory_update.json")["inventory"], SETTINGS)

    assert (row.sku, row.on_hand, row.location_ref) == ("MUG-11OZ", 290, "east")


def test_a_quantity_that_is_not_a_number_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="on_hand must be an integer"):
        stock_rows([{"sku": "MUG-11OZ", "on_hand": "many"}], SETTINGS)
