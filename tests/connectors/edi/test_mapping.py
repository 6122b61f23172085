"""850 purchase orders (4010 and 5010 fixtures) map to wholesale orders with their terms, ship
window, parties, carrier and case packs, valid onX orders; an 860 change applies on top; what
cannot be an order is a MappingError with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from connectors.base import MappingError
from connectors.edi.envelopes import read_interchange
from connectors.edi.mapping import map_purchase_order, purchase_order_number
from orderloop.model import Order, OrderType

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMAS = Path(__file__).resolve().parents[2] / "onx" / "schemas"
RECEIVED = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def payloads(name: str) -> list[dict[str, Any]]:
    interchange = read_interchange((FIXTURES / name).read_bytes())
    return [
        {
            "interchange": {
                "sender_qualifier": interchange.sender_qualifier,
                "sender_id": interchange.sender_id,
                "control_number": interchange.control_number,
                "group_control_number": group.control_number,
                "set_control_number": t.control_number,
                "version": group.version,
            },
            "purchase_order": [[s.id, *s.elements] for s in t.body],
        }
        for group in interchange.groups
        for t in group.transactions
    ]


def mapped(raw: dict[str, Any]) -> Order:
    return map_purchase_order(
        raw,
        order_id=f"order/edi-acme/{purchase_order_number(raw)}",
        tenant_id="demo-brand",
        channel_id="edi-acme",
        received_at=RECEIVED,
        ship_complete=True,
        partner_isa_id="ACMERETAIL",
    )


def assert_valid_onx(order: Order) -> None:
    schema = json.loads((SCHEMAS / "order.json").read_text())
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(order.to_onx())


def test_a_4010_purchase_order_maps_to_a_wholesale_order() -> None:
    [raw] = payloads("850_4010.x12")

    order = mapped(raw)

    assert (order.external_id, order.order_type, order.currency) == ("4500012345", OrderType.WHOLESALE, "USD")
    assert order.created_at == datetime(2026, 12, 1, tzinfo=UTC)
    terms = order.wholesale
    assert terms is not None
    assert (terms.customer_po_number, terms.buyer_account) == ("4500012345", "0045")
    assert terms.payment_terms is not None
    assert (terms.payment_terms.net_days, terms.payment_terms.discount_percent, terms.payment_terms.discount_days) == (
        30,
        Decimal("2"),
        10,
    )
    assert terms.payment_terms.code == "2/10 NET30"
    assert (terms.ship_after_date, terms.ship_cancel_by_date) == (
        datetime(2026, 12, 5, tzinfo=UTC),
        datetime(2026, 12, 15, tzinfo=UTC),
    )
    assert terms.mark_for is not None and terms.mark_for.location_identifier == "0231"
    assert terms.mark_for.address is not None and terms.mark_for.address.city == "DAYTON"
    assert (terms.requested_carrier, terms.routing_instructions) == ("UPSN", "ROUTING GUIDE 7")
    assert terms.partner_refs["interchange_control_number"] == "000000905"
    assert terms.partner_refs["isa_sender"] == "ZZ:ACMERETAIL"
    assert order.shipping_address is not None
    assert (order.shipping_address.company, order.shipping_address.zip_code_or_postal_code) == ("ACME DC 12", "43215")
    assert [(line.id, line.sku, line.quantity, line.unit_price, line.case_pack) for line in order.line_items] == [
        ("1", "TSHIRT-BLK-M", 24, Decimal("7.50"), 12),
        ("2", "HOODIE-GRY-L", 12, Decimal("21.00"), 6),
    ]
    assert_valid_onx(order)
    exported = {f["name"]: f["value"] for f in order.to_onx()["customFields"]}
    assert exported["customerPONumber"] == "4500012345" and exported["markforLocationIdentifier"] == "0231"


def test_5010_purchase_orders_map_one_order_per_po() -> None:
    first, second = (mapped(raw) for raw in payloads("850_5010.x12"))

    assert (first.external_id, second.external_id) == ("4500012346", "4500012347")
    assert [(line.id, line.sku, line.case_pack) for line in first.line_items] == [("10", "MUG-11OZ", 6)]
    assert first.wholesale is not None and first.wholesale.payment_terms is not None
    assert first.wholesale.payment_terms.code == "NET45"
    # DTM 010 (requested ship) and 001 (cancel after) when 037/038 are absent
    assert first.wholesale.ship_after_date == datetime(2026, 12, 10, tzinfo=UTC)
    assert first.wholesale.ship_cancel_by_date == datetime(2026, 12, 31, tzinfo=UTC)
    assert first.wholesale.mark_for is None and first.wholesale.buyer_account == "ACMERETAIL"
    assert first.shipping_address is not None and first.shipping_address.address2 == "SUITE 4"
    assert second.line_items[0].case_pack is None
    for order in (first, second):
        assert_valid_onx(order)


def test_an_860_change_applies_quantities_added_lines_and_dates() -> None:
    [raw] = payloads("850_4010.x12")
    change = read_interchange((FIXTURES / "860_change_4010.x12").read_bytes()).groups[0].transactions[0]
    raw["changes"] = [
        {"received_at": "2026-12-02T09:00:00+00:00", "segments": [[s.id, *s.elements] for s in change.body]}
    ]

    order = mapped(raw)

    assert [(line.id, line.sku, line.quantity) for line in order.line_items] == [
        ("1", "TSHIRT-BLK-M", 12),
        ("2", "HOODIE-GRY-L", 12),
        ("3", "MUG-11OZ", 6),
    ]
    assert order.wholesale is not None
    assert order.wholesale.ship_cancel_by_date == datetime(2026, 12, 20, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 12, 2, 9, tzinfo=UTC)


def test_a_fractional_quantity_and_a_line_without_product_are_mapping_errors() -> None:
    [raw] = payloads("850_4010.x12")
    raw["purchase_order"] = [
        ["PO1", "1", "2.5", "EA", "7.50", "", "VN", "TSHIRT-BLK-M"] if s[0] == "PO1" and s[1] == "1" else s
        for s in raw["purchase_order"]
    ]
    with pytest.raises(MappingError, match=r"line 1 quantity '2\.5' is not a whole number"):
        mapped(raw)

    [raw] = payloads("850_4010.x12")
    raw["purchase_order"] = [
        ["PO1", "2", "12", "EA", "21.00"] if s[0] == "PO1" and s[1] == "2" else s for s in raw["purchase_order"]
    ]
    with pytest.raises(MappingError, match="PO1 line 2 names no product"):
        mapped(raw)


def test_a_payload_that_is_not_a_purchase_order_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="not an EDI purchase order payload"):
        mapped({"id": 1})
