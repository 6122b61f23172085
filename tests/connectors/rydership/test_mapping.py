"""RyderShip mapping from fixtures shaped like Whiplash's documented objects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import MappingError
from connectors.rydership import mapping
from orderloop.config import ChannelConfig, ConfigError
from tests.connectors.rydership.conftest import fixture, shipping_request


def test_order_body_carries_our_request_id_twice_and_the_flat_address(channel: ChannelConfig) -> None:
    settings = mapping.settings_of(channel)
    request = shipping_request()
    body = mapping.order_body(request, settings)
    assert body["order_orig"] == request.id
    assert body["originator_attributes"] == {"original_id": request.id, "group_id": request.order_id}
    assert body["warehouse_id"] == 11
    assert body["shipping_name"] == "Ada Lovelace"
    assert (body["shipping_zip"], body["shipping_country_iso2"]) == ("60607", "US")
    assert body["shop_shipping_method_text"] == "UPS 2nd Day Air"
    assert body["order_items_attributes"] == [
        {"sku": "TSHIRT-BLK-M", "quantity": 2, "originator_id": "L1"},
        {"sku": "MUG-11OZ", "quantity": 1, "originator_id": "L2"},
    ]


def test_an_unmapped_location_or_a_missing_address_is_a_mapping_error(channel: ChannelConfig) -> None:
    settings = mapping.settings_of(channel)
    with pytest.raises(MappingError, match="no RyderShip warehouse"):
        mapping.order_body(shipping_request(location="north"), settings)
    with pytest.raises(MappingError, match="address1"):
        mapping.order_body(shipping_request(address1=""), settings)


def test_a_shipped_order_is_one_shipment_with_its_tracking(channel: ChannelConfig) -> None:
    shipment = mapping.shipment_from_order(fixture("order_shipped.json"), mapping.settings_of(channel), "rydership")
    assert shipment.id == "rydership-4100123"
    assert shipment.shipping_request_id == "order/storefront/1001/sr1"
    assert shipment.location_id == "east"
    assert shipment.tracking_numbers == ["9400111899223197428490"]
    assert shipment.shipping_carrier == "USPS Priority Mail"
    assert shipment.tracking_url and shipment.tracking_url.startswith("https://tools.usps.com/")
    assert shipment.shipped_at == datetime(2026, 3, 3, 15, 4, 5, tzinfo=UTC)
    assert [(ln.sku, ln.quantity, ln.line_id) for ln in shipment.line_items] == [
        ("TSHIRT-BLK-M", 2, "L1"),
        ("MUG-11OZ", 1, "L2"),
    ]
    assert shipment.to_onx()


def test_an_order_without_our_id_or_items_cannot_be_mapped(channel: ChannelConfig) -> None:
    settings = mapping.settings_of(channel)
    order = fixture("order_shipped.json")
    with pytest.raises(MappingError, match="order_orig"):
        mapping.shipment_from_order({**order, "order_orig": None, "originator": None}, settings, "rydership")
    with pytest.raises(MappingError, match="no order items"):
        mapping.shipment_from_order({**order, "order_items": []}, settings, "rydership")


def test_statuses_decide_shipped_picked_cancelled() -> None:
    assert mapping.is_shipped({"status": 300}) and mapping.is_picked({"status": 300})
    assert mapping.is_picked({"status": 150}) and not mapping.is_shipped({"status": 150})
    assert mapping.is_cancelled({"status": 35}) and not mapping.is_picked({"status": 100})


def test_warehouse_quantities_become_rows_per_location(channel: ChannelConfig) -> None:
    rows = mapping.stock_rows(
        [
            ("MUG-11OZ", {"warehouse_id": 11, "quantity": 40, "available": 37}),
            ("MUG-11OZ", {"warehouse_id": 99, "quantity": 5}),
        ],
        mapping.settings_of(channel),
    )
    assert [(r.location_ref, r.on_hand, r.available, r.committed) for r in rows] == [
        ("east", 40, 37, 3),
        ("rydership-wh-99", 5, None, None),
    ]
    with pytest.raises(MappingError, match="quantity"):
        mapping.stock_rows([("MUG-11OZ", {"warehouse_id": 11, "quantity": "lots"})], mapping.settings_of(channel))


def test_settings_without_warehouses_are_a_config_error(channel: ChannelConfig) -> None:
    with pytest.raises(ConfigError, match=r"settings\.warehouses"):
        mapping.settings_of(channel.model_copy(update={"settings": {"warehouses": {}}}))
