"""The selling instance's mapping, from fixtures shaped like Oracle's documented answers (the
record service's sales order with `expandSubResources=true`, SuiteQL pages): an ERP order to
our `Order` (internal id, lines by `line` with the item's `itemid`, open units, rate, address
subrecord, currency code, created time), the exclusion of the orders Orderloop entered itself,
the poll's query, the settings' statuses, and the item fulfillment body of a shipment."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import MappingError
from connectors.netsuite import queries, sales_orders
from connectors.netsuite.mapping import EXTERNAL_ID_PREFIX, external_id
from orderloop.config import ChannelConfig, ConfigError
from orderloop.model import Order, Shipment, ShipmentLine
from tests.connectors.netsuite.conftest import fixture, selling_channel_fields
from tests.onx.test_conformance import validate

RECEIVED = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def polled_payload(**record_changes: Any) -> dict[str, Any]:
    record = fixture("sales_order_entered_record.json") | record_changes
    [row] = fixture("suiteql_sales_orders.json")["items"]
    names = {int(r["id"]): r["itemid"] for r in fixture("suiteql_item_names.json")["items"]}
    return sales_orders.payload(record, row, names)


def mapped(raw: dict[str, Any]) -> Order:
    return sales_orders.map_order(
        raw, order_id="order/netsuite-sales/9410", tenant_id="t", channel_id="netsuite-sales", received_at=RECEIVED
    )


def test_an_erp_sales_order_maps_to_a_valid_onx_order() -> None:
    order = mapped(polled_payload())

    validate(order.to_onx(), "order")
    assert order.external_id == "9410"  # the internal id, the key of every record URL
    assert order.name == "SO-10452"
    assert order.currency == "USD"  # the currency's ISO code from SuiteQL, not the record's refName
    assert order.created_at == datetime(2026, 12, 3, 16, 42, 11, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 12, 3, 16, 45, 2, tzinfo=UTC)
    # Line 1 has 1 of 3 fulfilled already; line 3 is closed in the ERP.
    assert [(ln.id, ln.sku, ln.quantity, ln.unit_price) for ln in order.line_items] == [
        ("1", "TSHIRT-BLK-M", 2, Decimal("19.5")),
        ("2", "MUG-11OZ", 1, Decimal("12.0")),
    ]
    assert order.line_items[0].name == "Black tee, M"
    address = order.shipping_address
    assert address is not None
    assert (address.first_name, address.last_name, address.address1, address.address2) == (
        "Katherine",
        "Johnson",
        "1 NASA Dr",
        "Building 1209",
    )
    assert (address.city, address.state_or_province, address.zip_code_or_postal_code, address.country) == (
        "Hampton",
        "VA",
        "23666",
        "US",
    )
    assert order.customer is not None and order.customer.email == "katherine@example.com"
    assert order.customer.external_id == "2210"
    assert order.order_note == "Phone order, call before delivery"
    assert order.status == "B"


def test_an_order_orderloop_entered_itself_is_never_mapped() -> None:
    with pytest.raises(MappingError, match="entered by Orderloop"):
        mapped(polled_payload(externalId=external_id("order/shopify/1001/sr1")))
    assert sales_orders.own_order(external_id("order/shopify/1001/sr1"))
    assert not sales_orders.own_order("SHOPIFY-1001") and not sales_orders.own_order(None)


def test_an_order_with_nothing_open_or_an_unnamed_item_is_a_mapping_error() -> None:
    record = fixture("sales_order_entered_record.json")
    closed = [{**line, "isClosed": True} for line in record["item"]["items"]]
    with pytest.raises(MappingError, match="no open item line"):
        mapped(polled_payload(item={"items": closed}))
    raw = polled_payload()
    raw["items"].pop("502")
    with pytest.raises(MappingError, match="item 502 has no itemid"):
        mapped(raw)
    with pytest.raises(MappingError, match="salesOrder"):
        mapped({"id": "9410"})


def test_a_cancelled_or_closed_status_is_a_cancel() -> None:
    assert sales_orders.is_cancelled({"status": "C"}) and sales_orders.is_cancelled({"status": "H"})
    assert not sales_orders.is_cancelled(polled_payload())


def test_the_poll_query_asks_for_the_statuses_and_leaves_our_orders_out() -> None:
    settings = sales_orders.selling_settings_of(
        ChannelConfig(**selling_channel_fields(statuses=["SalesOrd:B", "SalesOrd:D"]))
    )

    query = queries.entered_sales_orders(datetime(2026, 12, 1, tzinfo=UTC), settings.letters(), EXTERNAL_ID_PREFIX)

    assert settings.letters() == {"B", "D", "C", "H"}
    assert "t.type = 'SalesOrd' AND t.status IN ('B', 'C', 'D', 'H')" in query
    assert "(t.externalid IS NULL OR t.externalid NOT LIKE 'OL-%')" in query
    assert "t.lastmodifieddate >= TO_TIMESTAMP('2026-12-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS')" in query
    with pytest.raises(ValueError):
        queries.entered_sales_orders(datetime(2026, 12, 1, tzinfo=UTC), {"B' OR 1=1 --"}, EXTERNAL_ID_PREFIX)


def test_a_status_not_of_a_sales_order_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"settings\.statuses"):
        sales_orders.selling_settings_of(ChannelConfig(**selling_channel_fields(statuses=["Pending Fulfillment"])))
    # The fulfillment role's settings are not needed (nor allowed) on the selling instance.
    with pytest.raises(ConfigError, match=r"settings\.customer"):
        sales_orders.selling_settings_of(ChannelConfig(**selling_channel_fields(customer=1207)))


def shipment(lines: list[tuple[str | None, str, int]], shipment_id: str = "wms-ship-1") -> Shipment:
    return Shipment(
        id=shipment_id,
        shipping_request_id="order/netsuite-sales/9410/sr1",
        line_items=[ShipmentLine(line_id=line_id, sku=sku, quantity=qty) for line_id, sku, qty in lines],
        tracking_numbers=["1ZA1", "1ZA2"],
        shipping_carrier="UPS",
        shipped_at=datetime(2026, 12, 4, 15, 0, tzinfo=UTC),
    )


def test_the_fulfillment_body_names_every_open_line_and_packs_each_tracking_number() -> None:
    order = mapped(polled_payload())
    record = fixture("sales_order_entered_record.json")

    body = sales_orders.fulfillment_body(order, shipment([("1", "TSHIRT-BLK-M", 2)]), record)

    assert body["externalId"] == sales_orders.fulfillment_external_id("wms-ship-1")
    assert body["externalId"].startswith("OLF-") and body["externalId"].replace("-", "").isalnum()
    assert body["item"]["items"] == [
        {"orderLine": 1, "itemReceive": True, "quantity": 2},
        {"orderLine": 2, "itemReceive": False},
    ]
    assert body["package"]["items"] == [
        {"packageTrackingNumber": "1ZA1", "packageDescr": "UPS"},
        {"packageTrackingNumber": "1ZA2", "packageDescr": "UPS"},
    ]
    assert body["shipStatus"] == {"id": "C"} and body["tranDate"] == "2026-12-04"
    # A shipment line without our line id is matched by SKU.
    by_sku = sales_orders.fulfillment_body(order, shipment([(None, "MUG-11OZ", 1)]), record)
    assert [(ln["orderLine"], ln["itemReceive"]) for ln in by_sku["item"]["items"]] == [(1, False), (2, True)]
    assert sales_orders.fulfillment_external_id("a") != sales_orders.fulfillment_external_id("b")


def test_a_shipment_beyond_the_open_units_is_refused_before_netsuite_is_called() -> None:
    order = mapped(polled_payload())
    record = fixture("sales_order_entered_record.json")

    with pytest.raises(MappingError, match="no 3 open units of TSHIRT-BLK-M"):
        sales_orders.fulfillment_body(order, shipment([("1", "TSHIRT-BLK-M", 3)]), record)
    with pytest.raises(MappingError, match="POSTER-A2"):  # line 3 is closed
        sales_orders.fulfillment_body(order, shipment([("3", "POSTER-A2", 1)]), record)
