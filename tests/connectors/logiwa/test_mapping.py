"""Logiwa payloads from fixtures shaped like Logiwa's documented examples: the shipment order we
send, order records and webhook bodies to shipments, inventory rows to stock, and settings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from connectors.base import MappingError
from connectors.logiwa import mapping
from connectors.logiwa.mapping import LogiwaSettings
from orderloop.config import ChannelConfig, ConfigError
from orderloop.model import RequestLine
from tests.connectors.logiwa.conftest import SETTINGS, channel_fields, fixture, shipping_request

SETTINGS_MODEL = LogiwaSettings.model_validate(SETTINGS | {"carriers": {"express": "UPS 2nd Day Air"}})
SCHEMAS = Path(__file__).resolve().parents[2] / "onx" / "schemas"


def test_shipping_request_becomes_a_shipment_order_coded_by_our_request_id() -> None:
    request = shipping_request("1001")

    body = mapping.order_body(request, SETTINGS_MODEL)

    assert body["Code"] == request.id == "order/storefront/1001/sr1"
    assert body["DepositorCode"] == "ACME"
    assert body["WarehouseCode"] == "WH-EAST"
    assert body["OrderDate"] == "03.02.2026 10:15:00"
    assert body["CustomerOrderNo"] == "1001"
    assert body["Carrier"] == "UPS 2nd Day Air"
    assert body["CustomerShippingAddressDescription"] == "Ada Lovelace"
    assert body["CustomerShippingAddressCityDescription"] == "Chicago"
    assert body["Details"] == [
        {"InventoryItemCode": "TSHIRT-BLK-M", "InventoryItemPackType": "Each", "PackQuantity": 2},
        {"InventoryItemCode": "MUG-11OZ", "InventoryItemPackType": "Each", "PackQuantity": 1},
    ]


def test_an_order_over_400_lines_is_refused_not_truncated() -> None:
    request = shipping_request("1001")
    many = [RequestLine(line_id=f"L{i}", sku=f"SKU-{i}", quantity=1) for i in range(401)]
    big = request.model_copy(update={"line_items": many})

    with pytest.raises(MappingError, match="at most 400 lines"):
        mapping.order_body(big, SETTINGS_MODEL)
    assert (
        len(mapping.order_body(request.model_copy(update={"line_items": many[:400]}), SETTINGS_MODEL)["Details"]) == 400
    )


def test_a_location_without_a_warehouse_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="no Logiwa warehouse"):
        mapping.order_body(shipping_request(location="north"), SETTINGS_MODEL)


def test_shipped_order_record_becomes_one_shipment_with_every_tracking_number() -> None:
    [record] = fixture("warehouse_order_search_shipped.json")["Data"]

    shipment = mapping.shipment_from_record(record, SETTINGS_MODEL, "logiwa")

    assert shipment.id == "logiwa-7000123"
    assert shipment.shipping_request_id == "order/storefront/1001/sr1"
    assert shipment.location_id == "east"
    assert [(ln.sku, ln.quantity) for ln in shipment.line_items] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]
    assert shipment.tracking_numbers == ["1Z999AA10123456784", "1Z999AA10123456791"]
    assert shipment.shipping_carrier == "UPS"
    assert shipment.shipped_at == datetime(2026, 3, 3, 16, 42, 10, tzinfo=UTC)
    schema = json.loads((SCHEMAS / "fulfillment.json").read_text())
    jsonschema.Draft7Validator(schema).validate(shipment.to_onx_fulfillment("t1", "order/storefront/1001"))
    assert mapping.is_shipped(record) and mapping.is_picked(record) and not mapping.is_cancelled(record)


def test_webhook_shipment_names_the_same_shipment_as_the_record() -> None:
    [record] = fixture("warehouse_order_search_shipped.json")["Data"]

    hinted = mapping.shipment_from_webhook(fixture("order_shipment_info.json"), SETTINGS_MODEL, "logiwa")

    assert hinted.id == mapping.shipment_from_record(record, SETTINGS_MODEL).id
    assert hinted.shipping_request_id == record["Code"]
    assert [(ln.sku, ln.quantity) for ln in hinted.line_items] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]


def test_a_record_without_shipped_units_cannot_become_a_shipment() -> None:
    [record] = fixture("warehouse_order_search_shipped.json")["Data"]
    unshipped = {**record, "DetailInfo": [{**d, "ShippedCuQuantity": 0} for d in record["DetailInfo"]]}

    with pytest.raises(MappingError, match="no detail has a shipped quantity"):
        mapping.shipment_from_record(unshipped, SETTINGS_MODEL)


def test_inventory_rows_become_stock_per_location_and_an_unmapped_warehouse_keeps_its_code() -> None:
    rows = mapping.stock_rows(fixture("inventory_item_search.json")["Data"], SETTINGS_MODEL)

    assert [(r.location_ref, r.sku, r.on_hand, r.available, r.committed) for r in rows] == [
        ("east", "TSHIRT-BLK-M", 120, 112, 8),
        ("west", "MUG-11OZ", 40, 40, 0),
        ("logiwa-wh-WH-RETURNS", "POSTER-A2", 3, 0, 3),
    ]


def test_channel_rate_must_respect_the_tier() -> None:
    fields = channel_fields()
    assert mapping.settings_of(ChannelConfig(**fields)).pace() == pytest.approx(20.0)
    with pytest.raises(ConfigError, match="at most 1, the standard tier"):
        mapping.settings_of(ChannelConfig(**(fields | {"settings": SETTINGS | {"tier": "standard"}})))
    enterprise = ChannelConfig(**(fields | {"settings": SETTINGS | {"tier": "enterprise"}, "rate_limit_per_second": 8}))
    assert mapping.settings_of(enterprise).pace() == pytest.approx(530 / 60)
    with pytest.raises(ConfigError, match=r"settings\.depositor_code"):
        mapping.settings_of(ChannelConfig(**(fields | {"settings": {"warehouses": {"east": "WH-EAST"}}})))
