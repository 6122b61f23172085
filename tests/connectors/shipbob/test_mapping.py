"""ShipBob payloads both ways, from fixtures shaped like ShipBob's documented examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import MappingError, StockRow
from connectors.shipbob import ShipBobConnector
from connectors.shipbob.mapping import (
    ShipBobSettings,
    is_shipped,
    order_body,
    product_quantity,
    settings_of,
    shipment_from_shipbob,
    stock_rows,
)
from orderloop.config import ChannelConfig, ConfigError
from orderloop.model import ShipmentLine
from tests.connectors.shipbob.conftest import fixture, shipping_request

SETTINGS = ShipBobSettings(
    channel_id=341234, fulfillment_centers={"east": 8, "west": 10}, shipping_methods={"express": "2-Day"}
)


def test_shipping_request_becomes_the_documented_order_body() -> None:
    assert order_body(shipping_request(), SETTINGS) == fixture("create_order_request.json")


def test_shipping_method_comes_from_the_code_with_a_configurable_default() -> None:
    custom = SETTINGS.model_copy(update={"default_shipping_method": "Ground"})
    assert order_body(shipping_request(shipping_code=None), custom)["shipping_method"] == "Ground"
    assert order_body(shipping_request(shipping_code=None), SETTINGS)["shipping_method"] == "Standard"
    assert order_body(shipping_request(shipping_code="express"), SETTINGS)["shipping_method"] == "2-Day"
    # An unmapped code goes as it is: ShipBob creates the ship method for the merchant to map.
    assert order_body(shipping_request(shipping_code="overnight"), SETTINGS)["shipping_method"] == "overnight"


def test_location_picks_its_fulfillment_center_and_an_unmapped_one_is_refused() -> None:
    assert order_body(shipping_request(location="west"), SETTINGS)["location_id"] == 10
    with pytest.raises(MappingError, match="location 'north' has no ShipBob fulfillment center"):
        order_body(shipping_request(location="north"), SETTINGS)
    unmapped = ShipBobSettings(channel_id=1)
    assert "location_id" not in order_body(shipping_request(location="north"), unmapped)


def test_product_names_are_sent_only_when_unknown_products_may_be_created() -> None:
    assert all("name" not in p for p in order_body(shipping_request(), SETTINGS)["products"])
    creating = SETTINGS.model_copy(update={"create_unknown_products": True})
    assert [p["name"] for p in order_body(shipping_request(), creating)["products"]] == ["TSHIRT-BLK-M", "MUG-11OZ"]


def test_recipient_name_falls_back_to_the_company() -> None:
    body = order_body(shipping_request(first_name=None, last_name=None, company="Analytical Engines Ltd"), SETTINGS)
    assert body["recipient"]["name"] == "Analytical Engines Ltd"
    assert body["recipient"]["address"]["company_name"] == "Analytical Engines Ltd"


def test_shipped_webhook_body_becomes_a_shipment() -> None:
    shipment = shipment_from_shipbob(fixture("order_shipped.json"), SETTINGS, "shipbob")
    assert shipment.id == "shipbob-200000123"
    assert shipment.shipping_request_id == "order/storefront/1001/sr1"
    assert shipment.fulfillment_channel_id == "shipbob"
    assert shipment.location_id == "east"
    assert shipment.line_items == [
        ShipmentLine(sku="TSHIRT-BLK-M", quantity=2),
        ShipmentLine(sku="MUG-11OZ", quantity=1),
    ]
    assert shipment.tracking_numbers == ["9400111202555842761023"]
    assert shipment.shipping_carrier == "USPS"
    assert shipment.tracking_url == "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111202555842761023"
    assert shipment.shipped_at == datetime(2026, 3, 3, 14, 2, 11, 555123, tzinfo=UTC)


def test_partial_shipment_maps_only_the_labelled_shipment_with_its_own_lines() -> None:
    order = fixture("order_partially_shipped.json")
    shipped = [shipment_from_shipbob(s, SETTINGS, "shipbob") for s in order["shipments"] if is_shipped(s)]
    assert len(shipped) == 1
    assert shipped[0].id == "shipbob-200000123"
    assert shipped[0].line_items == [ShipmentLine(sku="TSHIRT-BLK-M", quantity=1)]
    assert shipped[0].location_id == "east"
    pending = order["shipments"][1]
    assert not is_shipped(pending)


def test_both_tracking_statuses_count_as_shipped() -> None:
    for status in ("LabeledCreated", "LabelCreated", "Completed"):
        assert is_shipped({"status": status})
    for other in ("Processing", "OnHold", "Exception", "Cancelled", None):
        assert not is_shipped({"status": other})


def test_reference_id_can_come_from_the_caller_and_is_otherwise_required() -> None:
    data = fixture("order_shipped.json") | {"reference_id": None}
    assert shipment_from_shipbob(data, SETTINGS, reference_id="order/x/1/sr1").shipping_request_id == "order/x/1/sr1"
    with pytest.raises(MappingError, match="reference_id"):
        shipment_from_shipbob(data, SETTINGS)


def test_unknown_center_leaves_the_location_empty() -> None:
    data = fixture("order_shipped.json") | {"location": {"id": 99, "name": "Twin Lakes (WI)"}}
    assert shipment_from_shipbob(data, SETTINGS).location_id is None


def test_shipment_without_products_or_id_is_refused() -> None:
    with pytest.raises(MappingError, match="products"):
        shipment_from_shipbob(fixture("order_shipped.json") | {"products": []}, SETTINGS)
    with pytest.raises(MappingError, match="id is missing"):
        shipment_from_shipbob(fixture("order_shipped.json") | {"id": None}, SETTINGS)
    with pytest.raises(MappingError, match="JSON object"):
        shipment_from_shipbob(["not", "a", "shipment"], SETTINGS)


def test_freight_shipment_reports_its_pro_number() -> None:
    data = fixture("order_shipped.json")
    data["tracking"] = {"carrier": "XPO", "tracking_number": None, "pro_number": "PRO-778812", "bol": "BOL-1"}
    assert shipment_from_shipbob(data, SETTINGS).tracking_numbers == ["PRO-778812"]


def test_product_quantity_counts_inventory_items() -> None:
    assert product_quantity({"inventory_items": [{"quantity": 3}]}) == 3
    # A bundle of one A and two B, three bundles: its rarest component counts the bundles.
    assert product_quantity({"inventory_items": [{"quantity": 3}, {"quantity": 6}]}) == 3
    assert product_quantity({"quantity": 4, "inventory_items": [{"quantity": 1}]}) == 4
    assert product_quantity({"inventory_items": []}) == 0


def test_inventory_per_center_becomes_rows_of_our_locations() -> None:
    rows = stock_rows(fixture("inventory_levels_by_fulfillment_center.json")["items"], SETTINGS)
    assert rows == [
        StockRow(sku="TSHIRT-BLK-M", on_hand=120, available=118, committed=2, inbound=24, location_ref="east"),
        StockRow(sku="TSHIRT-BLK-M", on_hand=80, available=80, committed=0, inbound=0, location_ref="west"),
        StockRow(sku="MUG-11OZ", on_hand=40, available=39, committed=1, inbound=0, location_ref="east"),
        # A center no location maps to is named, so the ledger reports it instead of guessing.
        StockRow(sku="MUG-11OZ", on_hand=15, available=15, committed=0, inbound=0, location_ref="shipbob-fc-99"),
    ]


def test_inventory_without_a_center_mapping_is_one_total_per_sku() -> None:
    rows = stock_rows(fixture("inventory_levels_by_fulfillment_center.json")["items"], ShipBobSettings(channel_id=1))
    assert rows == [
        StockRow(sku="TSHIRT-BLK-M", on_hand=200, available=198, committed=2, inbound=24),
        StockRow(sku="MUG-11OZ", on_hand=55, available=54, committed=1, inbound=0),
    ]


def test_malformed_inventory_is_refused() -> None:
    with pytest.raises(MappingError, match="sku"):
        stock_rows([{"inventory_id": 1, "locations": []}], SETTINGS)
    with pytest.raises(MappingError, match="on_hand_quantity must be an integer"):
        stock_rows([{"sku": "A", "locations": [{"location_id": 8, "on_hand_quantity": "lots"}]}], SETTINGS)


def test_settings_are_validated_with_the_channel_named(channel: ChannelConfig) -> None:
    assert settings_of(channel).locations.warehouse_of("west") == 10
    for bad, reason in (
        ({"fulfillment_centers": {"east": 8}}, "channel_id"),
        ({"channel_id": 1, "fulfillment_centers": {"east": 8, "west": 8}}, "mapped from both"),
        ({"channel_id": 1, "shiping_methods": {}}, "shiping_methods"),
        ({"channel_id": 1, "api_version": "latest"}, "api_version"),
    ):
        broken = channel.model_copy(update={"settings": bad})
        with pytest.raises(ConfigError, match=reason) as caught:
            ShipBobConnector(broken)
        assert "'shipbob'" in str(caught.value)
