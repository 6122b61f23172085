"""NetSuite payloads <-> the canonical model, from fixtures shaped like Oracle's documented
examples: the sales (transfer) order body and its external id, the record's item lines, SuiteQL
fulfilment lines (negative quantities, strings), one shipment per item fulfillment with its
package tracking (valid onX), an over-fulfilment found, stock rows per location, and NetSuite's
error body in our words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import MappingError
from connectors.netsuite import mapping
from connectors.netsuite.client import error_codes, netsuite_reason
from orderloop.config import ChannelConfig, ConfigError
from tests.connectors.netsuite.conftest import CUSTOMER, channel_fields, fixture, shipping_request
from tests.onx.test_conformance import validate


def settings(**overrides: Any) -> mapping.NetSuiteSettings:
    return mapping.settings_of(ChannelConfig(**channel_fields(**overrides)))


def test_external_id_is_in_netsuites_alphabet_and_stable() -> None:
    request_id = "order/storefront/1001/sr1"

    made = mapping.external_id(request_id)

    assert re.fullmatch(r"[A-Za-z0-9_-]+", made)
    assert made == mapping.external_id(request_id)
    assert made.startswith("OL-")
    # Read back by the channel-wide poll: the record names our request.
    assert mapping.request_id_of(made) == request_id
    assert mapping.external_id("order/storefront/10_01/sr1") != mapping.external_id("order/storefront/10/01/sr1")


def test_a_record_we_did_not_enter_names_no_request() -> None:
    assert mapping.request_id_of("SHOPIFY-1001") is None
    assert mapping.request_id_of("OL-not base32!") is None
    assert mapping.request_id_of(None) is None


def test_sales_order_body_references_customer_location_and_items() -> None:
    request = shipping_request("1001", shipping_code="express")

    body = mapping.order_body(request, settings(ship_methods={"express": 17}))

    assert body["externalId"] == mapping.external_id(request.id)
    assert body["entity"] == {"id": str(CUSTOMER)}
    assert body["location"] == {"id": "3"}
    assert body["shipMethod"] == {"id": "17"}
    assert body["otherRefNum"] == "1001"
    assert body["tranDate"] == "2026-03-02"
    assert body["shippingAddress"]["addr1"] == "100 N Racine Ave" and body["shippingAddress"]["country"] == "US"
    assert body["item"]["items"] == [
        {
            "item": {"externalId": "TSHIRT-BLK-M"},
            "quantity": 2,
            "description": "Orderloop line L1",
            "location": {"id": "3"},
        },
        {
            "item": {"externalId": "MUG-11OZ"},
            "quantity": 1,
            "description": "Orderloop line L2",
            "location": {"id": "3"},
        },
    ]


def test_transfer_order_moves_stock_to_the_requests_location() -> None:
    body = mapping.order_body(
        shipping_request("1002", location="west"), settings(record="transferOrder", transfer_from=1)
    )

    assert body["location"] == {"id": "1"} and body["transferLocation"] == {"id": "4"}
    assert "entity" not in body


def test_an_address_without_its_street_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="address1"):
        mapping.order_body(shipping_request("1003", address1=None), settings())


def test_a_transfer_order_channel_needs_its_source_location() -> None:
    with pytest.raises(ConfigError, match="transfer_from"):
        settings(record="transferOrder")


def test_record_item_lines_with_fulfilled_and_closed() -> None:
    lines = mapping.order_lines(fixture("sales_order_record.json"))

    assert [(x.line, x.sku, x.quantity, x.fulfilled, x.remaining) for x in lines] == [
        (1, "TSHIRT-BLK-M", 2, 2, 0),
        (2, "MUG-11OZ", 1, 0, 1),
    ]
    assert mapping.close_lines_body([lines[1]]) == {"item": {"items": [{"line": 2, "isClosed": True}]}}


def test_each_item_fulfillment_is_one_shipment_with_its_packages() -> None:
    request = shipping_request("1001")
    lines = mapping.fulfillment_lines(fixture("suiteql_fulfillment_lines.json")["items"])
    groups = mapping.by_fulfillment(lines)

    record = fixture("item_fulfillment_record.json")
    shipment = mapping.shipment_of(request.id, "east", groups[9001], record, settings(), "netsuite")

    assert list(groups) == [9001, 9002, 9003]
    assert shipment.id == "netsuite-if-9001"
    assert shipment.shipping_request_id == request.id
    assert [(x.sku, x.quantity) for x in shipment.line_items] == [("TSHIRT-BLK-M", 2)]
    assert shipment.tracking_numbers == ["1Z999AA10123456784", "1Z999AA10123456795"]
    assert shipment.shipping_carrier == "UPS Ground"
    assert shipment.location_id == "east"
    assert shipment.shipped_at == datetime(2026, 3, 3, tzinfo=UTC)
    validate(shipment.to_onx_fulfillment("demo-brand", "1001"), "fulfillment")


def test_a_fulfilment_beyond_the_order_is_found_and_the_ones_before_kept() -> None:
    request = shipping_request("1001")  # 2 tees, 1 mug
    lines = mapping.fulfillment_lines(fixture("suiteql_fulfillment_lines.json")["items"])  # 2 tees, 1 mug, 1 mug

    refused, reasons = mapping.overshipped(mapping.ordered_units(request), lines)

    assert refused == {9003}
    assert reasons == ["item fulfillment 9003: MUG-11OZ: 1 fulfilled where 0 remain"]


def test_an_item_the_order_never_had_is_an_overshipment() -> None:
    rows = [{"fulfillment": "9100", "sku": "HOODIE-GRY-L", "quantity": "-1", "location": "3"}]

    ordered = mapping.record_units(mapping.order_lines(fixture("sales_order_record.json")))

    refused, reasons = mapping.overshipped(ordered, mapping.fulfillment_lines(rows))

    assert refused == {9100} and "were never ordered" in reasons[0]


def test_a_fulfillment_row_without_its_item_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="sku"):
        mapping.fulfillment_lines([{"fulfillment": "9001", "quantity": "-1"}])


def test_stock_rows_per_location() -> None:
    rows = mapping.stock_rows(fixture("suiteql_inventory.json")["items"], settings())

    assert [(r.location_ref, r.sku, r.on_hand, r.committed, r.available) for r in rows] == [
        ("east", "MUG-11OZ", 120, 4, 116),
        ("west", "TSHIRT-BLK-M", 35, None, 35),
        ("netsuite-loc-9", "POSTER-A2", 7, 0, 7),
    ]


def test_netsuite_error_body_in_our_words() -> None:
    body = fixture("error_invalid_item.json")

    assert error_codes(body) == {"INVALID_KEY_OR_REF"}
    assert netsuite_reason(body) == (
        "Error while accessing a resource. Invalid 'item' reference key 'NO-SUCH-SKU'. (INVALID_KEY_OR_REF)"
    )
    assert error_codes(fixture("error_concurrency.json")) == {"CONCURRENCY_LIMIT_EXCEEDED"}
